package io.sluice.operators.route;

import io.sluice.operators.ingest.AdmittedRequest;
import io.sluice.scheduling.LatencyModel;
import io.sluice.scheduling.RouterOptions;
import io.sluice.schemas.InstanceStatus;
import org.apache.flink.api.common.functions.OpenContext;
import org.apache.flink.api.common.state.MapStateDescriptor;
import org.apache.flink.api.common.typeinfo.TypeInformation;
import org.apache.flink.streaming.api.functions.co.BroadcastProcessFunction;
import org.apache.flink.util.Collector;

/**
 * Chooses the instance of every admitted request from the instances' status reports (read back
 * from {@code sluice.status} and broadcast to every router subtask) and the requests it routed
 * since. The last status per instance is kept in broadcast state, so a restored router starts
 * from it. Under PD separation it routes to the prefill instances (global ids 0..P-1); in hybrid mode a short
 * prompt whose TTFT no prefill instance can meet may go to a decode instance with slack
 * ({@link HybridPrefills}; its id is then P + the decode instance's index).
 */
public final class RouterFunction extends BroadcastProcessFunction<AdmittedRequest, InstanceStatus, AdmittedRequest> {
    private static final long serialVersionUID = 1L;

    /** Broadcast state: the latest status of each instance. */
    public static final MapStateDescriptor<Integer, InstanceStatus> STATUS = new MapStateDescriptor<>(
            "instance-status", TypeInformation.of(Integer.class), TypeInformation.of(InstanceStatus.class));

    private final int instances;
    private final int decodeInstances;
    private final boolean hybrid;
    private final double[] latencyCoefficients;
    private transient LoadTracker tracker;
    private transient HybridPrefills hybridPrefills;
    private transient RouterOptions options;
    private transient LatencyModel estimator;
    private transient boolean restored;

    /**
     * @param latencyCoefficients the instances' latency model (c0..c4, b0..b4), to estimate a
     *     request's prefill work the way the instances will
     */
    public RouterFunction(int instances, double[] latencyCoefficients) {
        this(instances, 0, latencyCoefficients, false);
    }

    /**
     * @param instances       the instances new requests go to (the prefill pool under PD separation)
     * @param decodeInstances the decode pool (global ids after the prefill ones); 0 when colocated
     * @param hybrid          whether short prefills may go to decode instances with slack
     */
    public RouterFunction(int instances, int decodeInstances, double[] latencyCoefficients, boolean hybrid) {
        if (hybrid && decodeInstances < 1) {
            throw new IllegalArgumentException("hybrid routing needs decode instances");
        }
        this.instances = instances;
        this.decodeInstances = decodeInstances;
        this.hybrid = hybrid;
        this.latencyCoefficients = latencyCoefficients.clone();
    }

    @Override
    public void open(OpenContext openContext) {
        tracker = new LoadTracker(instances);
        estimator = new LatencyModel(latencyCoefficients, 1, 1);
        options = RouterOptions.defaults();
        hybridPrefills = hybrid ? new HybridPrefills(decodeInstances, options.hybridMaxPrompt()) : null;
    }

    @Override
    public void processElement(AdmittedRequest request, ReadOnlyContext ctx, Collector<AdmittedRequest> out)
            throws Exception {
        if (!restored) {
            // After a restore, start from the statuses that were checkpointed.
            for (var entry : ctx.getBroadcastState(STATUS).immutableEntries()) {
                report(entry.getValue());
            }
            restored = true;
        }
        long now = ctx.currentProcessingTime();
        int prompt = request.promptTokens.length;
        double estimateMs = estimator.prefillChunkMs(prompt, 0);
        if (hybridPrefills != null && request.ttftSloMs > 0) {
            double waited = request.submittedAtMs > 0 ? Math.max(0, now - request.submittedAtMs) : 0;
            if (waited + tracker.minLoadMs() + estimateMs > request.ttftSloMs) {
                double tpot = request.tpotSloMs > 0 ? request.tpotSloMs : options.defaultTpotMs();
                var decode = hybridPrefills.pick(prompt, estimator.chunkWorkMs(prompt, 0), tpot, now);
                if (decode.isPresent()) {
                    request.instance = instances + decode.getAsInt();
                    out.collect(request);
                    return;
                }
            }
        }
        request.instance = tracker.route(estimateMs, now);
        out.collect(request);
    }

    @Override
    public void processBroadcastElement(InstanceStatus status, Context ctx, Collector<AdmittedRequest> out)
            throws Exception {
        if (status.getInstance() < 0 || status.getInstance() >= instances + decodeInstances) {
            return; // a status from a differently sized deployment on the same topic
        }
        ctx.getBroadcastState(STATUS).put(status.getInstance(), status);
        report(status);
    }

    private void report(InstanceStatus status) {
        int i = status.getInstance();
        long at = status.getReportedAt().toEpochMilli();
        if (i < instances) {
            tracker.report(i, status.getBacklogMs(), at);
        } else if (hybridPrefills != null) {
            hybridPrefills.report(i - instances, status.getEstimatedTpotMs(), status.getQueuedRequests(), at);
        }
    }
}
