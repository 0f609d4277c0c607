package io.sluice.gpu.exec;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

/** The engine's exp: vector and scalar give the same bits, and both are close to Math.exp. */
class ExpTest {

    @Test
    void vectorAndScalarAgreeBitForBitAndAreAccurate() {
        int n = 3 * PackedMatrix.L + 5; // whole vectors and a scalar tail
        SplittableRandom random = new SplittableRandom(1);
        float[] x = new float[n];
        float[] v = new float[n];
        float[] neg = new float[n];
        double worst = 0;
        for (int round = 0; round < 5_000; round++) {
            for (int i = 0; i < n; i++) {
                x[i] = (float) (random.nextDouble() * 175 - 87);
            }
            x[0] = round % 2 == 0 ? 0f : -x[0] / 1000; // the region softmax lives in
            float shift = round % 3 == 0 ? 0f : (float) random.nextDouble();
            Exp.expShifted(x, 0, shift, v, 0, n);
            Exp.expNegated(x, 0, neg, 0, n);
            for (int i = 0; i < n; i++) {
                float s = Exp.exp(x[i] - shift);
                assertThat(Float.floatToIntBits(v[i])).as("exp(%s - %s) at %d: %s vs scalar %s", x[i], shift, i, v[i], s)
                        .isEqualTo(Float.floatToIntBits(s));
                assertThat(Float.floatToIntBits(neg[i])).as("exp(-%s) at %d", x[i], i)
                        .isEqualTo(Float.floatToIntBits(Exp.exp(-x[i])));
                if (x[i] - shift >= -87f) { // below, the input is clamped
                    double exact = Math.exp(x[i] - shift);
                    worst = Math.max(worst, Math.abs(s - exact) / exact);
                }
            }
        }
        float[] inPlace = x.clone();
        Exp.expShifted(inPlace, 0, 0f, inPlace, 0, n);
        for (int i = 0; i < n; i++) {
            assertThat(inPlace[i]).as("in place at %d", i).isEqualTo(Exp.exp(x[i]));
        }
        assertThat(worst).as("worst relative error").isLessThan(3e-7);
        assertThat(Exp.exp(0f)).isEqualTo(1f);
        assertThat(Exp.exp(-1000f)).isGreaterThanOrEqualTo(0f).isLessThan(1e-37f);
        assertThat(Exp.exp(1000f)).isFinite();
    }
}
