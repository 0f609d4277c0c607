package io.sluice.job.sim;

import java.io.PrintWriter;
import java.lang.management.ManagementFactory;
import java.lang.management.ThreadMXBean;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Objects;
import java.util.TreeMap;
import java.util.concurrent.Callable;
import java.util.concurrent.CancellationException;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.Future;
import java.util.concurrent.FutureTask;
import java.util.concurrent.PriorityBlockingQueue;
import java.util.concurrent.RunnableFuture;
import java.util.concurrent.ThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;

/**
 * A comparison of policies on one trace: each policy at the requested load, optionally its
 * capacity (largest load with attainment >= target) and every policy at a reference load (where
 * a reference policy, fcfs by default, attains a given level). Progress goes to {@code progress}.
 * Independent runs (the reference search, each policy's sweep, each policy at the reference load)
 * run in parallel; each run itself is single-threaded and deterministic.
 *
 * <p>A thread with nothing else to do runs ahead of a search: the next probe of a bisection is one
 * of two scales, known before the current probe ends, so it simulates one of them. Without that,
 * the last search runs alone and one core idles for its last several probes. A probe run ahead is
 * the same deterministic run the search would make, so the outcome does not change; one the search
 * turns out not to need is cancelled, and only the runs a search uses count as simulated requests
 * (their CPU time counts either way).
 */
public final class SimulationStudy {

    /** One policy's results in the study. */
    public record Entry(PolicyReport report, Double capacity, PolicyReport atReference, List<Sweep.Point> points,
            Map<String, double[]> ttftByClass) {}

    /** The whole study; {@code referenceScale} is null when no reference load was searched. */
    public record Outcome(List<Entry> entries, Double referenceScale, long simulatedRequests, long simulatedBatches,
            double wallSeconds, double cpuSeconds) {

        /** Simulated requests per second of wall time. */
        public double requestsPerSecond() {
            return simulatedRequests / wallSeconds;
        }

        /**
         * Whether {@code o} reports the same results: every policy's reports, capacity and sweep points, and the
         * reference load: what a report shows. Not the timings, nor the TTFT samples kept for plots.
         */
        public boolean sameResults(Outcome o) {
            if (!Objects.equals(referenceScale, o.referenceScale) || entries.size() != o.entries.size()) {
                return false;
            }
            for (int i = 0; i < entries.size(); i++) {
                Entry a = entries.get(i);
                Entry b = o.entries.get(i);
                if (!a.report().equals(b.report()) || !Objects.equals(a.capacity(), b.capacity())
                        || !Objects.equals(a.atReference(), b.atReference()) || !a.points().equals(b.points())) {
                    return false;
                }
            }
            return true;
        }
    }

    private final Simulator simulator;
    private final List<TraceRecord> trace;
    private final int[] classes;
    private final PrintWriter progress;
    private final int threads;
    private final AtomicLong simulatedRequests = new AtomicLong();
    private final AtomicLong simulatedBatches = new AtomicLong();
    private final AtomicLong simulatedCpuNanos = new AtomicLong();
    /**
     * Runs by policy and scale, for {@link #simulate} to reuse; a future completes with null when it
     * was a run ahead that got cancelled.
     */
    private final ConcurrentHashMap<RunKey, CompletableFuture<Done>> runs = new ConcurrentHashMap<>();
    /** Searches in progress, in the order they started; guarded by {@code this}. */
    private final List<Search> searches = new ArrayList<>();
    private final Sweep sweep = new Sweep(0.01);
    private final AtomicInteger queuedHelpers = new AtomicInteger();
    private final AtomicLong taskSeq = new AtomicLong();
    private ThreadPoolExecutor pool;
    /** Set once the study's first tasks are queued: no run ahead takes a thread before they have. */
    private volatile boolean started;

    private record RunKey(String policy, double scale) {}

    /**
     * A finished run: the miss limit it ran under, and whether its requests were counted as
     * simulated (a run made ahead of its search counts when a search first uses it).
     */
    private record Done(Simulator.Result result, long maxMisses, AtomicBoolean counted) {}

    /** A capacity search in progress: the probe it runs or waits for now ({@code null} once over). */
    private static final class Search {
        final String policy;
        final double target;
        final long maxMisses;
        Sweep.State current;
        final List<Ahead> ahead = new ArrayList<>();

        Search(String policy, double target, long maxMisses) {
            this.policy = policy;
            this.target = target;
            this.maxMisses = maxMisses;
        }
    }

    /** A probe run ahead of its search. */
    private static final class Ahead {
        final Search search;
        final double scale;
        final CompletableFuture<Done> future;
        volatile boolean cancelled;

        Ahead(Search search, double scale, CompletableFuture<Done> future) {
            this.search = search;
            this.scale = scale;
            this.future = future;
        }
    }
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
        int size = Math.min(threads, policies.size() + 1);
        pool = new ThreadPoolExecutor(size, size, 0, TimeUnit.MILLISECONDS, new PriorityBlockingQueue<>(), r -> {
            Thread t = new Thread(r, "simulate");
            t.setDaemon(true);
            return t;
        }) {
            // Every task is ranked: the study's own runs first, in submission order, runs ahead last.
            @Override
            protected <T> RunnableFuture<T> newTaskFor(Callable<T> callable) {
                return new Task<>(callable, 0, taskSeq.getAndIncrement());
            }
        };
        try {
            Future<Double> reference = referencePolicy == null ? null : pool.submit(() -> {
                Sweep.Result ref = search(referencePolicy, referenceAttainment);
                Double scale = ref.capacity() > 0 ? ref.capacity() : null;
                progress.printf(Locale.ROOT, "reference load: %s attains %.0f %% at rate scale %s%n", referencePolicy,
                        100 * referenceAttainment, scale == null ? "(none found)" : fmt(scale));
                return scale;
            });
            List<Future<Entry>> partial = new ArrayList<>();
            for (String policy : policies) {
                partial.add(pool.submit(() -> entry(policy, rateScale, sweep, target, keepTtft)));
            }
            started = true;
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
                    points = withPoint(points, new Sweep.Point(referenceScale, atRef, atRef.attainment(), false));
                }
                entries.add(new Entry(e.report(), e.capacity(), atRef, points, e.ttftByClass()));
            }
            return new Outcome(entries, referenceScale, simulatedRequests.get(), simulatedBatches.get(),
                    (System.nanoTime() - start) / 1e9, simulatedCpuNanos.get() / 1e9);
        } finally {
            synchronized (this) {
                for (Search search : searches) {
                    moveTo(search, null);
                }
            }
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
            Sweep.Result r = search(policy, target);
            capacity = r.capacity();
            r.points().forEach(p -> add(points, p));
            progress.printf(Locale.ROOT, "%s: capacity %s (attainment >= %.0f %%)%n", policy, fmt(capacity), 100 * target);
        }
        PolicyReport report = capacity == null ? base.report() : base.report().withCapacity(capacity);
        return new Entry(report, capacity, null, List.copyOf(points.values()), ttft);
    }

    /**
     * {@code points} (sorted by scale) with {@code p} added: where a point has its scale already, a
     * complete run replaces one stopped early (a measurement beats a bound), never the other way.
     */
    static List<Sweep.Point> withPoint(List<Sweep.Point> points, Sweep.Point p) {
        TreeMap<Double, Sweep.Point> byScale = new TreeMap<>();
        points.forEach(q -> add(byScale, q));
        add(byScale, p);
        return List.copyOf(byScale.values());
    }

    private static void add(TreeMap<Double, Sweep.Point> byScale, Sweep.Point p) {
        byScale.merge(p.rateScale(), p, (had, q) -> had.stoppedEarly() && !q.stoppedEarly() ? q : had);
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

    /**
     * The capacity search of {@code policy}: {@link Sweep#search}, step by step, so that idle threads
     * can see which probes may come next.
     */
    private Sweep.Result search(String policy, double target) {
        Search search = new Search(policy, target, maxMisses(target));
        synchronized (this) {
            searches.add(search);
        }
        List<Sweep.Point> points = new ArrayList<>();
        Sweep.State state = sweep.start();
        while (!state.done()) {
            synchronized (this) {
                moveTo(search, state);
            }
            helpLater();
            Sweep.Point p = probe(policy, state.next(), target);
            points.add(p);
            state = sweep.after(state, p.attainment() >= target);
        }
        synchronized (this) {
            moveTo(search, null);
        }
        return Sweep.result(state.capacity(), points);
    }

    /** Sets the probe {@code search} runs or waits for, and cancels the runs ahead it no longer needs. */
    private void moveTo(Search search, Sweep.State state) {
        search.current = state;
        for (Ahead a : search.ahead) {
            if (state == null || a.scale != state.next()) {
                a.cancelled = true;
            }
        }
    }

    /** Queues a helper that runs a probe ahead when a thread has nothing else to do. */
    private void helpLater() {
        if (started && queuedHelpers.get() < threads) {
            queuedHelpers.incrementAndGet();
            try {
                pool.execute(new Task<Void>(() -> {
                    queuedHelpers.decrementAndGet();
                    runAhead();
                    return null;
                }, 1, taskSeq.getAndIncrement()));
            } catch (java.util.concurrent.RejectedExecutionException e) {
                queuedHelpers.decrementAndGet(); // the study is over
            }
        }
    }

    /**
     * Runs one probe ahead of a search: one of the two probes that may follow the one a search runs
     * now, the one at the lower load first (it is the longer run: a probe that fails stops early).
     */
    private void runAhead() {
        Ahead ahead = null;
        synchronized (this) {
            for (int i = 0; i < searches.size() && ahead == null; i++) {
                Search search = searches.get(i);
                if (search.current == null) {
                    continue;
                }
                for (boolean passed : new boolean[] {false, true}) {
                    Sweep.State next = sweep.after(search.current, passed);
                    if (next.done()) {
                        continue;
                    }
                    RunKey key = new RunKey(search.policy, next.next());
                    CompletableFuture<Done> future = new CompletableFuture<>();
                    if (runs.putIfAbsent(key, future) == null) {
                        ahead = new Ahead(search, next.next(), future);
                        search.ahead.add(ahead);
                        break;
                    }
                }
            }
        }
        if (ahead == null) {
            return;
        }
        Ahead a = ahead;
        Search search = a.search;
        long cpu0 = CPU.getCurrentThreadCpuTime();
        try {
            Simulator.Result r = run(search.policy, a.scale, false, search.maxMisses, new Simulator.Listener() {
                @Override
                public void batch(int instance, double startMs, double endMs, io.sluice.scheduling.BatchPlan plan) {
                    if (a.cancelled) {
                        throw new CancellationException();
                    }
                }
            });
            a.future.complete(new Done(r, search.maxMisses, new AtomicBoolean()));
        } catch (CancellationException e) {
            runs.remove(new RunKey(search.policy, a.scale), a.future);
            a.future.complete(null);
            progress.printf(Locale.ROOT, "  %-13s x%-9s (run ahead, not needed: cancelled after %.2f s CPU)%n",
                    search.policy, fmt(a.scale), (CPU.getCurrentThreadCpuTime() - cpu0) / 1e9);
            progress.flush();
        } catch (RuntimeException | Error e) {
            a.future.completeExceptionally(e);
            throw e;
        } finally {
            synchronized (this) {
                search.ahead.remove(a);
            }
        }
        helpLater();
    }

    private long maxMisses(double target) {
        return maxMisses(target, trace.size());
    }

    /**
     * The most misses with which {@code n} requests still reach {@code target}, by the comparison a sweep makes
     * ({@code (n - misses) / n >= target}): a run stopped at one more miss is a fail. Not the floor of
     * {@code (1 - target) * n} alone, which rounds: (1 - 0.9) * 300 is just under 30.
     */
    static long maxMisses(double target, int n) {
        long m = Math.max(0, Math.min(n, (long) Math.floor((1 - target) * n)));
        while (m > 0 && (double) (n - m) / n < target) {
            m--;
        }
        while (m < n && (double) (n - m - 1) / n >= target) {
            m++;
        }
        return m;
    }

    /** A sweep point: stops the run once the target can no longer be reached. */
    private Sweep.Point probe(String policy, double scale, double target) {
        Simulator.Result r = simulate(policy, scale, false, maxMisses(target));
        return new Sweep.Point(scale, r.report(), r.attainmentBound(trace.size()), r.stoppedEarly());
    }

    /**
     * One run, or an earlier run of the same policy at the same scale when that one tells the same
     * story: a run is deterministic, so a complete run with at most {@code maxMisses} misses is
     * exactly what a run that stops past {@code maxMisses} would have done (misses only grow), and
     * so is a run stopped under the same limit. A sweep starts at the requested load and the
     * reference search probes the reference policy at the same scales; without this, the lightest
     * and slowest loads would run two or three times.
     */
    private Simulator.Result simulate(String policy, double scale, boolean keepTtft, long maxMisses) {
        RunKey key = new RunKey(policy, scale);
        CompletableFuture<Done> mine = new CompletableFuture<>();
        CompletableFuture<Done> earlier = runs.putIfAbsent(key, mine);
        if (earlier != null) {
            // Waiting is safe: a future is registered only by the thread that runs it.
            Done d = join(earlier);
            Simulator.Result r = d == null ? null : d.result();
            if (r != null && (!keepTtft || r.metrics().keepsTtftSamples())
                    && (r.stoppedEarly() ? d.maxMisses() == maxMisses : r.metrics().misses() <= maxMisses)) {
                boolean ahead = d.counted().compareAndSet(false, true);
                if (ahead) {
                    count(r);
                }
                progress.printf(Locale.ROOT, "  %-13s x%-9s attainment %s%5.1f %%  (%s)%n", policy, fmt(scale),
                        r.stoppedEarly() ? "<=" : "  ", 100 * r.attainmentBound(trace.size()),
                        ahead ? "the run made ahead" : "the same run as before");
                progress.flush();
                return r;
            }
        }
        Simulator.Result r;
        try {
            r = run(policy, scale, keepTtft, maxMisses, null);
        } catch (RuntimeException | Error e) {
            mine.completeExceptionally(e);
            throw e;
        }
        count(r);
        Done d = new Done(r, maxMisses, new AtomicBoolean(true));
        if (earlier == null) {
            mine.complete(d);
        } else if (!r.stoppedEarly()) {
            runs.put(key, CompletableFuture.completedFuture(d));
        }
        return r;
    }

    /** Counts a run the study uses as simulated work. */
    private void count(Simulator.Result r) {
        // Throughput counts the requests actually simulated: a run stopped early did not get through all.
        simulatedRequests.addAndGet(r.stoppedEarly() ? r.report().requests() : trace.size());
        simulatedBatches.addAndGet(r.batches());
    }

    private static Done join(CompletableFuture<Done> f) {
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

    private Simulator.Result run(String policy, double scale, boolean keepTtft, long maxMisses,
            Simulator.Listener listener) {
        long t0 = System.nanoTime();
        long cpu0 = CPU.getCurrentThreadCpuTime();
        Simulator.Result r;
        try {
            r = simulator.run(policy, trace, classes, scale, keepTtft, listener, maxMisses);
        } finally {
            // CPU time too, of every run (a cancelled run ahead included): on a shared machine wall time
            // measures the neighbours as much as the simulator.
            simulatedCpuNanos.addAndGet(CPU.getCurrentThreadCpuTime() - cpu0);
        }
        long simulated = r.stoppedEarly() ? r.report().requests() : trace.size();
        double wall = (System.nanoTime() - t0) / 1e9;
        double cpu = (CPU.getCurrentThreadCpuTime() - cpu0) / 1e9;
        progress.printf(Locale.ROOT,
                "  %-13s x%-9s attainment %s%5.1f %%  (%d requests, %d batches, %.2f s wall, %.2f s CPU: "
                        + "%.0f req/s, %.0f batches/s of CPU)%s%s%n",
                policy, fmt(scale), r.stoppedEarly() ? "<=" : "  ", 100 * r.attainmentBound(trace.size()), simulated,
                r.batches(), wall, cpu, simulated / cpu, r.batches() / cpu,
                r.stalled() > 0 ? "  " + r.stalled() + " stalled" : "", listener != null ? "  (run ahead)" : "");
        progress.flush();
        return r;
    }

    /** A pool task ranked by {@code rank} (lower first), then by submission. */
    private static final class Task<T> extends FutureTask<T> implements Comparable<Task<?>> {
        private final int rank;
        private final long seq;

        Task(Callable<T> callable, int rank, long seq) {
            super(callable);
            this.rank = rank;
            this.seq = seq;
        }

        @Override
        public int compareTo(Task<?> o) {
            return rank != o.rank ? Integer.compare(rank, o.rank) : Long.compare(seq, o.seq);
        }
    }

    static String fmt(double scale) {
        return String.format(Locale.ROOT, "%.4g", scale);
    }
}
