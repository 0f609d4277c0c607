package io.sluice.scheduling;

/**
 * KV-cache block counts of one instance as the scheduler sees them: a device pool of fixed-size
 * blocks and an optional host tier that preempted sequences can be swapped to. Counts only (the
 * engine's block pool owns the real block ids); each request records how many blocks it holds, so
 * growing a request to a size is idempotent and cannot count a block twice.
 */
public final class KvBlockAccounting {

    private final int blockTokens;
    /** log2 of blockTokens when it is a power of two, else -1. */
    private final int blockShift;
    private final int totalBlocks;
    private final int hostCapacityBlocks;
    private final double copyFixedMs;
    private final double copyMsPerBlock;
    private int freeBlocks;
    private int hostFreeBlocks;

    /** A device pool without a host tier. */
    public KvBlockAccounting(int blockTokens, int totalBlocks) {
        this(blockTokens, totalBlocks, 0, 0.0, 0.0);
    }

    /**
     * A device pool plus a host tier of {@code hostCapacityBlocks}; moving {@code n} blocks either way
     * takes {@code copyFixedMs + n * copyMsPerBlock} (a linear copy-time model, e.g. PCIe).
     */
    public KvBlockAccounting(int blockTokens, int totalBlocks, int hostCapacityBlocks,
                             double copyFixedMs, double copyMsPerBlock) {
        if (blockTokens < 1) {
            throw new IllegalArgumentException("KV block size must be >= 1 token, got " + blockTokens);
        }
        if (totalBlocks < 1) {
            throw new IllegalArgumentException("an instance needs at least 1 KV block, got " + totalBlocks);
        }
        if (hostCapacityBlocks < 0) {
            throw new IllegalArgumentException("host tier capacity must be >= 0 blocks, got " + hostCapacityBlocks);
        }
        if (!(copyFixedMs >= 0) || !(copyMsPerBlock >= 0)) {
            throw new IllegalArgumentException("copy-time coefficients must be >= 0, got " + copyFixedMs + ", " + copyMsPerBlock);
        }
        this.blockTokens = blockTokens;
        this.blockShift = Integer.bitCount(blockTokens) == 1 ? Integer.numberOfTrailingZeros(blockTokens) : -1;
        this.totalBlocks = totalBlocks;
        this.hostCapacityBlocks = hostCapacityBlocks;
        this.copyFixedMs = copyFixedMs;
        this.copyMsPerBlock = copyMsPerBlock;
        this.freeBlocks = totalBlocks;
        this.hostFreeBlocks = hostCapacityBlocks;
    }

    public int blockTokens() { return blockTokens; }
    public int totalBlocks() { return totalBlocks; }
    public int freeBlocks() { return freeBlocks; }
    public int usedBlocks() { return totalBlocks - freeBlocks; }
    public int hostCapacityBlocks() { return hostCapacityBlocks; }
    public int hostFreeBlocks() { return hostFreeBlocks; }
    public boolean hasHostTier() { return hostCapacityBlocks > 0; }

    /** Fraction of device blocks free, in [0, 1]. */
    public double freeFraction() {
        return (double) freeBlocks / totalBlocks;
    }

    /** Blocks needed to hold {@code tokens} tokens. */
    public int blocksFor(long tokens) {
        // A shift for the usual power-of-two block size: a policy round asks this several times per
        // sequence, and a 64-bit division is tens of cycles. Same result for tokens >= 0.
        if (blockShift >= 0 && tokens >= 0) {
            return (int) ((tokens + blockTokens - 1) >>> blockShift);
        }
        return (int) ((tokens + blockTokens - 1) / blockTokens);
    }

    /** Extra blocks {@code r} needs to compute {@code newTokens} more tokens. */
    public int extraBlocks(Request r, int newTokens) {
        return Math.max(0, blocksFor((long) r.prefilledTokens() + newTokens) - r.kvBlocks);
    }

    /** Whether a sequence of {@code tokens} tokens could ever fit on this instance. */
    public boolean fitsEver(long tokens) {
        return blocksFor(tokens) <= totalBlocks;
    }

    /**
     * Grows {@code r}'s device blocks to hold {@code tokens} tokens. Returns false and changes
     * nothing when the pool is short: running out is a normal outcome, not an error.
     */
    public boolean allocate(Request r, long tokens) {
        int need = blocksFor(tokens) - r.kvBlocks;
        if (need <= 0) {
            return true;
        }
        if (need > freeBlocks) {
            return false;
        }
        freeBlocks -= need;
        r.kvBlocks += need;
        return true;
    }

    /** Returns all of {@code r}'s device blocks to the pool. */
    public void free(Request r) {
        freeBlocks += r.kvBlocks;
        r.kvBlocks = 0;
    }

    /** Drops {@code r}'s host-tier copy. */
    public void freeHost(Request r) {
        hostFreeBlocks += r.hostBlocks;
        r.hostBlocks = 0;
    }

    /** Whether {@code r}'s device blocks would fit on the host tier now. */
    public boolean canSwapOut(Request r) {
        return r.kvBlocks > 0 && r.kvBlocks <= hostFreeBlocks;
    }

    /** Moves {@code r}'s device blocks to the host tier; false (nothing moved) when it does not fit. */
    public boolean swapOut(Request r) {
        if (!canSwapOut(r)) {
            return false;
        }
        hostFreeBlocks -= r.kvBlocks;
        r.hostBlocks += r.kvBlocks;
        free(r);
        return true;
    }

    /** Moves {@code r}'s host blocks back to the device; false (nothing moved) when the device is short. */
    public boolean swapIn(Request r) {
        if (r.hostBlocks == 0 || r.hostBlocks > freeBlocks) {
            return false;
        }
        freeBlocks -= r.hostBlocks;
        r.kvBlocks += r.hostBlocks;
        freeHost(r);
        return true;
    }

    /** Time to copy {@code blocks} blocks between device and host. */
    public double copyMs(int blocks) {
        return blocks <= 0 ? 0.0 : copyFixedMs + copyMsPerBlock * blocks;
    }
}
