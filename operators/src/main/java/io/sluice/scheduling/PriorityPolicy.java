package io.sluice.scheduling;

/**
 * vLLM's priority scheduling: waiting requests taken from a heap ordered by (priority, arrival), with
 * priority here the request's weight (higher first); under KV pressure the lowest-priority,
 * latest-arriving running request is preempted. Strict: a lower class never overtakes a higher one.
 */
final class PriorityPolicy extends VllmStylePolicy {

    PriorityPolicy(PolicyOptions options) {
        super(options);
    }

    @Override
    public String name() {
        return "priority";
    }

    @Override
    protected boolean ordersWaiting() {
        return true;
    }

    @Override
    protected void orderWaiting(InstanceState s, double nowMs) {
        for (int i = 0; i < nWait; i++) {
            wait[i].sortKey = -wait[i].weight();
        }
        // Queue order is arrival order (preempted first), so the stable sort breaks ties by arrival.
        sorting.sort(wait, 0, nWait);
    }

    @Override
    protected Request victim() {
        Request worst = null;
        for (int i = 0; i < nRun; i++) {
            Request r = run[i];
            if ((r.flags & (PlanBuilder.PREEMPTED | PlanBuilder.SCHEDULED)) != 0) {
                continue;
            }
            if (worst == null || r.weight() < worst.weight()
                    || (r.weight() == worst.weight() && r.arrivalMs() >= worst.arrivalMs())) {
                worst = r;
            }
        }
        return worst;
    }
}
