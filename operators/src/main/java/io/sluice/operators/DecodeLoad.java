package io.sluice.operators;

/**
 * A decode instance's free KV blocks as its status reported them, delivered to every prefill instance so that
 * each places its handoffs (see {@link io.sluice.operators.route.DecodePlacement}). A Flink POJO.
 */
public final class DecodeLoad {
    /** Index of the decode instance within the decode operator. */
    public int decodeInstance;
    public int freeBlocks;
    public int totalBlocks;
    public long reportedAtMs;

    public DecodeLoad() {}

    public static DecodeLoad of(int decodeInstance, int freeBlocks, int totalBlocks, long reportedAtMs) {
        DecodeLoad l = new DecodeLoad();
        l.decodeInstance = decodeInstance;
        l.freeBlocks = freeBlocks;
        l.totalBlocks = totalBlocks;
        l.reportedAtMs = reportedAtMs;
        return l;
    }
}
