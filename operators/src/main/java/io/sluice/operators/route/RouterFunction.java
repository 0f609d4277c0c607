package io.sluice.operators.route;

import io.sluice.operators.ingest.AdmittedRequest;
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
 * from it. The decision is {@link NewRequestRouter}'s: the simulator's rule, read from the reports. Under PD
 * separation new requests go to the prefill instances (global ids 0..P-1), or in hybrid mode a short prompt whose
 * TTFT no prefill instance can meet to a decode instance with slack (its id is then P + its index).
 */
public final class RouterFunction extends BroadcastProcessFunction<AdmittedRequest, InstanceStatus, AdmittedRequest> {
    private static final long serialVersionUID = 1L;

    /** Broadcast state: the latest status of each instance. */
    public static final MapStateDescriptor<Integer, InstanceStatus> STATUS = new MapStateDescriptor<>(
            "instance-status", TypeInformation.of(Integer.class), TypeInformation.of(InstanceStatus.class));

    private final int instances;
    private final int decodeInstances;
    private final RouterOptions options;
    private final double[] latencyCoefficients;
    private transient NewRequestRouter router;
    private transient boolean restored;

    /**
     * @param latencyCoefficients the instances' latency model (c0..c4, b0..b4), to estimate a
     *     request's prefill work the way the instances will
     */
    public RouterFunction(int instances, double[] latencyCoefficients) {
        this(instances, 0, latencyCoefficients, RouterOptions.defaults().withHybrid(false));
    }

    /**
     * @param instances       the instances new requests go to (the prefill pool under PD separation)
     * @param decodeInstances the decode pool (global ids after the prefill ones); 0 when colocated
     * @param options         the job's router options; {@link RouterOptions#hybrid()}: whether short prefills may
     *                        go to decode instances with slack
     */
    public RouterFunction(int instances, int decodeInstances, double[] latencyCoefficients, RouterOptions options) {
        // Built once here too, so that bad options fail when the job is built, not when it runs.
        new NewRequestRouter(instances, decodeInstances, latencyCoefficients, options);
        this.instances = instances;
        this.decodeInstances = decodeInstances;
        this.options = options;
        this.latencyCoefficients = latencyCoefficients.clone();
    }

    @Override
    public void open(OpenContext openContext) {
        router = new NewRequestRouter(instances, decodeInstances, latencyCoefficients, options);
    }

    @Override
    public void processElement(AdmittedRequest request, ReadOnlyContext ctx, Collector<AdmittedRequest> out)
            throws Exception {
        if (!restored) {
            // After a restore, start from the statuses that were checkpointed.
            for (var entry : ctx.getBroadcastState(STATUS).immutableEntries()) {
                router.report(entry.getValue());
            }
            restored = true;
        }
        request.instance = router.route(request, ctx.currentProcessingTime());
        out.collect(request);
    }

    @Override
    public void processBroadcastElement(InstanceStatus status, Context ctx, Collector<AdmittedRequest> out)
            throws Exception {
        if (status.getInstance() < 0 || status.getInstance() >= instances + decodeInstances) {
            return; // a status from a differently sized deployment on the same topic
        }
        ctx.getBroadcastState(STATUS).put(status.getInstance(), status);
        router.report(status);
    }
}
