package io.sluice.operators.route;

import io.sluice.scheduling.LatencyModel;
import io.sluice.scheduling.RouterOptions;
import io.sluice.scheduling.RoutingRules;
import java.util.ArrayDeque;
import java.util.OptionalInt;

/**
 * A prefill instance's view of the decode instances, for placing finished prefills by the router's rule
 * ({@link RoutingRules#pickDecode}, as the simulator's {@code Router} places them) read from the far side of Kafka.
 * Each decode instance's last report (free blocks, running sequences, estimated step) is advanced by the handoffs
 * this prefill instance sent it since: their blocks are taken off its free ones and the sequences added to its step
 * through the latency model. An instance stops admitting when its free fraction falls under {@code freeStop} and
 * resumes over {@code freeResume} ({@link RoutingRules#admits}). An instance that never reported counts as empty,
 * with the pool every instance of the job has: the thresholds then hold from the first handoff, so a burst at start-up
 * spreads instead of all going to the first instance until the reports come in. Pure logic; not thread-safe.
 */
public final class DecodePlacement {

    private final RouterOptions options;
    private final LatencyModel estimator;
    private final int[] reportedFree;
    private final int[] total;
    private final int[] reportedRunning;
    private final double[] reportedStepMs;
    private final long[] reportedAtMs;
    private final ArrayDeque<long[]>[] sentSince; // per instance: {sentAtMs, blocks, contextTokens}
    private final int[] sentBlocks;
    private final int[] sentSequences;
    private final long[] sentContext;
    private final boolean[] admitting;

    /**
     * @param blocksPerInstance KV blocks of a decode instance's pool, assumed of one that has not reported yet
     * @param estimator the latency model the added sequences' step cost is estimated with (the instances' starting
     *     one: only the per-sequence terms are used, the rest comes from the decode instance's report)
     */
    @SuppressWarnings("unchecked")
    public DecodePlacement(int instances, int blocksPerInstance, RouterOptions options, LatencyModel estimator) {
        if (instances < 1) {
            throw new IllegalArgumentException("need at least one decode instance, got " + instances);
        }
        if (blocksPerInstance < 1) {
            throw new IllegalArgumentException("a decode instance needs at least one KV block, got " + blocksPerInstance);
        }
        if (options == null || estimator == null) {
            throw new IllegalArgumentException("decode placement needs the router options and a latency model");
        }
        this.options = options;
        this.estimator = estimator;
        reportedFree = new int[instances];
        total = new int[instances];
        reportedRunning = new int[instances];
        reportedStepMs = new double[instances];
        reportedAtMs = new long[instances];
        sentSince = new ArrayDeque[instances];
        sentBlocks = new int[instances];
        sentSequences = new int[instances];
        sentContext = new long[instances];
        admitting = new boolean[instances];
        for (int i = 0; i < instances; i++) {
            reportedFree[i] = blocksPerInstance;
            total[i] = blocksPerInstance;
            reportedAtMs[i] = Long.MIN_VALUE;
            sentSince[i] = new ArrayDeque<>();
            admitting[i] = true;
        }
    }

    public int instances() {
        return reportedFree.length;
    }

    /**
     * A decode instance's state as of {@code atMs}: free and total blocks, sequences decoding and the estimated
     * step over them. Handoffs sent before then are in it.
     */
    public void report(int instance, int freeBlocks, int totalBlocks, int runningSequences, double stepMs, long atMs) {
        if (instance < 0 || instance >= instances() || atMs < reportedAtMs[instance] || totalBlocks < 1) {
            return; // unknown instance or an out-of-order report: the newer one stands
        }
        reportedFree[instance] = Math.max(0, freeBlocks);
        total[instance] = totalBlocks;
        reportedRunning[instance] = Math.max(0, runningSequences);
        reportedStepMs[instance] = Math.max(0, stepMs);
        reportedAtMs[instance] = atMs;
        ArrayDeque<long[]> sent = sentSince[instance];
        while (!sent.isEmpty() && sent.peekFirst()[0] <= atMs) {
            long[] s = sent.pollFirst();
            sentBlocks[instance] -= (int) s[1];
            sentSequences[instance]--;
            sentContext[instance] -= s[2];
        }
        updateAdmission(instance);
    }

    /** Free blocks of an instance as this prefill instance predicts them. */
    public int freeBlocks(int instance) {
        return Math.max(0, reportedFree[instance] - sentBlocks[instance]);
    }

    /** Whether an instance admits handoffs now (dual thresholds). */
    public boolean admitting(int instance) {
        return admitting[instance];
    }

    /** Estimated decode step of an instance once a sequence of {@code contextTokens} joins it. */
    public double stepMsWith(int instance, long contextTokens) {
        return estimator.decodeMsAdding(reportedRunning[instance], reportedStepMs[instance],
                sentSequences[instance] + 1, sentContext[instance] + contextTokens);
    }

    /**
     * The decode instance for a sequence of {@code contextTokens} tokens that needs {@code blocks} blocks at once,
     * by {@link RoutingRules#pickDecode} (the first admitting instance whose step with it meets
     * {@code tpotTargetMs}, else the most free admitting one), recorded as sent there; empty when no instance
     * admits it (every one is above the upper threshold, or too full): the caller keeps the sequence and asks
     * again after the next report.
     */
    public OptionalInt place(int blocks, long contextTokens, double tpotTargetMs, long nowMs) {
        int pick = RoutingRules.pickDecode(instances(), i -> admitting[i] && freeBlocks(i) >= blocks,
                i -> stepMsWith(i, contextTokens), this::freeBlocks, tpotTargetMs);
        if (pick == RoutingRules.NONE) {
            return OptionalInt.empty();
        }
        sentSince[pick].addLast(new long[] {nowMs, blocks, contextTokens});
        sentBlocks[pick] += blocks;
        sentSequences[pick]++;
        sentContext[pick] += contextTokens;
        updateAdmission(pick);
        return OptionalInt.of(pick);
    }

    private void updateAdmission(int i) {
        admitting[i] = RoutingRules.admits(admitting[i], (double) freeBlocks(i) / total[i], options);
    }
}
