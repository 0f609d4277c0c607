package io.sluice.scheduling;

/**
 * SlidingServe-style scheduling. Requests are sorted by SLO protection (at risk and still savable,
 * then the rest that can make it, then the lost), within a level by urgency (slack = deadline - now -
 * own estimate) and then remaining work. When the at-risk requests do not all fit the batch budget,
 * a 0/1 knapsack (value: weight, cost: estimated time, in budget units) picks which run now; the
 * rest of them move behind the safe requests. A prefill is chunked, so its cost there is what it
 * can take of this batch: its remaining prompt, at most the capacity. The prefill cut to fill the
 * batch is sized jointly for this and the next iteration: ternary search for the split that
 * minimises the slower of the two steps, so the decodes sharing both keep their pace.
 *
 * <p>Beyond that order, a progress guarantee: under a sustained overload safe requests never run out, and
 * whatever ranks behind them (the deferred, the lost, and a request without a first-token target, which is
 * never lost but at risk for good once its default target passed) waited forever. So the head keeps a share of
 * each batch: of the starved requests (lost or overdue, their first token due longer ago than theta x
 * their first-token target, slidebatching's starvation factor), the one whose first token was due earliest
 * (first due, first served). Its share is its decode step, or for a prefill {@link SlideBatchingPolicy#STARVED_SHARE} of the
 * capacity (one minimum chunk at least, its remaining prompt at most). The knapsack and the front of the order
 * (kept at-risk, then safe) fill the budget less that share; the head then gets what is left, and the deferred
 * and the lost follow.
 */
final class SlidingServePolicy extends OrderedFillPolicy {

    private static final int UNITS = 128;
    private static final int MAX_ITEMS = 128;

    private Request[] risk = new Request[64];
    private Request[] safe = new Request[64];
    private Request[] lost = new Request[64];
    private Request[] deferred = new Request[64];
    private int[] cost = new int[MAX_ITEMS];
    private final double[] best = new double[UNITS + 1];
    private final boolean[][] take = new boolean[MAX_ITEMS][UNITS + 1];
    private double nextDecodeWork;
    /** The starved request whose first token was due earliest, or null: see the class comment. */
    private Request head;
    /** The share of the batch kept for {@link #head}. */
    private double headMs;
    /** Set once the front of the order (the kept at-risk and the safe requests) filled its part of the budget. */
    private boolean frontFull;

    SlidingServePolicy(PolicyOptions options) {
        super(options);
    }

    @Override
    public String name() {
        return "slidingserve";
    }

    @Override
    protected double rank(InstanceState s, double nowMs) {
        LatencyModel m = s.estimator();
        boolean prefillOnly = s.role() == Role.PREFILL;
        double minPace = Double.POSITIVE_INFINITY;
        double minRemaining = Double.POSITIVE_INFINITY;
        nextDecodeWork = 0;
        for (int i = 0; i < n; i++) {
            Request r = cand[i];
            boolean decode = r.isDecodePhase();
            r.estMs = decode ? m.decodeMs(1, r.contextTokens()) : m.prefillChunkMs(r.remainingPrefill(), r.prefilledTokens());
            r.deadlineMs = Deadlines.next(r, options);
            if (decode) {
                nextDecodeWork += m.decodeWorkMs(r.contextTokens() + 1);
            }
            double step = m.decodeMs(1, decode ? r.contextTokens() : r.knownTokens());
            boolean lost = Deadlines.lost(r, nowMs, r.estMs, step, options);
            minPace = Math.min(minPace, Deadlines.batchPace(r, lost, options));
            if (lost) {
                r.flags = LOST;
            } else {
                r.flags = 0;
                if (!decode) {
                    minRemaining = Math.min(minRemaining, r.deadlineMs - nowMs);
                }
            }
        }
        double budget;
        if (prefillOnly) {
            budget = minRemaining == Double.POSITIVE_INFINITY ? options.maxBudgetMs()
                    : Math.max(minRemaining, m.prefillChunkMs(options.minChunkTokens(), 0));
        } else {
            budget = minPace == Double.POSITIVE_INFINITY ? options.defaultTpotMs() : minPace;
        }
        budget = Math.min(budget, options.maxBudgetMs());
        double capacity = budget - m.overheadMs(true, true);
        head = null;
        headMs = 0;
        double headDue = Double.POSITIVE_INFINITY;
        for (int i = 0; i < n; i++) {
            Request r = cand[i];
            boolean isLost = (r.flags & LOST) != 0;
            if ((isLost || r.deadlineMs < nowMs) && !(isLost && droppable(r))) {
                // Starvation and order by the first token's due time, which stays put: by the next token's, a lost
                // request that got its first token went behind every request lost since, and again for each token.
                double due = Deadlines.firstToken(r, options);
                if (due < headDue && nowMs - due > options.theta() * (due - r.arrivalMs())) {
                    head = r;
                    headDue = due;
                }
            }
        }
        if (head != null) {
            if (head.isDecodePhase()) {
                headMs = m.decodeWorkMs(head.contextTokens());
            } else {
                double minChunk = m.chunkWorkMs(Math.min(head.remainingPrefill(), options.minChunkTokens()),
                        head.prefilledTokens());
                headMs = Math.min(Math.max(minChunk, SlideBatchingPolicy.STARVED_SHARE * capacity),
                        m.chunkWorkMs(head.remainingPrefill(), head.prefilledTokens()));
            }
            // The knapsack and the front of the order leave the head its share.
            capacity -= headMs;
        }

        int nr = 0;
        int ns = 0;
        int nl = 0;
        double riskCost = 0;
        for (int i = 0; i < n; i++) {
            Request r = cand[i];
            double slack = r.deadlineMs - nowMs - r.estMs;
            double work = r.estMs * r.remainingTokens();
            boolean isLost = (r.flags & LOST) != 0;
            r.flags = 0;
            if (r == head) {
                continue;
            }
            if (isLost) {
                if (droppable(r)) {
                    b.drop(r);
                    continue;
                }
                r.sortKey = work;
                lost = VllmStylePolicy.push(lost, nl++, r);
            } else if (slack < budget) {
                r.sortKey = slack + 1e-6 * work;
                risk = VllmStylePolicy.push(risk, nr++, r);
                riskCost += itemCost(m, r, capacity);
            } else {
                r.sortKey = slack + 1e-6 * work;
                safe = VllmStylePolicy.push(safe, ns++, r);
            }
        }
        sorting.sort(risk, 0, nr);
        sorting.sort(safe, 0, ns);
        sorting.sort(lost, 0, nl);
        int w = 0;
        int nd = 0;
        if (riskCost > capacity && capacity > 0) {
            int items = Math.min(nr, MAX_ITEMS);
            knapsack(m, items, capacity);
            for (int i = 0; i < nr; i++) {
                if (i < items && risk[i].sortKey == KEEP) {
                    cand[w++] = risk[i];
                } else {
                    deferred = VllmStylePolicy.push(deferred, nd++, risk[i]);
                }
            }
        } else {
            System.arraycopy(risk, 0, cand, w, nr);
            w += nr;
        }
        System.arraycopy(safe, 0, cand, w, ns);
        w += ns;
        int front = w;
        if (head != null) {
            cand[w++] = head;
        }
        System.arraycopy(deferred, 0, cand, w, nd);
        w += nd;
        System.arraycopy(lost, 0, cand, w, nl);
        w += nl;
        java.util.Arrays.fill(risk, 0, nr, null);
        java.util.Arrays.fill(safe, 0, ns, null);
        java.util.Arrays.fill(deferred, 0, nd, null);
        java.util.Arrays.fill(lost, 0, nl, null);
        for (int i = w; i < n; i++) {
            cand[i] = null;
        }
        n = w;
        for (int i = 0; i < n; i++) {
            ranking.set(i, i < front ? 0 : 1, i, 0);
            if (i >= front) {
                cand[i].flags |= BACK;
            }
        }
        if (head != null) {
            // Nothing new is admitted behind it while it waits for memory (as slidebatching's starved).
            head.flags |= PlanBuilder.HOLDS_DOOR;
        }
        frontFull = false;
        return budget;
    }

    @Override
    protected boolean tryAdd(int rank, Request r, double budgetMs) {
        if (head == null) {
            return super.tryAdd(rank, r, budgetMs);
        }
        if ((r.flags & BACK) == 0) {
            return super.tryAdd(rank, r, budgetMs - headMs);
        }
        if (r == head) {
            // Its step or one minimum chunk even if the estimate's rounding left less than its share.
            double own = r.isDecodePhase() ? b.timeWithDecode(r)
                    : b.timeWithChunk(r, Math.min(r.remainingPrefill(), options.minChunkTokens()));
            return super.tryAdd(rank, r, Math.max(budgetMs, own));
        }
        return super.tryAdd(rank, r, budgetMs);
    }

    /** The front is full: the rest of it waits, the head still gets its share. */
    @Override
    protected boolean deferGroup(Request r, double budgetMs) {
        return frontFull && (r.flags & BACK) == 0;
    }

    @Override
    protected boolean passOnFailure(Request r) {
        if (head != null && (r.flags & BACK) == 0) {
            frontFull = true;
            return true;
        }
        return false;
    }

    @Override
    protected boolean endsBatch(Request r, int chunk) {
        boolean cut = super.endsBatch(r, chunk);
        if (cut && head != null && (r.flags & BACK) == 0) {
            frontFull = true;
            return false;
        }
        return cut;
    }

    private static final int LOST = 1 << 8;
    /** Ranked in the back of the order: the head, then the deferred and the lost. */
    private static final int BACK = 1 << 9;
    private static final double KEEP = Double.NEGATIVE_INFINITY;

    /**
     * What an at-risk request takes of this batch: a decode its step; a prefill is chunked, so its remaining
     * prompt but at most the capacity. Priced whole, a prompt that cost more than the capacity never fitted
     * the knapsack and waited behind every safe request for good. Its floor, one minimum chunk, only matters
     * when that chunk alone exceeds the capacity: then it runs only as a batch's first chunk (an empty batch
     * always takes one), which is the whole capacity too.
     */
    private static double itemCost(LatencyModel m, Request r, double capacity) {
        return r.isDecodePhase() ? m.decodeWorkMs(r.contextTokens())
                : Math.min(m.chunkWorkMs(r.remainingPrefill(), r.prefilledTokens()), capacity);
    }

    /** 0/1 knapsack over the first {@code items} at-risk requests; marks the chosen with sortKey KEEP. */
    private void knapsack(LatencyModel m, int items, double capacity) {
        double unit = capacity / UNITS;
        java.util.Arrays.fill(best, 0);
        for (int i = 0; i < items; i++) {
            Request r = risk[i];
            cost[i] = (int) Math.ceil(itemCost(m, r, capacity) / unit);
            if (!r.isDecodePhase()) {
                // A prefill priced at the capacity must not miss it by a rounding error.
                cost[i] = Math.min(cost[i], UNITS);
            }
            java.util.Arrays.fill(take[i], false);
            int c = cost[i];
            if (c > UNITS) {
                continue;
            }
            for (int u = UNITS; u >= c; u--) {
                double v = best[u - c] + r.weight();
                if (v > best[u]) {
                    best[u] = v;
                    take[i][u] = true;
                }
            }
        }
        int u = UNITS;
        for (int i = items - 1; i >= 0; i--) {
            if (take[i][u]) {
                risk[i].sortKey = KEEP;
                u -= cost[i];
            }
        }
    }

    /**
     * Two-iteration lookahead: when the rest of the prompt can finish next iteration, split so the
     * slower of the two steps is as fast as possible (the objective is unimodal: this step grows and
     * the next shrinks with the chunk); otherwise take the largest chunk that fits.
     */
    @Override
    protected int chooseChunk(Request r, int maxN, int fitting, double budgetMs) {
        int rem = r.remainingPrefill();
        int lo = Math.min(rem, options.minChunkTokens());
        if (fitting <= lo || nextStepMs(r, rem - fitting, fitting) > budgetMs) {
            return fitting;
        }
        int hi = fitting;
        while (hi - lo > 2) {
            int m1 = lo + (hi - lo) / 3;
            int m2 = hi - (hi - lo) / 3;
            if (worst(r, m1, rem) <= worst(r, m2, rem)) {
                hi = m2;
            } else {
                lo = m1;
            }
        }
        int bestChunk = hi;
        for (int c = lo; c < hi; c++) {
            if (worst(r, c, rem) < worst(r, bestChunk, rem)) {
                bestChunk = c;
            }
        }
        return bestChunk;
    }

    private double worst(Request r, int chunk, int rem) {
        return Math.max(b.timeWithChunk(r, chunk), nextStepMs(r, rem - chunk, chunk));
    }

    private double nextStepMs(Request r, int restTokens, int chunk) {
        LatencyModel m = b.model;
        boolean decodes = nextDecodeWork > 0;
        if (restTokens <= 0) {
            return m.overheadMs(false, decodes) + nextDecodeWork;
        }
        return m.overheadMs(true, decodes) + nextDecodeWork + m.chunkWorkMs(restTokens, r.prefilledTokens() + chunk);
    }
}
