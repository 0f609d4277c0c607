package io.sluice.job.sim;

/**
 * One request of a trace: when it arrives (ms from the start of the trace) and its lengths.
 *
 * @param hashIds prefix-block ids (Mooncake traces), empty when the trace has none
 */
public record TraceRecord(double arrivalMs, int promptTokens, int outputTokens, int[] hashIds) {

    private static final int[] NONE = new int[0];

    public TraceRecord {
        if (!(arrivalMs >= 0) || Double.isInfinite(arrivalMs)) {
            throw new IllegalArgumentException("arrival time must be finite and >= 0, got " + arrivalMs);
        }
        if (promptTokens <= 0 || outputTokens <= 0) {
            throw new IllegalArgumentException(
                    "prompt and output tokens must be > 0, got " + promptTokens + " and " + outputTokens);
        }
        hashIds = hashIds == null ? NONE : hashIds;
    }

    public TraceRecord(double arrivalMs, int promptTokens, int outputTokens) {
        this(arrivalMs, promptTokens, outputTokens, NONE);
    }

    /** The same request with its arrival time divided by {@code scale} (load x scale). */
    public TraceRecord compressed(double scale) {
        return new TraceRecord(arrivalMs / scale, promptTokens, outputTokens, hashIds);
    }
}
