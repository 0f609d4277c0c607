package io.sluice.job.sim;

import io.sluice.scheduling.BatchPlan;
import io.sluice.scheduling.Request;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/** Records what the simulator's invariants need: each request's endings, the batches, the order of time. */
final class SimulationRecorder implements Simulator.Listener {
    final Map<String, Integer> endings = new HashMap<>();
    final Map<String, Request> requests = new HashMap<>();
    final Map<Integer, Double> lastEnd = new HashMap<>();
    final List<double[]> batches = new ArrayList<>();
    /** Requests that finished still holding device or host KV blocks. */
    final List<String> heldBlocks = new ArrayList<>();
    double lastEventTime = Double.NEGATIVE_INFINITY;
    boolean overlapped;
    boolean timeWentBack;

    @Override
    public void batch(int instance, double startMs, double endMs, BatchPlan plan) {
        batches.add(new double[] {instance, startMs, endMs});
        if (startMs < lastEnd.getOrDefault(instance, Double.NEGATIVE_INFINITY) || endMs < startMs) {
            overlapped = true;
        }
        lastEnd.put(instance, endMs);
        observe(endMs);
    }

    @Override
    public void finished(Request request, double nowMs) {
        endings.merge(request.id(), 1, Integer::sum);
        requests.put(request.id(), request);
        if (request.kvBlocks() != 0 || request.hostBlocks() != 0) {
            heldBlocks.add(request + " ended holding " + request.kvBlocks() + " device and " + request.hostBlocks()
                    + " host blocks");
        }
        observe(nowMs);
    }

    @Override
    public void refused(Request request, double nowMs) {
        endings.merge(request.id(), 1, Integer::sum);
        observe(nowMs);
    }

    private void observe(double t) {
        if (t < lastEventTime) {
            timeWentBack = true;
        }
        lastEventTime = t;
    }
}
