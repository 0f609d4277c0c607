package io.sluice.scheduling;

/**
 * Earliest deadline first over prefills (first-token deadline) and decodes (next-token deadline),
 * filled within the token budget with chunked prefill; preemption from the latest deadline.
 */
final class EdfPolicy extends OrderedFillPolicy {

    EdfPolicy(PolicyOptions options) {
        super(options);
    }

    @Override
    public String name() {
        return "edf";
    }

    @Override
    protected double rank(InstanceState s, double nowMs) {
        for (int i = 0; i < n; i++) {
            ranking.set(i, 0, Deadlines.next(cand[i], options), 0);
        }
        return Double.POSITIVE_INFINITY;
    }
}
