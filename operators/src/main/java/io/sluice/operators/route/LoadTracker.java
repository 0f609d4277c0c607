package io.sluice.operators.route;

import io.sluice.scheduling.RouterOptions;
import io.sluice.scheduling.RoutingRules;
import java.util.ArrayDeque;
import java.util.OptionalInt;

/**
 * The router's view of the instances' load: each instance's last reported backlog (estimated
 * milliseconds of queued work) plus the estimates of the requests routed to it since that report,
 * which the report could not yet include. A new request is placed by the router's rules
 * ({@link RoutingRules#pickPrefill}: candidates meet the TTFT target, light before mid before the rest;
 * {@link RoutingRules#lowestTtft} when none does) over these predicted loads, the predicted TTFT being
 * time waited + load + the request's own estimate. Ties go round-robin so an idle cluster spreads
 * requests evenly.
 */
public final class LoadTracker {

    private final RouterOptions options;
    private final double[] reportedBacklogMs;
    private final long[] reportedAtMs;
    private final ArrayDeque<double[]>[] routedSince; // per instance: {routedAtMs, estimateMs}
    private final double[] routedSumMs;
    private int nextTieBreak;

    @SuppressWarnings("unchecked")
    public LoadTracker(int instances, RouterOptions options) {
        if (instances < 1 || options == null) {
            throw new IllegalArgumentException("need at least one instance and the router options, got " + instances
                    + ", " + options);
        }
        this.options = options;
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

    /**
     * The instance that meets a TTFT target of {@code ttftTargetMs} for a request that has waited {@code waitedMs}
     * and needs {@code estimateMs} of prefill work, recorded as routed there; empty when no instance meets it.
     */
    public OptionalInt routeWithin(double waitedMs, double estimateMs, double ttftTargetMs, long nowMs) {
        int pick = RoutingRules.pickPrefill(instances(), nextTieBreak, i -> true, this::loadMs,
                i -> waitedMs + loadMs(i) + estimateMs, ttftTargetMs, options);
        if (pick == RoutingRules.NONE) {
            return OptionalInt.empty();
        }
        routed(pick, estimateMs, nowMs);
        return OptionalInt.of(pick);
    }

    /** The instance with the lowest predicted TTFT, recorded as routed there: where a late request queues. */
    public int routeToLowestTtft(double estimateMs, long nowMs) {
        int pick = RoutingRules.lowestTtft(instances(), nextTieBreak, i -> true, i -> loadMs(i) + estimateMs);
        if (pick == RoutingRules.NONE) {
            pick = nextTieBreak; // every load unknowable (not finite): a request is routed all the same
        }
        routed(pick, estimateMs, nowMs);
        return pick;
    }

    private void routed(int instance, double estimateMs, long nowMs) {
        nextTieBreak = (instance + 1) % instances();
        double estimate = Math.max(0, estimateMs);
        routedSince[instance].addLast(new double[] {nowMs, estimate});
        routedSumMs[instance] += estimate;
    }
}
