package io.sluice.gpu.sampling;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.HashSet;
import java.util.Set;
import org.junit.jupiter.api.Test;

/** Samplers and the (seed, position) randomness. */
class SamplerTest {

    @Test
    void greedyTakesTheFirstMaximum() {
        float[] logits = {0.1f, 3f, -2f, 3f};
        assertThat(Sampler.greedy().sample(logits, 0, 4, 0.99)).isEqualTo(1);
        assertThat(new SamplingParams(0f, 0.9f, 5).sampler().sample(logits.clone(), 0, 4, 0.5)).isEqualTo(1);
    }

    @Test
    void argmaxOfLongRowsIsTheFirstMaximumLikeTheScalarLoop() {
        java.util.SplittableRandom r = new java.util.SplittableRandom(5);
        for (int round = 0; round < 300; round++) {
            int size = 1 + r.nextInt(200);
            int offset = r.nextInt(5);
            float[] x = new float[offset + size + 3];
            for (int i = 0; i < x.length; i++) {
                x[i] = r.nextInt(8) - 4; // few distinct values: many ties
            }
            if (round % 7 == 0) {
                x[offset + r.nextInt(size)] = -0.0f;
            }
            int expected = 0;
            for (int i = 1; i < size; i++) {
                if (x[offset + i] > x[offset + expected]) {
                    expected = i;
                }
            }
            assertThat(Sampler.argmax(x, offset, size)).as("round %d, size %d", round, size).isEqualTo(expected);
        }
        float[] nan = new float[100];
        nan[0] = Float.NaN;
        nan[50] = 1f;
        assertThat(Sampler.argmax(nan, 0, 100)).as("a NaN first, as the scalar loop: nothing exceeds it").isEqualTo(0);
        float[] zeros = new float[64];
        zeros[3] = -0.0f;
        assertThat(Sampler.argmax(zeros, 0, 64)).isEqualTo(0);
    }

    @Test
    void categoricalFollowsTheCoinThroughTheCdf() {
        // softmax of ln(p) is p: probabilities 0.5, 0.25, 0.25
        float[] base = {(float) Math.log(0.5), (float) Math.log(0.25), (float) Math.log(0.25)};
        assertThat(Sampler.categorical().sample(base.clone(), 0, 3, 0.49)).isEqualTo(0);
        assertThat(Sampler.categorical().sample(base.clone(), 0, 3, 0.51)).isEqualTo(1);
        assertThat(Sampler.categorical().sample(base.clone(), 0, 3, 0.76)).isEqualTo(2);
    }

    @Test
    void topPSamplesOnlyInsideTheNucleus() {
        float[] base = {(float) Math.log(0.05), (float) Math.log(0.6), (float) Math.log(0.3), (float) Math.log(0.05)};
        Sampler s = Sampler.topP(0.8f);
        Set<Integer> seen = new HashSet<>();
        for (int i = 0; i < 200; i++) {
            seen.add(s.sample(base.clone(), 0, 4, i / 200.0));
        }
        assertThat(seen).containsExactlyInAnyOrder(1, 2);
    }

    @Test
    void temperatureSharpensTheDistribution() {
        float[] base = {1f, 2f};
        // At a low temperature almost all mass is on token 1: even a small coin picks it.
        assertThat(Sampler.temperature(0.05f, Sampler.categorical()).sample(base.clone(), 0, 2, 0.01)).isEqualTo(1);
        assertThat(Sampler.temperature(10f, Sampler.categorical()).sample(base.clone(), 0, 2, 0.01)).isEqualTo(0);
    }

    @Test
    void samplingWorksOnARowOfALargerArray() {
        float[] logits = {9f, 9f, 0f, 5f, 1f, 9f};
        assertThat(Sampler.greedy().sample(logits, 2, 3, 0.3)).isEqualTo(1);
    }

    @Test
    void randomnessIsAFunctionOfSeedAndPosition() {
        assertThat(Coins.coin(42, 7)).isEqualTo(Coins.coin(42, 7));
        assertThat(Coins.coin(42, 7)).isNotEqualTo(Coins.coin(42, 8)).isNotEqualTo(Coins.coin(43, 7));
        for (int p = 0; p < 1000; p++) {
            assertThat(Coins.coin(p * 31L, p)).isGreaterThanOrEqualTo(0).isLessThan(1);
        }
        SamplingParams params = new SamplingParams(1.0f, 0.9f, 99);
        float[] logits = new float[50];
        for (int i = 0; i < 50; i++) {
            logits[i] = (float) Math.sin(i);
        }
        int first = params.sample(params.sampler(), logits.clone(), 0, 50, 12);
        for (int i = 0; i < 5; i++) {
            assertThat(params.sample(params.sampler(), logits.clone(), 0, 50, 12)).isEqualTo(first);
        }
    }

    @Test
    void invalidParametersAreRejected() {
        assertThatThrownBy(() -> new SamplingParams(-1f, 1f, 0)).hasMessageContaining("temperature");
        assertThatThrownBy(() -> new SamplingParams(1f, 0f, 0)).hasMessageContaining("top-p");
        assertThatThrownBy(() -> Sampler.topP(1.5f)).hasMessageContaining("top-p");
    }

    @Test
    void aTemperatureSoSmallThatTheScaledLogitsOverflowStillPicksTheMostLikelyToken() {
        // 3 / 1e-38 and 5 / 1e-38 are both +inf in float: softmax then turned every probability into NaN, and
        // the samplers answered the last token (categorical) or token 0 (top-p) instead of the argmax.
        float tiny = 1e-38f;
        float[] logits = {3f, -1f, 5f, 4.5f, 0f};
        for (double coin : new double[] {0.0, 0.3, 0.999}) {
            assertThat(new SamplingParams(tiny, 1f, 1).sampler().sample(logits.clone(), 0, 5, coin))
                    .as("categorical, coin %s", coin).isEqualTo(2);
            assertThat(new SamplingParams(tiny, 0.9f, 1).sampler().sample(logits.clone(), 0, 5, coin))
                    .as("top-p, coin %s", coin).isEqualTo(2);
        }
        // Ties at the maximum stay ties: the coin chooses between them, as at any other temperature.
        float[] tied = {5f, 1f, 5f};
        assertThat(new SamplingParams(tiny, 1f, 1).sampler().sample(tied.clone(), 0, 3, 0.2)).isEqualTo(0);
        assertThat(new SamplingParams(tiny, 1f, 1).sampler().sample(tied.clone(), 0, 3, 0.7)).isEqualTo(2);
    }

    @Test
    void aCoinAboveTheRoundedCdfNeverPicksATokenOfProbabilityZero() {
        // 25 equal tokens: each probability is the float 1/25, and their sum in double is 1 - 2.2e-8. A coin in that
        // gap fell through the cdf to the last token, which the model ruled out (-inf).
        float[] logits = new float[26];
        logits[25] = Float.NEGATIVE_INFINITY;
        double coin = 1 - 1e-9;
        assertThat(Sampler.categorical().sample(logits.clone(), 0, 26, coin)).isEqualTo(24);
        assertThat(new SamplingParams(0.7f, 1f, 3).sampler().sample(logits.clone(), 0, 26, coin)).isEqualTo(24);
    }
}
