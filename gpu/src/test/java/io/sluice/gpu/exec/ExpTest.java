package io.sluice.gpu.exec;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.SplittableRandom;
import jdk.incubator.vector.FloatVector;
import org.junit.jupiter.api.Test;

/** The engine's exp: vector and scalar give the same bits, and both are close to Math.exp. */
class ExpTest {

    @Test
    void vectorAndScalarAgreeBitForBitAndAreAccurate() {
        int lanes = PackedMatrix.L;
        SplittableRandom random = new SplittableRandom(1);
        float[] x = new float[lanes];
        float[] v = new float[lanes];
        double worst = 0;
        for (int round = 0; round < 20_000; round++) {
            for (int i = 0; i < lanes; i++) {
                x[i] = (float) (random.nextDouble() * 175 - 87);
            }
            x[0] = round % 2 == 0 ? 0f : -x[0] / 1000; // the region softmax lives in
            Exp.exp(FloatVector.fromArray(PackedMatrix.SPECIES, x, 0)).intoArray(v, 0);
            for (int i = 0; i < lanes; i++) {
                float s = Exp.exp(x[i]);
                assertThat(Float.floatToIntBits(v[i])).as("exp(%s) vector %s vs scalar %s", x[i], v[i], s)
                        .isEqualTo(Float.floatToIntBits(s));
                double exact = Math.exp(x[i]);
                worst = Math.max(worst, Math.abs(s - exact) / exact);
            }
        }
        assertThat(worst).as("worst relative error").isLessThan(3e-7);
        assertThat(Exp.exp(0f)).isEqualTo(1f);
        assertThat(Exp.exp(-1000f)).isGreaterThanOrEqualTo(0f).isLessThan(1e-37f);
        assertThat(Exp.exp(1000f)).isFinite();
    }
}
