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
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.atomic.AtomicLong;

/**
 * A comparison of policies on one trace: each policy at the requested load, optionally its
 * capacity (largest load with attainment >= target) and every policy at a reference load (where
 * a reference policy, fcfs by default, attains a given level). Progress goes to {@code progress}.
 * Independent runs (the reference search, each policy's sweep, each policy at the reference load)
 * run in parallel; each run itself is single-threaded and deterministic.
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
    private final int threads;
    private final AtomicLong simulatedRequests = new AtomicLong();
    private final AtomicLong simulatedBatches = new AtomicLong();
    private final AtomicLong simulatedCpuNanos = new AtomicLong();
    /** Runs by policy and scale, for {@link #simulate} to reuse. */
    private final ConcurrentHashMap<RunKey, CompletableFuture<Simulator.Result>> runs = new ConcurrentHashMap<>();

    private record RunKey(String policy, double scale) {}
    private static final ThreadMXBean CPU = ManagementFactory.getThreadMXBean();

    /** A study that runs on as many threads as there are processors. */
    public SimulationStudy(Simulator simulator, List<TraceRecord> trace, int[] classes, PrintWriter progress) {
        this(simulator, trace, classes, progress, Runtime.getRuntime().availableProcessors());
    }

    /** A study that runs up to {@code threads} simulations at once (the outcome is the same for any count). */
    public SimulationStudy(Simulator simulator, List<TraceRecord> trace, int[] classes, PrintWriter progress,
            int threads) {
        if (threads < 1) {
            throw new IllegalArgumentException("need at least 1 simulation thread, got " + threads);
        }
        this.threads = threads;
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
        // Every run is independent and deterministic (its own instances, policies and estimator
        // copies), so runs go to a pool; the outcome is assembled in the caller's order and does not
        // depend on the thread count, only the progress lines interleave.
        ExecutorService pool = Executors.newFixedThreadPool(Math.min(threads, policies.size() + 1), r -> {
            Thread t = new Thread(r, "simulate");
            t.setDaemon(true);
            return t;
        });
        try {
            Future<Double> reference = referencePolicy == null ? null : pool.submit(() -> {
                Sweep.Result ref = new Sweep(0.01).search(s -> probe(referencePolicy, s, referenceAttainment),
                        referenceAttainment);
                Double scale = ref.capacity() > 0 ? ref.capacity() : null;
                progress.printf(Locale.ROOT, "reference load: %s attains %.0f %% at rate scale %s%n", referencePolicy,
                        100 * referenceAttainment, scale == null ? "(none found)" : fmt(scale));
                return scale;
            });
            List<Future<Entry>> partial = new ArrayList<>();
            for (String policy : policies) {
                partial.add(pool.submit(() -> entry(policy, rateScale, sweep, target, keepTtft)));
            }
            Double referenceScale = reference == null ? null : get(reference);
            List<Future<PolicyReport>> atReference = new ArrayList<>();
            for (String policy : policies) {
                atReference.add(referenceScale == null ? null
                        : pool.submit(() -> simulate(policy, referenceScale, false, Long.MAX_VALUE).report()));
            }
            List<Entry> entries = new ArrayList<>();
            for (int i = 0; i < policies.size(); i++) {
                Entry e = get(partial.get(i));
                PolicyReport atRef = atReference.get(i) == null ? null : get(atReference.get(i));
                List<Sweep.Point> points = e.points();
                if (atRef != null) {
                    TreeMap<Double, Sweep.Point> byScale = new TreeMap<>();
                    points.forEach(p -> byScale.put(p.rateScale(), p));
                    byScale.putIfAbsent(referenceScale,
                            new Sweep.Point(referenceScale, atRef, atRef.attainment(), false));
                    points = List.copyOf(byScale.values());
                }
                entries.add(new Entry(e.report(), e.capacity(), atRef, points, e.ttftByClass()));
            }
            return new Outcome(entries, referenceScale, simulatedRequests.get(), simulatedBatches.get(),
                    (System.nanoTime() - start) / 1e9, simulatedCpuNanos.get() / 1e9);
        } finally {
            pool.shutdownNow();
        }
    }

    /** One policy at the requested load, and its capacity when sweeping; no reference load yet. */
    private Entry entry(String policy, double rateScale, boolean sweep, double target, boolean keepTtft) {
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
        PolicyReport report = capacity == null ? base.report() : base.report().withCapacity(capacity);
        return new Entry(report, capacity, null, List.copyOf(points.values()), ttft);
    }

    private static <T> T get(Future<T> f) {
        try {
            return f.get();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException("interrupted while simulating", e);
        } catch (ExecutionException e) {
            Throwable cause = e.getCause();
            if (cause instanceof RuntimeException re) {
                throw re;
            }
            if (cause instanceof Error err) {
                throw err;
            }
            throw new IllegalStateException(cause);
        }
    }

    /** A sweep point: stops the run once the target can no longer be reached. */
    private Sweep.Point probe(String policy, double scale, double target) {
        long maxMisses = (long) Math.floor((1 - target) * trace.size());
        Simulator.Result r = simulate(policy, scale, false, maxMisses);
        return new Sweep.Point(scale, r.report(), r.attainmentBound(trace.size()), r.stoppedEarly());
    }

    /**
     * One run, or an earlier run of the same policy at the same scale when that one tells the same
     * story: a run is deterministic, so a complete run with at most {@code maxMisses} misses is
     * exactly what a run that stops past {@code maxMisses} would have done (misses only grow). A
     * sweep starts at the requested load and the reference search probes the reference policy at the
     * same scales; without this, the lightest and slowest loads would run two or three times.
     */
    private Simulator.Result simulate(String policy, double scale, boolean keepTtft, long maxMisses) {
        RunKey key = new RunKey(policy, scale);
        CompletableFuture<Simulator.Result> mine = new CompletableFuture<>();
        CompletableFuture<Simulator.Result> earlier = runs.putIfAbsent(key, mine);
        if (earlier != null) {
            // Waiting is safe: a future is registered only by the thread that runs it.
            Simulator.Result r = join(earlier);
            if (!r.stoppedEarly() && r.metrics().misses() <= maxMisses && (!keepTtft || r.metrics().keepsTtftSamples())) {
                progress.printf(Locale.ROOT, "  %-13s x%-9s attainment   %5.1f %%  (the same run as before)%n", policy,
                        fmt(scale), 100 * r.attainmentBound(trace.size()));
                progress.flush();
                return r;
            }
        }
        Simulator.Result r;
        try {
            r = run(policy, scale, keepTtft, maxMisses);
        } catch (RuntimeException | Error e) {
            mine.completeExceptionally(e);
            throw e;
        }
        if (earlier == null) {
            mine.complete(r);
        } else if (!r.stoppedEarly()) {
            runs.put(key, CompletableFuture.completedFuture(r));
        }
        return r;
    }

    private static Simulator.Result join(CompletableFuture<Simulator.Result> f) {
        try {
            return f.join();
        } catch (CompletionException e) {
            if (e.getCause() instanceof RuntimeException re) {
                throw re;
            }
            if (e.getCause() instanceof Error err) {
                throw err;
            }
            throw e;
        }
    }

    private Simulator.Result run(String policy, double scale, boolean keepTtft, long maxMisses) {
        long t0 = System.nanoTime();
        long cpu0 = CPU.getCurrentThreadCpuTime();
        Simulator.Result r = simulator.run(policy, trace, classes, scale, keepTtft, null, maxMisses);
        // Throughput counts the requests actually simulated: a run stopped early did not get through all.
        long simulated = r.stoppedEarly() ? r.report().requests() : trace.size();
        simulatedRequests.addAndGet(simulated);
        double wall = (System.nanoTime() - t0) / 1e9;
        // CPU time too: on a shared machine wall time measures the neighbours as much as the simulator.
        long cpuNanos = CPU.getCurrentThreadCpuTime() - cpu0;
        double cpu = cpuNanos / 1e9;
        simulatedBatches.addAndGet(r.batches());
        simulatedCpuNanos.addAndGet(cpuNanos);
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
