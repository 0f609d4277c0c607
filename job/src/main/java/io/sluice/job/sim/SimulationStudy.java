package io.sluice.job.sim;

import java.io.PrintWriter;
import java.lang.management.ManagementFactory;
import java.lang.management.ThreadMXBean;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.TreeMap;

/**
 * A comparison of policies on one trace: each policy at the requested load, optionally its
 * capacity (largest load with attainment >= target) and every policy at a reference load (where
 * a reference policy, fcfs by default, attains a given level). Progress goes to {@code progress}.
 */
public final class SimulationStudy {

    /** One policy's results in the study. */
    public record Entry(PolicyReport report, Double capacity, PolicyReport atReference, List<Sweep.Point> points,
            Map<String, double[]> ttftByClass) {}

    /** The whole study; {@code referenceScale} is null when no reference load was searched. */
    public record Outcome(List<Entry> entries, Double referenceScale, long simulatedRequests, long simulatedBatches,
            double wallSeconds, double cpuSeconds) {}

    private final Simulator simulator;
    private final List<TraceRecord> trace;
    private final int[] classes;
    private final PrintWriter progress;
    private long simulatedRequests;
    private long simulatedBatches;
    private double simulatedCpuSeconds;
    private static final ThreadMXBean CPU = ManagementFactory.getThreadMXBean();

    public SimulationStudy(Simulator simulator, List<TraceRecord> trace, int[] classes, PrintWriter progress) {
        this.simulator = simulator;
        this.trace = trace;
        this.classes = classes;
        this.progress = progress;
    }

    /**
     * Runs the study.
     *
     * @param sweep search each policy's capacity
     * @param target attainment that defines capacity (0.9)
     * @param referencePolicy policy whose attainment defines the reference load, or null for none
     * @param referenceAttainment attainment of the reference policy at the reference load (0.8)
     * @param keepTtft keep TTFT samples at {@code rateScale} for CDF plots
     */
    public Outcome run(List<String> policies, double rateScale, boolean sweep, double target, String referencePolicy,
            double referenceAttainment, boolean keepTtft) {
        long start = System.nanoTime();
        Double referenceScale = null;
        if (referencePolicy != null) {
            Sweep.Result ref = new Sweep(0.01).search(s -> probe(referencePolicy, s, referenceAttainment),
                    referenceAttainment);
            referenceScale = ref.capacity() > 0 ? ref.capacity() : null;
            progress.printf(Locale.ROOT, "reference load: %s attains %.0f %% at rate scale %s%n", referencePolicy,
                    100 * referenceAttainment, referenceScale == null ? "(none found)" : fmt(referenceScale));
        }
        List<Entry> entries = new ArrayList<>();
        for (String policy : policies) {
            Simulator.Result base = simulate(policy, rateScale, keepTtft, Long.MAX_VALUE);
            Map<String, double[]> ttft = new LinkedHashMap<>();
            if (keepTtft) {
                List<ServiceClass> cls = simulator.config().mix().classes();
                for (int i = 0; i < cls.size(); i++) {
                    ttft.put(cls.get(i).name(), base.metrics().sortedTtft(i));
                }
            }
            Double capacity = null;
            // By scale: a sweep starts at 1, which may be the requested load too.
            TreeMap<Double, Sweep.Point> points = new TreeMap<>();
            points.put(rateScale, new Sweep.Point(rateScale, base.report(), base.report().attainment(), false));
            if (sweep) {
                Sweep.Result r = new Sweep(0.01).search(s -> probe(policy, s, target), target);
                capacity = r.capacity();
                r.points().forEach(p -> points.putIfAbsent(p.rateScale(), p));
                progress.printf(Locale.ROOT, "%s: capacity %s (attainment >= %.0f %%)%n", policy, fmt(capacity), 100 * target);
            }
            PolicyReport atRef = referenceScale == null
                    ? null : simulate(policy, referenceScale, false, Long.MAX_VALUE).report();
            if (atRef != null) {
                points.putIfAbsent(referenceScale, new Sweep.Point(referenceScale, atRef, atRef.attainment(), false));
            }
            PolicyReport report = capacity == null ? base.report() : base.report().withCapacity(capacity);
            entries.add(new Entry(report, capacity, atRef, List.copyOf(points.values()), ttft));
        }
        return new Outcome(entries, referenceScale, simulatedRequests, simulatedBatches,
                (System.nanoTime() - start) / 1e9, simulatedCpuSeconds);
    }

    /** A sweep point: stops the run once the target can no longer be reached. */
    private Sweep.Point probe(String policy, double scale, double target) {
        long maxMisses = (long) Math.floor((1 - target) * trace.size());
        Simulator.Result r = simulate(policy, scale, false, maxMisses);
        return new Sweep.Point(scale, r.report(), r.attainmentBound(trace.size()), r.stoppedEarly());
    }

    private Simulator.Result simulate(String policy, double scale, boolean keepTtft, long maxMisses) {
        long t0 = System.nanoTime();
        long cpu0 = CPU.getCurrentThreadCpuTime();
        Simulator.Result r = simulator.run(policy, trace, classes, scale, keepTtft, null, maxMisses);
        // Throughput counts the requests actually simulated: a run stopped early did not get through all.
        long simulated = r.stoppedEarly() ? r.report().requests() : trace.size();
        simulatedRequests += simulated;
        double wall = (System.nanoTime() - t0) / 1e9;
        // CPU time too: on a shared machine wall time measures the neighbours as much as the simulator.
        double cpu = (CPU.getCurrentThreadCpuTime() - cpu0) / 1e9;
        simulatedBatches += r.batches();
        simulatedCpuSeconds += cpu;
        progress.printf(Locale.ROOT,
                "  %-13s x%-9s attainment %s%5.1f %%  (%d requests, %d batches, %.2f s wall, %.2f s CPU: "
                        + "%.0f req/s, %.0f batches/s of CPU)%s%n",
                policy, fmt(scale), r.stoppedEarly() ? "<=" : "  ", 100 * r.attainmentBound(trace.size()), simulated,
                r.batches(), wall, cpu, simulated / cpu, r.batches() / cpu,
                r.stalled() > 0 ? "  " + r.stalled() + " stalled" : "");
        progress.flush();
        return r;
    }

    static String fmt(double scale) {
        return String.format(Locale.ROOT, "%.4g", scale);
    }
}
