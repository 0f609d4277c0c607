package io.sluice.gpu.sampling;

/**
 * Nucleus sampling as llama2.c does it: drop tokens below {@code (1 - p) / (n - 1)} (they cannot be in the
 * nucleus), sort the rest by probability, keep the shortest prefix whose mass exceeds {@code p}, sample in it.
 */
final class TopP implements Sampler {

    private final float p;
    // Reused between calls; a sampler runs on one thread at a time (the executor's sampling step).
    private int[] indices = new int[0];
    private float[] probs = new float[0];

    TopP(float p) {
        this.p = p;
    }

    @Override
    public synchronized int sample(float[] logits, int offset, int size, double coin) {
        Sampler.softmax(logits, offset, size);
        if (indices.length < size) {
            indices = new int[size];
            probs = new float[size];
        }
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
        sortByProbabilityDescending(logits, offset, n);
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
    private void sortByProbabilityDescending(float[] logits, int offset, int n) {
        // Pack (probability, id) into longs: probabilities are non-negative, so their float bits order like them.
        long[] keys = new long[n];
        for (int i = 0; i < n; i++) {
            int id = indices[i];
            keys[i] = ((long) Float.floatToIntBits(logits[offset + id]) << 32) | (0xFFFFFFFFL - id);
        }
        java.util.Arrays.sort(keys);
        for (int i = 0; i < n; i++) {
            long k = keys[n - 1 - i];
            indices[i] = (int) (0xFFFFFFFFL - (k & 0xFFFFFFFFL));
            probs[i] = Float.intBitsToFloat((int) (k >>> 32));
        }
    }
}
