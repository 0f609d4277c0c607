package io.sluice.operators;

/**
 * A decode instance's free and inbound KV blocks, sequences and estimated step as its status reported them,
 * delivered to every prefill instance so that each places its handoffs (see {@link io.sluice.operators.route.DecodePlacement}). A Flink POJO.
 */
public final class DecodeLoad {
    /** Index of the decode instance within the decode operator. */
    public int decodeInstance;
    public int freeBlocks;
    /** Blocks its queued handoffs (not yet admitted) will take: free now, but promised. */
    public int inboundBlocks;
    public int totalBlocks;
    /** Sequences decoding on it. */
    public int runningSequences;
    /** Its estimated decode step over them. */
    public double estimatedStepMs;
    public long reportedAtMs;

    public DecodeLoad() {}

    /** A load with no sequences decoding (a step of 0). */
    public static DecodeLoad of(int decodeInstance, int freeBlocks, int totalBlocks, long reportedAtMs) {
        return of(decodeInstance, freeBlocks, totalBlocks, 0, 0.0, reportedAtMs);
    }

    /** A load with no handoffs queued on the instance. */
    public static DecodeLoad of(int decodeInstance, int freeBlocks, int totalBlocks, int runningSequences,
                                double estimatedStepMs, long reportedAtMs) {
        return of(decodeInstance, freeBlocks, 0, totalBlocks, runningSequences, estimatedStepMs, reportedAtMs);
    }

    public static DecodeLoad of(int decodeInstance, int freeBlocks, int inboundBlocks, int totalBlocks,
                                int runningSequences, double estimatedStepMs, long reportedAtMs) {
        DecodeLoad l = new DecodeLoad();
        l.inboundBlocks = inboundBlocks;
        l.decodeInstance = decodeInstance;
        l.freeBlocks = freeBlocks;
        l.totalBlocks = totalBlocks;
        l.runningSequences = runningSequences;
        l.estimatedStepMs = estimatedStepMs;
        l.reportedAtMs = reportedAtMs;
        return l;
    }
}
