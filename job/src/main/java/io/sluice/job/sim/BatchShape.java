package io.sluice.job.sim;

/**
 * The shape of one engine step, reduced to the sums a cost model prices: prefill chunks (new
 * tokens {@code d} on top of {@code p} already cached) and decode sequences (their context).
 *
 * <p>Mutable and reusable on purpose: the simulator prices millions of steps and a fresh list
 * per step would dominate its run time.
 */
public final class BatchShape {
    int chunks;
    long sumD;
    double sumD2;
    double sumDP;
    long sumP;
    /** Tokens of every chunk that ends its prompt: each emits a logits row (the first token). */
    int logitRows;
    int decodes;
    long sumCtx;

    /** Empties the shape for the next step. */
    public BatchShape clear() {
        chunks = 0;
        sumD = 0;
        sumD2 = 0;
        sumDP = 0;
        sumP = 0;
        logitRows = 0;
        decodes = 0;
        sumCtx = 0;
        return this;
    }

    /**
     * Adds a prefill chunk.
     *
     * @param newTokens tokens computed by this chunk ({@code d}, at least 1)
     * @param cachedTokens tokens of the same sequence already in the KV cache ({@code p})
     * @param lastChunk whether the chunk ends the prompt (it then samples the first token)
     */
    public BatchShape addChunk(int newTokens, int cachedTokens, boolean lastChunk) {
        if (newTokens <= 0 || cachedTokens < 0) {
            throw new IllegalArgumentException(
                    "a prefill chunk needs new tokens > 0 and cached tokens >= 0, got "
                            + newTokens + " and " + cachedTokens);
        }
        chunks++;
        sumD += newTokens;
        sumD2 += (double) newTokens * newTokens;
        sumDP += (double) newTokens * cachedTokens;
        sumP += cachedTokens;
        if (lastChunk) {
            logitRows++;
        }
        return this;
    }

    /**
     * Adds a decode sequence.
     *
     * @param contextTokens tokens in its KV cache before this step (prompt + generated so far)
     */
    public BatchShape addDecode(int contextTokens) {
        if (contextTokens < 0) {
            throw new IllegalArgumentException("decode context must be >= 0, got " + contextTokens);
        }
        decodes++;
        sumCtx += contextTokens;
        return this;
    }

    public int chunks() {
        return chunks;
    }

    public long prefillTokens() {
        return sumD;
    }

    public int decodes() {
        return decodes;
    }

    public long decodeContextTokens() {
        return sumCtx;
    }

    public boolean isEmpty() {
        return chunks == 0 && decodes == 0;
    }
}
