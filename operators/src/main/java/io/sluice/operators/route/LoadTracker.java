package io.sluice.operators.route;

import java.util.ArrayDeque;

/**
 * The router's view of the instances' load: each instance's last reported backlog (estimated
 * milliseconds of queued work) plus the estimates of the requests routed to it since that report,
 * which the report could not yet include. A new request goes to the least loaded instance; ties
 * go round-robin so an idle cluster spreads requests evenly.
 *
 * <p>This is DESIGN §3's rule read with what a router on the far side of Kafka can know: among
 * instances whose predicted TTFT meets the request's SLO it takes the most idle one, and when none
 * meets it, it queues on the least loaded — the same instance either way, since predicted TTFT is
 * load plus the request's own estimate.
 */
public final class LoadTracker {

    private final double[] reportedBacklogMs;
    private final long[] reportedAtMs;
    private final ArrayDeque<double[]>[] routedSince; // per instance: {routedAtMs, estimateMs}
    private final double[] routedSumMs;
    private int nextTieBreak;

    @SuppressWarnings("unchecked")
    public LoadTracker(int instances) {
        if (instances < 1) {
            throw new IllegalArgumentException("need at least one instance, got " + instances);
        }
        reportedBacklogMs = new double[instances];
        reportedAtMs = new long[instances];
        routedSince = new ArrayDeque[instances];
        routedSumMs = new double[instances];
        for (int i = 0; i < instances; i++) {
            routedSince[i] = new ArrayDeque<>();
        }
    }

    public int instances() {
        return reportedBacklogMs.length;
    }

    /** An instance's status: its backlog as of {@code atMs}; work routed before then is in it. */
    public void report(int instance, double backlogMs, long atMs) {
        if (instance < 0 || instance >= instances() || atMs < reportedAtMs[instance]) {
            return; // unknown instance or an out-of-order report: the newer one stands
        }
        reportedBacklogMs[instance] = Math.max(0, backlogMs);
        reportedAtMs[instance] = atMs;
        ArrayDeque<double[]> routed = routedSince[instance];
        while (!routed.isEmpty() && routed.peekFirst()[0] <= atMs) {
            routedSumMs[instance] -= routed.pollFirst()[1];
        }
        if (routed.isEmpty()) {
            routedSumMs[instance] = 0; // no drift from adding and subtracting doubles
        }
    }

    /** Predicted load of an instance: reported backlog plus what was routed there since. */
    public double loadMs(int instance) {
        return reportedBacklogMs[instance] + routedSumMs[instance];
    }

    /** The lowest predicted load of any instance: what a new request waits at best. */
    public double minLoadMs() {
        double min = Double.POSITIVE_INFINITY;
        for (int i = 0; i < instances(); i++) {
            min = Math.min(min, loadMs(i));
        }
        return min;
    }

    /** Picks the instance for a request of {@code estimateMs} estimated work arriving at {@code nowMs}. */
    public int route(double estimateMs, long nowMs) {
        int n = instances();
        int best = -1;
        double bestLoad = Double.POSITIVE_INFINITY;
        for (int k = 0; k < n; k++) {
            int i = (nextTieBreak + k) % n;
            double load = loadMs(i);
            if (load < bestLoad) {
                best = i;
                bestLoad = load;
            }
        }
        nextTieBreak = (best + 1) % n;
        double estimate = Math.max(0, estimateMs);
        routedSince[best].addLast(new double[] {nowMs, estimate});
        routedSumMs[best] += estimate;
        return best;
    }
}
