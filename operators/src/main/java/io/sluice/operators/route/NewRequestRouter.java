package io.sluice.operators.route;

import io.sluice.operators.ingest.AdmittedRequest;
import io.sluice.scheduling.LatencyModel;
import io.sluice.scheduling.PolicyOptions;
import io.sluice.scheduling.Request;
import io.sluice.scheduling.RouterOptions;
import io.sluice.scheduling.RoutingRules;
import io.sluice.scheduling.Slo;
import io.sluice.schemas.InstanceStatus;
import java.util.OptionalInt;

/**
 * Where a new request goes, decided from the instances' status reports as the simulator's {@code Router.routeNew}
 * decides it, by the same {@link RoutingRules}: the request's TTFT target (its SLO, else the one its deadline
 * implies, else the router's default); an instance whose predicted TTFT meets it ({@link LoadTracker#routeWithin});
 * else, in hybrid mode, a decode instance with slack for a short prompt ({@link HybridPrefills}); else the instance
 * with the lowest predicted TTFT. Instances 0..P-1 take new requests (the prefill pool under PD separation); a
 * hybrid route is P + the decode instance's index. Pure logic; not thread-safe.
 */
public final class NewRequestRouter {

    private final int instances;
    private final RouterOptions options;
    private final PolicyOptions deadlines;
    private final LatencyModel estimator;
    private final LoadTracker tracker;
    private final HybridPrefills hybridPrefills;

    /**
     * @param instances           the instances new requests go to
     * @param decodeInstances     the decode pool after them; 0 when colocated
     * @param latencyCoefficients the instances' latency model, to estimate a prefill the way they will
     * @param options             the job's router options; {@link RouterOptions#hybrid()}: whether short prefills may
     *                            go to decode instances with slack
     */
    public NewRequestRouter(int instances, int decodeInstances, double[] latencyCoefficients, RouterOptions options) {
        if (options == null) {
            throw new IllegalArgumentException("the router needs its options");
        }
        if (options.hybrid() && decodeInstances < 1) {
            throw new IllegalArgumentException("hybrid routing needs decode instances");
        }
        this.instances = instances;
        this.options = options;
        this.deadlines = RoutingRules.deadlineOptions(options);
        this.estimator = new LatencyModel(latencyCoefficients, 1, 1);
        this.tracker = new LoadTracker(instances, options);
        this.hybridPrefills = options.hybrid() ? new HybridPrefills(decodeInstances, options) : null;
    }

    /**
     * A status of an instance (by its global id): its backlog, or, of a decode instance, its step, queue and KV
     * blocks.
     */
    public void report(InstanceStatus s) {
        int instance = s.getInstance();
        long atMs = s.getReportedAt().toEpochMilli();
        if (instance < instances) {
            tracker.report(instance, s.getBacklogMs(), atMs);
        } else if (hybridPrefills != null) {
            hybridPrefills.report(instance - instances, s.getEstimatedTpotMs(), s.getQueuedRequests(),
                    s.getFreeKvBlocks(), s.getInboundKvBlocks(), s.getTotalKvBlocks(), s.getKvBlockTokens(), atMs);
        }
    }

    /** The instance (global id) for {@code request}, recorded as routed there. */
    public int route(AdmittedRequest request, long nowMs) {
        int prompt = request.promptTokens == null ? 0 : request.promptTokens.length;
        double estimateMs = estimator.prefillChunkMs(prompt, 0);
        Request planned = planned(request, nowMs);
        double waited = Math.max(0, nowMs - planned.arrivalMs());
        OptionalInt within = tracker.routeWithin(waited, estimateMs,
                RoutingRules.ttftTargetMs(planned, deadlines), nowMs);
        if (within.isPresent()) {
            return within.getAsInt();
        }
        if (hybridPrefills != null) {
            double tpot = RoutingRules.tpotTargetMs(planned, deadlines, options);
            OptionalInt decode = hybridPrefills.pick(prompt, estimator.chunkWorkMs(prompt, 0), tpot, nowMs);
            if (decode.isPresent()) {
                return instances + decode.getAsInt();
            }
        }
        return tracker.routeToLowestTtft(estimateMs, nowMs);
    }

    /**
     * The request as the scheduling rules see it, for its targets. Valid whatever the request holds: a request
     * the model cannot serve is rejected by its instance, not here, so the router only needs a target for it.
     */
    static Request planned(AdmittedRequest r, long nowMs) {
        long arrival = r.arrivalMs(nowMs);
        Slo slo = new Slo(r.ttftSloMs > 0 ? r.ttftSloMs : Double.NaN, r.tpotSloMs > 0 ? r.tpotSloMs : Double.NaN,
                r.deadlineMs > arrival ? (double) (r.deadlineMs - arrival) : Double.NaN);
        double weight = r.weight > 0 && Double.isFinite(r.weight) ? r.weight : 1;
        int prompt = r.promptTokens == null ? 1 : Math.max(1, r.promptTokens.length);
        return new Request(r.requestId == null ? "" : r.requestId, r.tenant, r.priorityClass, weight, slo, prompt,
                Math.max(1, r.maxNewTokens), arrival);
    }
}
