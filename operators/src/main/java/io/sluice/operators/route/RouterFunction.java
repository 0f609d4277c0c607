package io.sluice.operators.route;

import io.sluice.operators.ingest.AdmittedRequest;
import io.sluice.scheduling.LatencyModel;
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
 * from it.
 */
public final class RouterFunction extends BroadcastProcessFunction<AdmittedRequest, InstanceStatus, AdmittedRequest> {
    private static final long serialVersionUID = 1L;

    /** Broadcast state: the latest status of each instance. */
    public static final MapStateDescriptor<Integer, InstanceStatus> STATUS = new MapStateDescriptor<>(
            "instance-status", TypeInformation.of(Integer.class), TypeInformation.of(InstanceStatus.class));

    private final int instances;
    private final double[] latencyCoefficients;
    private transient LoadTracker tracker;
    private transient LatencyModel estimator;
    private transient boolean restored;

    /**
     * @param latencyCoefficients the instances' latency model (c0..c4, b0..b2), to estimate a
     *     request's prefill work the way the instances will
     */
    public RouterFunction(int instances, double[] latencyCoefficients) {
        this.instances = instances;
        this.latencyCoefficients = latencyCoefficients.clone();
    }

    @Override
    public void open(OpenContext openContext) {
        tracker = new LoadTracker(instances);
        estimator = new LatencyModel(latencyCoefficients, 1, 1);
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
        double estimateMs = estimator.prefillChunkMs(request.promptTokens.length, 0);
        request.instance = tracker.route(estimateMs, ctx.currentProcessingTime());
        out.collect(request);
    }

    @Override
    public void processBroadcastElement(InstanceStatus status, Context ctx, Collector<AdmittedRequest> out)
            throws Exception {
        if (status.getInstance() < 0 || status.getInstance() >= instances) {
            return; // a status from a differently sized deployment on the same topic
        }
        ctx.getBroadcastState(STATUS).put(status.getInstance(), status);
        report(status);
    }

    private void report(InstanceStatus status) {
        tracker.report(status.getInstance(), status.getBacklogMs(), status.getReportedAt().toEpochMilli());
    }
}
