package io.sluice.scheduling;

import java.util.List;

/**
 * Base of the deadline-aware policies (edf, slidebatching, slidingserve): every schedulable request
 * (running and waiting) is ranked in one order each round, then the batch is filled greedily in that
 * order while the estimated batch time stays within a time budget. The prefill that does not fit is
 * cut to the largest chunk that does (binary search on the estimator), never under the minimum chunk;
 * when KV blocks run out, running requests are preempted from the tail of the order.
 *
 * <p>Memory rules, because the order changes every round (unlike vLLM, which always runs what it
 * started): a new prefill is admitted only when its whole prompt fits beside the blocks the started
 * prefills still need and a 1 % watermark (a prompt too big to leave the watermark free waits for an empty
 * cache); a new request may evict a running one only to the host
 * tier, never by recompute (on the arXiv workload recompute eviction made EDF thrash: 36k
 * preemptions for 3k requests); a new request that does not fit, even after those evictions, is
 * skipped without evicting anyone, and a starved one that does not fit holds the door (nothing new
 * is admitted behind it) until it does.
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
    /** Set when the last {@link #tryAdd} failed for lack of KV blocks rather than time. */
    private boolean memoryShort;
    /** Host blocks already promised to swap victims this round. */
    private int hostReserved;
    /** Tail cursor for victims of new requests, which may only evict to the host tier. */
    private int swapTail;
    /** Most blocks swap victims below {@code swapTail} can still free this round, once a scan came up short. */
    private int swapBound;
    /** Set once a starved request could not get in: no later new request may take its blocks. */
    private boolean holdAdmissions;
    /** Blocks the started prefills still need to finish: not free for new admissions. */
    private int committed;
    /** Blocks kept free at admission for the running sequences' growth (vLLM's 1 % watermark). */
    private int watermark;

    OrderedFillPolicy(PolicyOptions options) {
        this.options = options;
    }

    @Override
    public BatchPlan plan(InstanceState s, double nowMs) {
        b.reset(s);
        n = 0;
        for (int i = 0, k = s.running().size(); i < k; i++) {
            Request r = s.running().get(i);
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
        committed = 0;
        for (int i = 0, k = s.running().size(); i < k; i++) {
            Request r = s.running().get(i);
            if (r.state() == RequestState.PREFILLING) {
                committed += Math.max(0, s.blocks().blocksFor((long) r.prefilledTokens() + r.remainingPrefill()) - r.kvBlocks);
            }
        }
        watermark = s.blocks().totalBlocks() / 100;
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

    /** Whether a lost {@code r} is rejected rather than served late: with dropLate, before any of it ran. */
    protected boolean droppable(Request r) {
        return options.dropLate() && r.state() == RequestState.WAITING && r.generatedTokens() == 0
                && r.prefilledTokens() == 0;
    }

    /** Greedy fill of the ranked candidates within {@code budgetMs}. */
    protected void fill(InstanceState s, double budgetMs) {
        tail = -2;
        hostReserved = 0;
        swapBound = Integer.MAX_VALUE;
        holdAdmissions = false;
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
            if (admitted && holdAdmissions) {
                continue;
            }
            if (deferGroup(r, budgetMs)) {
                // Nothing of the rest of the group is popped from the ranking.
                rank = ranking.groupEnd(rank) - 1;
                continue;
            }
            double before = b.timeMs();
            // Cleared here, not in tryAdd: an override may refuse without calling the base one.
            memoryShort = false;
            if (!tryAdd(rank, r, budgetMs)) {
                if (admitted && memoryShort) {
                    // A new request that does not fit in memory is skipped, not waited on: smaller ones
                    // behind it may fit. Once it is starved, though, nothing new is admitted behind it,
                    // so the blocks that running sequences free are kept for it.
                    holdAdmissions = (r.flags & PlanBuilder.HOLDS_DOOR) != 0;
                    continue;
                }
                if (passOnFailure(r)) {
                    continue;
                }
                break;
            }
            added(r, b.timeMs() - before);
            if (admitted) {
                admissions--;
            }
            if (r.remainingPrefill() > 0 && endsBatch(r, b.lastChunk().tokens())) {
                break;
            }
        }
    }

    /**
     * Whether to pass over {@code r} and every request ranked after it in its rank group this round
     * (they stay queued); none by default. Only for a rule that, once it passes over one request of
     * a group, would pass over all the rest of it too.
     */
    protected boolean deferGroup(Request r, double budgetMs) {
        return false;
    }

    /** Whether the fill goes on past {@code r} when it could not be added; by default it stops there. */
    protected boolean passOnFailure(Request r) {
        return false;
    }

    /** Whether adding {@code chunk} tokens of {@code r} ends the fill: by default when it was cut (the budget is full). */
    protected boolean endsBatch(Request r, int chunk) {
        return chunk < r.remainingPrefill();
    }

    /** Called after {@code r} joined the batch, adding {@code addedMs} to its estimate. */
    protected void added(Request r, double addedMs) {
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
            int need = b.extraBlocks(r, 1);
            // A handed-over sequence being admitted keeps the watermark free for the running ones.
            int wanted = r.state() == RequestState.TRANSFERRING ? admissionNeed(need) : need;
            if (!ensureFree(rank, r, wanted)) {
                return false;
            }
            b.addDecode(r);
            return true;
        }
        int rem = r.remainingPrefill();
        int maxN = Math.min(rem, options.maxBatchTokens() - b.tokens);
        int floor = Math.min(rem, options.minChunkTokens());
        if (maxN < floor) {
            return false;
        }
        int chunk;
        if (b.timeWithChunk(r, maxN) <= budgetMs) {
            chunk = maxN;
        } else if (b.timeWithChunk(r, floor) > budgetMs) {
            // Not even the minimum chunk fits (estimates grow with the chunk, so no search is needed):
            // under load that is how most fills end, once per round.
            if (!b.isEmpty()) {
                return false;
            }
            // An empty batch always makes progress, even when the budget is below one minimum chunk.
            chunk = floor;
        } else {
            chunk = chooseChunk(r, maxN, b.largestChunkWithin(r, floor, maxN, budgetMs), budgetMs);
        }
        if (r.state() == RequestState.WAITING) {
            // A prefill is admitted only with room for all of it (plus the prefills already started
            // and a watermark): the order changes every round, and a prompt started on blocks that
            // are not there for its end would have to evict, or be evicted, half done.
            int fullNeed = b.extraBlocks(r, rem);
            if (!ensureFree(rank, r, admissionNeed(fullNeed))) {
                return false;
            }
            committed += fullNeed - b.extraBlocks(r, chunk);
            b.addChunk(r, chunk);
            return true;
        }
        if (!ensureFree(rank, r, b.extraBlocks(r, chunk))) {
            int fitting = Math.min(chunk, b.tokensFitting(r));
            if (fitting < floor) {
                return false;
            }
            chunk = fitting;
        }
        committed = Math.max(0, committed - b.extraBlocks(r, chunk));
        b.addChunk(r, chunk);
        return true;
    }

    /**
     * Free blocks a new request needs to be admitted: its own {@code blocks}, those the started prefills
     * still need and the watermark, but never more than the cache holds. The instance accepted it because
     * its whole length fits the empty cache; asking for a watermark on top would keep it waiting forever.
     */
    private int admissionNeed(int blocks) {
        return Math.min(blocks + committed + watermark, b.kv.totalBlocks());
    }

    /**
     * Size of the chunk cut from a prefill that does not fit whole, at least the minimum chunk: by
     * default {@code fitting}, the largest whose estimate keeps the batch within the budget (called
     * only when the minimum chunk fits, so {@code fitting} is at least that).
     */
    protected int chooseChunk(Request r, int maxN, int fitting, double budgetMs) {
        return fitting;
    }

    /**
     * Makes {@code wanted} blocks free by preempting running requests from the tail of the order;
     * false (some may already be marked for preemption) when they cannot be found.
     */
    protected boolean ensureFree(int rank, Request r, int wanted) {
        int need = wanted;
        if (need <= b.freeBlocks) {
            return true;
        }
        if (tail == -2) {
            ranking.drain();
            tail = ranking.size() - 1;
            swapTail = tail;
        }
        // Running requests may evict to grow (vLLM's rule). A new one may evict only when the victim's
        // KV can move to the host tier: evicting by recompute to admit a new request throws away the
        // victim's work, and under overload that churn collapses throughput.
        boolean evictAny = r.state() != RequestState.WAITING && r.state() != RequestState.TRANSFERRING;
        if (!evictAny && !swapVictimsSuffice(rank, need)) {
            // A new request that will be skipped must not evict anyone on the way: nobody would take
            // the blocks, and the instance would swap the victims straight back within the apply.
            memoryShort = true;
            return false;
        }
        while (need > b.freeBlocks) {
            Request v = null;
            if (evictAny) {
                while (tail > rank && v == null) {
                    Request c = cand[ranking.at(tail--)];
                    if (evictable(c)) {
                        v = c;
                    }
                }
            } else {
                // Its own cursor: what it skips (not swappable now) stays a victim for running requests,
                // and host room only shrinks within a round, so it never needs to look back.
                while (swapTail > rank && v == null) {
                    Request c = cand[ranking.at(swapTail--)];
                    if (evictable(c) && swappable(c)) {
                        v = c;
                    }
                }
            }
            if (v == null) {
                memoryShort = true;
                return false;
            }
            b.preempt(v);
            if (swappable(v)) {
                hostReserved += v.kvBlocks;
            }
        }
        return true;
    }

    /**
     * Whether swapping out victims from {@code swapTail} down (not past {@code rank}), as the loop in
     * {@link #ensureFree} would pick them, frees {@code need} blocks. Changes nothing. Within a round
     * what a scan can find only shrinks (later requests have a shorter window, host room shrinks,
     * victims get marked), so a shortfall is kept as a bound: a later request short by more is
     * refused without another scan, which keeps a round linear in the queue under overload.
     */
    private boolean swapVictimsSuffice(int rank, int need) {
        if (need - b.freeBlocks > swapBound) {
            return false;
        }
        int free = b.freeBlocks;
        int reserved = hostReserved;
        int found = 0;
        for (int t = swapTail; t > rank && free < need; t--) {
            Request c = cand[ranking.at(t)];
            if (evictable(c) && swappable(c, reserved)) {
                free += c.kvBlocks;
                reserved += c.kvBlocks;
                found += c.kvBlocks;
            }
        }
        if (free < need) {
            swapBound = found;
            return false;
        }
        return true;
    }

    private static boolean evictable(Request c) {
        return c.kvBlocks > 0 && (c.flags & (PlanBuilder.PREEMPTED | PlanBuilder.SCHEDULED | PlanBuilder.DROPPED)) == 0
                && (c.state() == RequestState.PREFILLING || c.state() == RequestState.DECODING);
    }

    /** Whether {@code c} would go to the host tier (not recompute) if preempted now. */
    private boolean swappable(Request c) {
        return swappable(c, hostReserved);
    }

    /** Whether {@code c} can move to the host tier with {@code reserved} of its free blocks already promised. */
    private boolean swappable(Request c, int reserved) {
        return b.kv.hasHostTier() && c.isDecodePhase() && c.kvBlocks <= b.kv.hostFreeBlocks() - reserved;
    }
}
