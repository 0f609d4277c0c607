package io.sluice.gpu.sampling;

/**
 * Nucleus sampling as llama2.c does it: drop tokens below {@code (1 - p) / (n - 1)} (they cannot be in the
 * nucleus), sort the rest by probability, keep the shortest prefix whose mass exceeds {@code p}, sample in it.
 */
final class TopP implements Sampler {

    /**
     * Vocabulary-sized work arrays, one set per thread and reused: a sampler is made per sampled token (see
     * {@link SamplingParams#sampler}), and arrays per call would allocate half a megabyte per token at 32k tokens.
     */
    private static final class Scratch {
        int[] indices = new int[0];
        float[] probs = new float[0];
        long[] keys = new long[0];

        void ensure(int size) {
            if (indices.length < size) {
                indices = new int[size];
                probs = new float[size];
                keys = new long[size];
            }
        }
    }

    private static final ThreadLocal<Scratch> SCRATCH = ThreadLocal.withInitial(Scratch::new);

    private final float p;

    TopP(float p) {
        this.p = p;
    }

    @Override
    public int sample(float[] logits, int offset, int size, double coin) {
        Sampler.softmax(logits, offset, size);
        Scratch scratch = SCRATCH.get();
        scratch.ensure(size);
        int[] indices = scratch.indices;
        float[] probs = scratch.probs;
        float cutoff = (1f - p) / (size - 1);
        int n = 0;
        for (int i = 0; i < size; i++) {
            if (logits[offset + i] >= cutoff) {
                indices[n++] = i;
            }
        }
        if (n == 0) {
            return Sampler.argmax(logits, offset, size);
        }
        sortByProbabilityDescending(logits, offset, n, scratch);
        float cumulative = 0f;
        int last = n - 1;
        for (int i = 0; i < n; i++) {
            cumulative += probs[i];
            if (cumulative > p) {
                last = i;
                break;
            }
        }
        double r = coin * cumulative;
        double cdf = 0;
        for (int i = 0; i <= last; i++) {
            cdf += probs[i];
            if (r < cdf) {
                return indices[i];
            }
        }
        return indices[last];
    }

    /** Sorts {@code indices[0..n)} by probability, largest first, ties by lower id; fills {@code probs}. */
    private static void sortByProbabilityDescending(float[] logits, int offset, int n, Scratch scratch) {
        int[] indices = scratch.indices;
        float[] probs = scratch.probs;
        long[] keys = scratch.keys;
        // Pack (probability, id) into longs: probabilities are non-negative, so their float bits order like them.
        for (int i = 0; i < n; i++) {
            int id = indices[i];
            keys[i] = ((long) Float.floatToIntBits(logits[offset + id]) << 32) | (0xFFFFFFFFL - id);
        }
        java.util.Arrays.sort(keys, 0, n);
        for (int i = 0; i < n; i++) {
            long k = keys[n - 1 - i];
            indices[i] = (int) (0xFFFFFFFFL - (k & 0xFFFFFFFFL));
            probs[i] = Float.intBitsToFloat((int) (k >>> 32));
        }
    }
}
