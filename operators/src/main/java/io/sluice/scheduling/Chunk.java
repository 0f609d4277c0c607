package io.sluice.scheduling;

/** A prefill chunk: {@code tokens} tokens of {@code request} computed from its {@code prefilledTokens()} on. */
public record Chunk(Request request, int tokens) {
    public Chunk {
        if (request == null) {
            throw new IllegalArgumentException("chunk needs a request");
        }
        if (tokens <= 0 || tokens > request.remainingPrefill()) {
            throw new IllegalArgumentException("chunk of " + tokens + " tokens for request " + request.id()
                    + " which has " + request.remainingPrefill() + " tokens left to prefill");
        }
    }

    /** Tokens already in the KV cache before this chunk. */
    public int cachedTokens() {
        return request.prefilledTokens();
    }
}
