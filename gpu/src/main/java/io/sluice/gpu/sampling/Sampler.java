package io.sluice.gpu.sampling;

import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorMask;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorSpecies;

/**
 * Picks the next token from a row of logits. Samplers compose: {@code Sampler.temperature(0.8f,
 * Sampler.topP(0.9f))}. A random choice takes its randomness from {@code coin}, a number in [0, 1) that the caller
 * derives from (request seed, position) with {@link Coins#coin}, so a replay picks the same tokens.
 */
@FunctionalInterface
public interface Sampler {

    /**
     * The chosen token id among {@code logits[offset .. offset + size)}; may overwrite that range (scaled,
     * turned into probabilities).
     */
    int sample(float[] logits, int offset, int size, double coin);

    /** The most likely token; the first one on ties, as llama2.c does. */
    static Sampler greedy() {
        return (logits, offset, size, coin) -> argmax(logits, offset, size);
    }

    /** Samples from the softmax of the logits. */
    static Sampler categorical() {
        return (logits, offset, size, coin) -> {
            softmax(logits, offset, size);
            double cdf = 0;
            int lastPossible = size - 1;
            for (int i = 0; i < size; i++) {
                float p = logits[offset + i];
                cdf += p;
                if (coin < cdf) {
                    return i;
                }
                if (p > 0) {
                    lastPossible = i;
                }
            }
            // Rounding left the cdf just below the coin: the last token that has a chance, not one ruled out.
            return lastPossible;
        };
    }

    /** Nucleus sampling: samples among the most likely tokens whose probabilities add up to {@code p}. */
    static Sampler topP(float p) {
        if (!(p > 0 && p <= 1)) {
            throw new IllegalArgumentException("top-p must be in (0, 1], got " + p);
        }
        return p == 1f ? categorical() : new TopP(p);
    }

    /** Divides the logits by {@code temperature} before {@code next} samples. */
    static Sampler temperature(float temperature, Sampler next) {
        if (!(temperature > 0) || Float.isInfinite(temperature)) {
            throw new IllegalArgumentException("temperature must be a positive number, got " + temperature);
        }
        return (logits, offset, size, coin) -> {
            float max = logits[offset];
            for (int i = 1; i < size; i++) {
                max = Math.max(max, logits[offset + i]);
            }
            if (Float.isInfinite(max / temperature) && !Float.isInfinite(max)) {
                // A tiny temperature overflows the largest logits to +inf, and softmax would give NaN everywhere.
                // Softmax ignores a shift, so shift by the maximum first: the maxima become 0, the rest -inf or less.
                for (int i = 0; i < size; i++) {
                    logits[offset + i] = (logits[offset + i] - max) / temperature;
                }
            } else {
                for (int i = 0; i < size; i++) {
                    logits[offset + i] /= temperature; // as llama2.c, bit for bit
                }
            }
            return next.sample(logits, offset, size, coin);
        };
    }

    /** The usual composition: greedy at temperature 0, else temperature then top-p (or plain softmax at p = 1). */
    static Sampler of(float temperature, float topP) {
        if (temperature < 0 || Float.isNaN(temperature)) {
            throw new IllegalArgumentException("temperature must be >= 0, got " + temperature);
        }
        if (temperature == 0) {
            return greedy();
        }
        return temperature(temperature, topP(topP));
    }

    /**
     * Index of the largest value in {@code x[offset .. offset + size)}, the first one on ties: the maximum on whole
     * vectors, then the first index that holds it (a vocabulary row is 32000 floats: scalar, this took a quarter of a
     * millisecond per sequence of a batch). Same answer as the scalar loop, which it falls back to for NaNs.
     */
    static int argmax(float[] x, int offset, int size) {
        VectorSpecies<Float> s = FloatVector.SPECIES_PREFERRED;
        int lanes = s.length();
        if (size < 2 * lanes) {
            return argmaxScalar(x, offset, size);
        }
        FloatVector m = FloatVector.fromArray(s, x, offset);
        int i = lanes;
        for (; i + lanes <= size; i += lanes) {
            m = m.max(FloatVector.fromArray(s, x, offset + i));
        }
        float max = m.reduceLanes(VectorOperators.MAX);
        for (; i < size; i++) {
            max = Math.max(max, x[offset + i]);
        }
        for (i = 0; i + lanes <= size; i += lanes) {
            VectorMask<Float> eq = FloatVector.fromArray(s, x, offset + i).eq(max);
            if (eq.anyTrue()) {
                return i + eq.firstTrue();
            }
        }
        for (; i < size; i++) {
            if (x[offset + i] == max) {
                return i;
            }
        }
        return argmaxScalar(x, offset, size); // a NaN: no value equals the vector maximum
    }

    private static int argmaxScalar(float[] x, int offset, int size) {
        int best = 0;
        float max = x[offset];
        for (int i = 1; i < size; i++) {
            if (x[offset + i] > max) {
                max = x[offset + i];
                best = i;
            }
        }
        return best;
    }

    /** In-place softmax of {@code x[offset .. offset + size)}, as llama2.c computes it. */
    static void softmax(float[] x, int offset, int size) {
        float max = x[offset];
        for (int i = 1; i < size; i++) {
            max = Math.max(max, x[offset + i]);
        }
        float sum = 0f;
        for (int i = 0; i < size; i++) {
            float e = (float) Math.exp(x[offset + i] - max);
            x[offset + i] = e;
            sum += e;
        }
        for (int i = 0; i < size; i++) {
            x[offset + i] /= sum;
        }
    }
}
