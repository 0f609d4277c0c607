package io.sluice.gpu.exec;

import java.lang.management.ManagementFactory;
import java.lang.management.ThreadMXBean;
import java.util.Arrays;
import java.util.Locale;

/**
 * Wall time an executor spent in each phase of its forward passes, summed over calls: where a step's time goes. Each
 * phase is timed on the calling thread around its whole parallel region, so a phase's time includes the hand-off to
 * the workers and the wait for the slowest one.
 */
public final class StepPhases {

    /** The phases of a forward pass, in order. */
    public enum Phase {
        /** Embedding rows, validation, block reservation, laying the batch out. */
        SETUP,
        /** RMSNorm before attention and before the feed-forward block, and the final one. */
        RMSNORM,
        /** The q, k, v projections, RoPE on q and k, k and v into the cache. */
        QKV,
        /** Scores, softmax and the weighted sum of values. */
        ATTENTION,
        /** The attention output projection, added to the residual stream. */
        WO,
        /** The feed-forward up and gate projections (W1, W3) and SwiGLU. */
        FFN_UP,
        /** The feed-forward down projection (W2), added to the residual stream. */
        FFN_DOWN,
        /** The classifier GEMM. */
        CLASSIFIER,
        /** Picking the next tokens, copying logits, the outputs. */
        SAMPLE
    }

    private static final Phase[] PHASES = Phase.values();

    private static final ThreadMXBean THREADS = ManagementFactory.getThreadMXBean();

    private final long[] nanos = new long[PHASES.length];
    private final boolean threadCpu;
    private long calls;

    /** Phases in wall time. */
    public StepPhases() {
        this(false);
    }

    private StepPhases(boolean threadCpu) {
        this.threadCpu = threadCpu;
    }

    /**
     * Phases in CPU time of the calling thread: with one worker thread, a measure that a busy machine does not
     * inflate (a descheduled thread's CPU clock stops). Reading it is a system call, about a microsecond.
     */
    public static StepPhases threadCpu() {
        return new StepPhases(true);
    }

    long clock() {
        return threadCpu ? THREADS.getCurrentThreadCpuTime() : System.nanoTime();
    }

    void add(Phase phase, long elapsedNanos) {
        nanos[phase.ordinal()] += elapsedNanos;
    }

    void countCall() {
        calls++;
    }

    /** Total nanoseconds in {@code phase}. */
    public long nanos(Phase phase) {
        return nanos[phase.ordinal()];
    }

    /** Total nanoseconds over every phase. */
    public long totalNanos() {
        return Arrays.stream(nanos).sum();
    }

    /** Executor calls timed. */
    public long calls() {
        return calls;
    }

    /** Forgets everything measured so far. */
    public void reset() {
        Arrays.fill(nanos, 0);
        calls = 0;
    }

    /** One line per phase: milliseconds per call and share of the total. */
    @Override
    public String toString() {
        StringBuilder b = new StringBuilder();
        double total = Math.max(1, totalNanos());
        double perCall = Math.max(1, calls);
        for (Phase p : PHASES) {
            b.append(String.format(Locale.ROOT, "%-10s %8.3f ms %5.1f%%%n", p.name().toLowerCase(
                    Locale.ROOT), nanos(p) / 1e6 / perCall, 100 * nanos(p) / total));
        }
        b.append(String.format(Locale.ROOT, "%-10s %8.3f ms (%d calls)%n", "total", totalNanos() / 1e6 / perCall,
                calls));
        return b.toString();
    }
}
