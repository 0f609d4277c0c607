package io.sluice.operators;

/**
 * A decode instance's free and inbound KV blocks, sequences, estimated step and tightest TPOT SLO as its status reported them,
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
    /**
     * The tightest TPOT SLO among the sequences on it, as the status carries it: 0 when none has one (so a load
     * built without it, or from a status written before the field, means no pace to keep).
     */
    public double tightestTpotMs;
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

    /** A load whose sequences have no TPOT SLO. */
    public static DecodeLoad of(int decodeInstance, int freeBlocks, int inboundBlocks, int totalBlocks,
                                int runningSequences, double estimatedStepMs, long reportedAtMs) {
        return of(decodeInstance, freeBlocks, inboundBlocks, totalBlocks, runningSequences, estimatedStepMs, 0.0,
                reportedAtMs);
    }

    /** @param tightestTpotMs as on the wire: 0 for none ({@link #tpotOnWire}) */
    public static DecodeLoad of(int decodeInstance, int freeBlocks, int inboundBlocks, int totalBlocks,
                                int runningSequences, double estimatedStepMs, double tightestTpotMs,
                                long reportedAtMs) {
        DecodeLoad l = new DecodeLoad();
        l.tightestTpotMs = tightestTpotMs;
        l.inboundBlocks = inboundBlocks;
        l.decodeInstance = decodeInstance;
        l.freeBlocks = freeBlocks;
        l.totalBlocks = totalBlocks;
        l.runningSequences = runningSequences;
        l.estimatedStepMs = estimatedStepMs;
        l.reportedAtMs = reportedAtMs;
        return l;
    }

    /**
     * A tightest TPOT SLO ({@code InstanceState.tightestTpotMs}, infinite for none) as the status and this load carry
     * it: 0 for none, the schema's default, since JSON has no infinity.
     */
    public static double tpotOnWire(double tightestTpotMs) {
        return tightestTpotMs > 0 && tightestTpotMs < Double.POSITIVE_INFINITY ? tightestTpotMs : 0.0;
    }

    /** The inverse of {@link #tpotOnWire}: anything but a positive finite number is no SLO (infinite). */
    public static double tpotOffWire(double wire) {
        return wire > 0 && wire < Double.POSITIVE_INFINITY ? wire : Double.POSITIVE_INFINITY;
    }
}
