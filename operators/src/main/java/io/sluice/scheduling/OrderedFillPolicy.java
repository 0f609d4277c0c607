package io.sluice.scheduling;

import java.util.List;

/**
 * Base of the deadline-aware policies (edf, slidebatching, slidingserve): every schedulable request
 * (running and waiting) is ranked in one order each round, then the batch is filled greedily in that
 * order while the estimated batch time stays within a time budget. The prefill that does not fit is
 * cut to the largest chunk that does (binary search on the estimator), never under the minimum chunk;
 * when KV blocks run out, running requests are preempted from the tail of the order.
 */
abstract class OrderedFillPolicy implements BatchPolicy {

    protected final PolicyOptions options;
    protected final PlanBuilder b = new PlanBuilder();
    protected final Sorting sorting = new Sorting();
    protected final RankHeap ranking = new RankHeap();
    protected Request[] cand = new Request[64];
    protected int n;
    /** Tail cursor (a rank) for preemption victims: every rank above it has been considered; -2 before the drain. */
    private int tail;

    OrderedFillPolicy(PolicyOptions options) {
        this.options = options;
    }

    @Override
    public BatchPlan plan(InstanceState s, double nowMs) {
        b.reset(s);
        n = 0;
        for (Request r : s.running()) {
            if (!r.inFlight) {
                r.flags = 0;
                cand = VllmStylePolicy.push(cand, n++, r);
            }
        }
        List<Request> queue = s.waiting();
        for (int i = 0, size = queue.size(); i < size; i++) {
            Request r = queue.get(i);
            if (r.readyMs > nowMs) {
                continue;
            }
            r.flags = 0;
            cand = VllmStylePolicy.push(cand, n++, r);
        }
        if (n == 0) {
            return BatchPlan.EMPTY;
        }
        ranking.reset(n);
        double budget = rank(s, nowMs);
        ranking.build();
        fill(s, budget);
        BatchPlan plan = b.build();
        java.util.Arrays.fill(cand, 0, n, null);
        return plan;
    }

    /**
     * Ranks {@code cand[0, n)}: calls {@code ranking.set(position, group, key, key2)} for every candidate
     * that should be in the order (lower first; one left out, e.g. dropped via {@code b.drop}, is not
     * scheduled) and returns the time budget of this batch (+infinity for none).
     */
    protected abstract double rank(InstanceState s, double nowMs);

    /** Greedy fill of the ranked candidates within {@code budgetMs}. */
    protected void fill(InstanceState s, double budgetMs) {
        tail = -2;
        int admissions = options.maxSequences() - s.running().size();
        for (int rank = 0; ; rank++) {
            int pos = ranking.at(rank);
            if (pos < 0) {
                break;
            }
            Request r = cand[pos];
            if ((r.flags & (PlanBuilder.PREEMPTED | PlanBuilder.DROPPED)) != 0) {
                continue;
            }
            if (b.tokens >= options.maxBatchTokens()) {
                break;
            }
            boolean admitted = r.state() == RequestState.WAITING || r.state() == RequestState.TRANSFERRING;
            if (admitted && admissions <= 0) {
                continue;
            }
            if (!tryAdd(rank, r, budgetMs)) {
                break;
            }
            if (admitted) {
                admissions--;
            }
            if (r.remainingPrefill() > 0 && b.chunks.get(b.chunks.size() - 1).tokens() < r.remainingPrefill()) {
                break;
            }
        }
    }

    /**
     * Adds {@code r} (whole, or cut to a chunk) if it fits the budget and its blocks can be found;
     * false ends the fill.
     */
    protected boolean tryAdd(int rank, Request r, double budgetMs) {
        if (r.isDecodePhase()) {
            if (!b.isEmpty() && b.timeWithDecode(r) > budgetMs) {
                return false;
            }
            if (!ensureBlocks(rank, r, 1)) {
                return false;
            }
            b.addDecode(r);
            return true;
        }
        int rem = r.remainingPrefill();
        int maxN = Math.min(rem, options.maxBatchTokens() - b.tokens);
        int chunk = b.timeWithChunk(r, maxN) <= budgetMs ? maxN : chooseChunk(r, maxN, b.largestChunkWithin(r, maxN, budgetMs), budgetMs);
        int floor = Math.min(rem, options.minChunkTokens());
        if (chunk < floor) {
            if (!b.isEmpty() || maxN < floor) {
                return false;
            }
            // An empty batch always makes progress, even when the budget is below one minimum chunk.
            chunk = floor;
        }
        if (!ensureBlocks(rank, r, chunk)) {
            int fitting = Math.min(chunk, b.tokensFitting(r));
            if (fitting < floor) {
                return false;
            }
            chunk = fitting;
        }
        b.addChunk(r, chunk);
        return true;
    }

    /**
     * Size of the chunk cut from a prefill that does not fit whole: by default {@code fitting}, the
     * largest whose estimate keeps the batch within the budget.
     */
    protected int chooseChunk(Request r, int maxN, int fitting, double budgetMs) {
        return fitting;
    }

    /** Frees blocks for {@code r}'s {@code tokens} by preempting running requests from the tail of the order. */
    protected boolean ensureBlocks(int rank, Request r, int tokens) {
        int need = b.extraBlocks(r, tokens);
        while (need > b.freeBlocks) {
            if (tail == -2) {
                ranking.drain();
                tail = ranking.size() - 1;
            }
            Request v = null;
            while (tail > rank) {
                Request c = cand[ranking.at(tail--)];
                if (c.kvBlocks > 0 && (c.flags & (PlanBuilder.PREEMPTED | PlanBuilder.SCHEDULED | PlanBuilder.DROPPED)) == 0
                        && (c.state() == RequestState.PREFILLING || c.state() == RequestState.DECODING)) {
                    v = c;
                    break;
                }
            }
            if (v == null) {
                return false;
            }
            b.preempt(v);
        }
        return true;
    }
}
