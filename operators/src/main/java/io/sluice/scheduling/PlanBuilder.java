package io.sluice.scheduling;

import java.util.Arrays;

/**
 * Accumulates one batch while a policy fills it: running estimate, token count and the free blocks
 * left after allocations and preemptions. Reused across rounds, so a round allocates only the plan.
 */
final class PlanBuilder {

    static final int SCHEDULED = 1;
    static final int PREEMPTED = 2;
    static final int DROPPED = 4;
    /** Set by a policy on a waiting request that holds the door for itself when memory is short (starved). */
    static final int HOLDS_DOOR = 8;

    // The four lists of the plan being built, as plain arrays: build() copies them into one array.
    private Chunk[] chunks = new Chunk[16];
    private int nChunks;
    private Request[] decodes = new Request[64];
    private int nDecodes;
    private Request[] preempted = new Request[16];
    private int nPreempted;
    private Request[] dropped = new Request[16];
    private int nDropped;
    LatencyModel model;
    KvBlockAccounting kv;
    int tokens;
    int freeBlocks;
    double work;
    // The model's batch overheads and per-decode terms, read once a round: a fill prices the batch
    // several times per candidate, and the coefficients do not change while a plan is built.
    private double prefillOverhead;
    private double decodeOverhead;
    private double decodeFixed;
    private double decodePerToken;

    void reset(InstanceState s) {
        // Cleared, so that no finished request stays reachable from here.
        Arrays.fill(chunks, 0, nChunks, null);
        Arrays.fill(decodes, 0, nDecodes, null);
        Arrays.fill(preempted, 0, nPreempted, null);
        Arrays.fill(dropped, 0, nDropped, null);
        nChunks = nDecodes = nPreempted = nDropped = 0;
        model = s.estimator();
        kv = s.blocks();
        tokens = 0;
        work = 0;
        freeBlocks = kv.freeBlocks();
        prefillOverhead = model.overheadMs(true, false);
        decodeOverhead = model.overheadMs(false, true);
        decodeFixed = model.decodeFixedMs();
        decodePerToken = model.decodePerTokenMs();
    }

    /** {@link LatencyModel#overheadMs(boolean, boolean)}, from the values read at {@link #reset}. */
    private double overheadMs(boolean hasPrefill, boolean hasDecode) {
        return hasPrefill ? prefillOverhead : (hasDecode ? decodeOverhead : 0.0);
    }

    /** {@link LatencyModel#decodeWorkMs}, the same sum in the same order. */
    private double decodeWorkMs(long context) {
        return decodeFixed + decodePerToken * context;
    }

    int sequences() {
        return nChunks + nDecodes;
    }

    boolean isEmpty() {
        return nChunks == 0 && nDecodes == 0;
    }

    double timeMs() {
        return overheadMs(nChunks > 0, nDecodes > 0) + work;
    }

    double timeWithDecode(Request r) {
        return overheadMs(nChunks > 0, true) + work + decodeWorkMs(r.contextTokens());
    }

    double timeWithChunk(Request r, int n) {
        return prefillOverhead + work + model.chunkWorkMs(n, r.prefilledTokens());
    }

    int extraBlocks(Request r, int n) {
        return kv.extraBlocks(r, n);
    }

    boolean hasBlocks(Request r, int n) {
        return kv.extraBlocks(r, n) <= freeBlocks;
    }

    /** Most new tokens {@code r} can compute with the blocks it holds plus those free now. */
    int tokensFitting(Request r) {
        long cap = (long) (r.kvBlocks + freeBlocks) * kv.blockTokens() - r.prefilledTokens();
        return (int) Math.max(0, Math.min(Integer.MAX_VALUE, cap));
    }

    /**
     * Largest n in [from, maxN] whose chunk keeps the batch within {@code budgetMs}, for a chunk of
     * {@code from} tokens known to fit ({@code from} 0: none need to). The estimate grows with n, so
     * the answer is the one n where it crosses the budget: a few secant steps (the estimate is close
     * to linear in n, so they land on it or next to it), then bisection of what is left. Every step
     * keeps "fits at lo, does not fit at out", so the answer is the bisection's, in fewer estimates.
     */
    int largestChunkWithin(Request r, int from, int maxN, double budgetMs) {
        int lo = from;
        int out = maxN + 1;
        if (from >= 1 && maxN > from) {
            double fOut = timeWithChunk(r, maxN);
            if (fOut <= budgetMs) {
                return maxN;
            }
            out = maxN;
            double fLo = timeWithChunk(r, lo);
            for (int step = 0; step < 4 && out - lo > 1; step++) {
                int g = lo + (int) ((budgetMs - fLo) / (fOut - fLo) * (out - lo));
                g = Math.max(lo + 1, Math.min(out - 1, g));
                double fg = timeWithChunk(r, g);
                if (fg > budgetMs) {
                    out = g;
                    fOut = fg;
                    continue;
                }
                lo = g;
                fLo = fg;
                // A convex estimate's secant falls just short of the crossing: try one further.
                if (g + 1 < out) {
                    double f1 = timeWithChunk(r, g + 1);
                    if (f1 > budgetMs) {
                        return g;
                    }
                    lo = g + 1;
                    fLo = f1;
                }
            }
        }
        int hi = out - 1;
        while (lo < hi) {
            int mid = (lo + hi + 1) >>> 1;
            if (timeWithChunk(r, mid) <= budgetMs) {
                lo = mid;
            } else {
                hi = mid - 1;
            }
        }
        return lo;
    }

    void addDecode(Request r) {
        freeBlocks -= kv.extraBlocks(r, 1);
        work += decodeWorkMs(r.contextTokens());
        tokens++;
        if (nDecodes == decodes.length) {
            decodes = Arrays.copyOf(decodes, 2 * nDecodes);
        }
        decodes[nDecodes++] = r;
        r.flags |= SCHEDULED;
    }

    void addChunk(Request r, int n) {
        freeBlocks -= kv.extraBlocks(r, n);
        work += model.chunkWorkMs(n, r.prefilledTokens());
        tokens += n;
        if (nChunks == chunks.length) {
            chunks = Arrays.copyOf(chunks, 2 * nChunks);
        }
        chunks[nChunks++] = new Chunk(r, n);
        r.flags |= SCHEDULED;
    }

    void preempt(Request r) {
        freeBlocks += r.kvBlocks;
        if (nPreempted == preempted.length) {
            preempted = Arrays.copyOf(preempted, 2 * nPreempted);
        }
        preempted[nPreempted++] = r;
        r.flags |= PREEMPTED;
    }

    void drop(Request r) {
        freeBlocks += r.kvBlocks;
        if (nDropped == dropped.length) {
            dropped = Arrays.copyOf(dropped, 2 * nDropped);
        }
        dropped[nDropped++] = r;
        r.flags |= DROPPED;
    }

    /** Whether the plan preempts anyone so far. */
    boolean hasPreemptions() {
        return nPreempted > 0;
    }

    /** The chunk added last; there must be one. */
    Chunk lastChunk() {
        return chunks[nChunks - 1];
    }

    /** The plan: its four lists are views of one array, copied once. */
    BatchPlan build() {
        if (isEmpty() && nPreempted == 0 && nDropped == 0) {
            return BatchPlan.EMPTY;
        }
        Object[] all = new Object[nChunks + nDecodes + nPreempted + nDropped];
        System.arraycopy(chunks, 0, all, 0, nChunks);
        int at = nChunks;
        System.arraycopy(decodes, 0, all, at, nDecodes);
        at += nDecodes;
        System.arraycopy(preempted, 0, all, at, nPreempted);
        at += nPreempted;
        System.arraycopy(dropped, 0, all, at, nDropped);
        return new BatchPlan(PlanList.view(all, 0, nChunks), PlanList.view(all, nChunks, nDecodes),
                PlanList.view(all, nChunks + nDecodes, nPreempted), PlanList.view(all, at, nDropped), timeMs());
    }
}
