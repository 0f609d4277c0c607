package io.sluice.scheduling;

/**
 * SlideBatching, as xLLM implements it. Deadlines: a prefill's is its TTFT SLO from arrival, a
 * decode's is its actual first-token time plus generated tokens x TPOT SLO. Each round:
 * <ol>
 * <li>estimate every request alone; budget B = max(smallest remaining time among requests that can
 *     still make it, budgetFloor x smallest TPOT present), at most maxBudgetMs;</li>
 * <li>load L = (sum of estimates) x B / (B - c0): the backlog inflated by the per-batch overhead a
 *     budget of B pays;</li>
 * <li>a request is urgent when its remaining time is under lambda x L, starved when it is later than
 *     its SLO by more than theta x that SLO;</li>
 * <li>order: urgent decodes (by value density, weight / estimate), urgent prefills (starved first,
 *     then density), then the rest earliest deadline first, then requests that can no longer make it
 *     (best effort, or dropped with dropLate) unless starved, which puts them with the urgent;</li>
 * <li>fill greedily within B; the prefill that does not fit gets the largest chunk that does.</li>
 * </ol>
 * At low load nothing is urgent and the order is pure EDF; as load rises more requests turn urgent
 * and density takes over. On a PREFILL instance (PD separation) the budget is the smallest remaining
 * TTFT among prefills that can still make it: the batch ends just in time for the most urgent one.
 */
final class SlideBatchingPolicy extends OrderedFillPolicy {

    private static final double STARVED_FIRST = 1e12;

    private static final int LOST = 1 << 8;
    private static final int GROUP_URGENT_DECODE = 0;
    private static final int GROUP_URGENT_PREFILL = 1;
    private static final int GROUP_NORMAL = 2;
    private static final int GROUP_LOST = 3;

    /** Diagnostics of the last round, for tests and metrics. */
    double lastBudgetMs;
    double lastLoadMs;
    int lastUrgent;

    SlideBatchingPolicy(PolicyOptions options) {
        super(options);
    }

    @Override
    public String name() {
        return "slidebatching";
    }

    @Override
    protected double rank(InstanceState s, double nowMs) {
        LatencyModel m = s.estimator();
        boolean prefillOnly = s.role() == Role.PREFILL;
        double sumEst = 0;
        double minRemaining = Double.POSITIVE_INFINITY;
        double minPace = Double.POSITIVE_INFINITY;
        for (int i = 0; i < n; i++) {
            Request r = cand[i];
            boolean decode = r.isDecodePhase();
            double est = decode ? m.decodeMs(1, r.contextTokens()) : m.prefillChunkMs(r.remainingPrefill(), r.prefilledTokens());
            double step = m.decodeMs(1, decode ? r.contextTokens() : r.knownTokens());
            r.estMs = est;
            r.deadlineMs = Deadlines.next(r, options);
            boolean isLost = Deadlines.lost(r, nowMs, est, step, options);
            r.flags = isLost ? LOST : 0;
            sumEst += est;
            double remaining = r.deadlineMs - nowMs;
            if (!isLost && (!prefillOnly || !decode)) {
                minRemaining = Math.min(minRemaining, remaining);
            }
            minPace = Math.min(minPace, Deadlines.pace(r, options));
        }
        if (minPace == Double.POSITIVE_INFINITY) {
            minPace = options.defaultTpotMs();
        }
        double budget;
        if (prefillOnly) {
            double oneChunk = m.prefillChunkMs(options.minChunkTokens(), 0);
            budget = minRemaining == Double.POSITIVE_INFINITY ? options.maxBudgetMs() : Math.max(minRemaining, oneChunk);
        } else {
            budget = Math.max(minRemaining == Double.POSITIVE_INFINITY ? 0 : minRemaining, options.budgetFloor() * minPace);
        }
        budget = Math.min(budget, options.maxBudgetMs());
        double c0 = m.c0();
        double load = budget > c0 ? sumEst * budget / (budget - c0) : Double.POSITIVE_INFINITY;
        double urgentBelow = options.lambda() * load;

        int urgent = 0;
        for (int i = 0; i < n; i++) {
            Request r = cand[i];
            boolean decode = r.isDecodePhase();
            double remaining = r.deadlineMs - nowMs;
            double sloSpan = r.deadlineMs - r.arrivalMs();
            boolean starved = -remaining > options.theta() * sloSpan;
            boolean isLost = (r.flags & LOST) != 0;
            r.flags = 0;
            if (isLost && !starved) {
                if (options.dropLate() && r.state() == RequestState.WAITING && r.generatedTokens() == 0
                        && r.prefilledTokens() == 0) {
                    b.drop(r);
                    continue;
                }
                ranking.set(i, GROUP_LOST, remaining, 0);
            } else if (starved || remaining < urgentBelow) {
                // Density first (highest first), equal densities by deadline; starved ones ahead of all.
                double key = -(r.weight() / Math.max(r.estMs, 1e-9)) - (starved ? STARVED_FIRST : 0);
                ranking.set(i, decode ? GROUP_URGENT_DECODE : GROUP_URGENT_PREFILL, key, remaining);
                urgent++;
            } else {
                ranking.set(i, GROUP_NORMAL, remaining, 0);
            }
        }
        lastBudgetMs = budget;
        lastLoadMs = load;
        lastUrgent = urgent;
        return budget;
    }
}
