package io.sluice.scheduling;

/**
 * Shortest predicted job first: waiting requests ordered by their estimated total time (prefill
 * plus every remaining decode step, priced alone by the latency model, with the request's
 * max-new-tokens as the output prediction); under KV pressure the running request with the most
 * predicted work left is preempted.
 */
final class SjfPolicy extends VllmStylePolicy {

    SjfPolicy(PolicyOptions options) {
        super(options);
    }

    @Override
    public String name() {
        return "sjf";
    }

    private static double predictedMs(LatencyModel m, Request r) {
        int rem = r.remainingPrefill();
        double prefill = rem > 0 ? m.prefillChunkMs(rem, r.prefilledTokens()) : 0.0;
        int left = rem > 0 ? r.remainingTokens() - 1 : r.remainingTokens();
        return prefill + Math.max(0, left) * m.decodeMs(1, r.knownTokens());
    }

    @Override
    protected boolean ordersWaiting() {
        return true;
    }

    @Override
    protected void orderWaiting(InstanceState s, double nowMs) {
        for (int i = 0; i < nWait; i++) {
            wait[i].sortKey = predictedMs(s.estimator(), wait[i]);
        }
        sorting.sort(wait, 0, nWait);
    }

    /** Keeps admission order (vLLM runs what it started) but prices each, for the victim choice. */
    @Override
    protected void orderRunning(InstanceState s, double nowMs) {
        for (int i = 0; i < nRun; i++) {
            run[i].sortKey = predictedMs(s.estimator(), run[i]);
        }
    }

    @Override
    protected Request victim() {
        Request worst = null;
        for (int i = 0; i < nRun; i++) {
            Request r = run[i];
            if ((r.flags & (PlanBuilder.PREEMPTED | PlanBuilder.SCHEDULED)) == 0
                    && (worst == null || r.sortKey >= worst.sortKey)) {
                worst = r;
            }
        }
        return worst;
    }
}
