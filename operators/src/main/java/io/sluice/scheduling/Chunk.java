package io.sluice.scheduling;

/**
 * A prefill chunk: {@code tokens} tokens of {@code request} computed on top of {@code cachedTokens}
 * already in its KV cache. The cached count is captured when the chunk is made, so the plan still
 * describes the batch that ran after {@link InstanceState#complete} has advanced the request.
 */
public record Chunk(Request request, int tokens, int cachedTokens) {
    public Chunk {
        if (request == null) {
            throw new IllegalArgumentException("chunk needs a request");
        }
        if (tokens <= 0 || cachedTokens < 0) {
            throw new IllegalArgumentException("chunk of " + tokens + " tokens over " + cachedTokens
                    + " cached for request " + request.id() + ": need tokens > 0 and cached >= 0");
        }
    }

    /** The next {@code tokens} tokens of {@code request}, from its current progress. */
    public Chunk(Request request, int tokens) {
        this(request, tokens, request == null ? 0 : request.prefilledTokens());
        if (tokens > request.remainingPrefill()) {
            throw new IllegalArgumentException("chunk of " + tokens + " tokens for request " + request.id()
                    + " which has " + request.remainingPrefill() + " tokens left to prefill");
        }
    }
}
