package io.sluice.operators.route;

import io.sluice.operators.DecodeLoad;
import io.sluice.scheduling.LatencyModel;
import io.sluice.scheduling.RouterOptions;
import io.sluice.scheduling.RoutingRules;
import java.util.ArrayDeque;
import java.util.OptionalInt;

/**
 * A prefill instance's view of the decode instances, for placing finished prefills by the router's rule
 * ({@link RoutingRules#pickDecode}, as the simulator's {@code Router} places them) read from the far side of Kafka.
 * Each decode instance's last report (free blocks, the blocks of the handoffs queued there and not yet admitted,
 * running sequences, estimated step) is advanced by the handoffs this prefill instance sent it since: their blocks
 * count as inbound too, and the sequences are added to its step through the latency model. Inbound blocks are
 * free in the pool but promised, so admission and room count them ({@link RoutingRules#uncommittedBlocks}): an
 * instance stops admitting when its uncommitted fraction falls under {@code freeStop} and resumes over
 * {@code freeResume} ({@link RoutingRules#admits}). A handoff another prefill instance sent is known only from the
 * next report, and one still on the link when a report is taken only from the report after it. An instance that never reported counts as empty,
 * with the pool every instance of the job has: the thresholds then hold from the first handoff, so a burst at start-up
 * spreads instead of all going to the first instance until the reports come in. A sequence's step must meet the
 * tightest of its TPOT target and the TPOT SLOs of the sequences already there (the reported
 * {@code InstanceState#tightestTpotMs}, tightened by the SLOs of the handoffs sent since), as in the simulator: one
 * more sequence slows their steps too. Pure logic; not thread-safe.
 */
public final class DecodePlacement {

    private final RouterOptions options;
    private final LatencyModel estimator;
    private final int[] reportedFree;
    private final int[] reportedInbound;
    private final int[] total;
    private final int[] reportedRunning;
    private final double[] reportedStepMs;
    private final double[] reportedTightestTpotMs;
    private final long[] reportedAtMs;
    private final ArrayDeque<Sent>[] sentSince; // per instance, oldest first
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
        reportedInbound = new int[instances];
        total = new int[instances];
        reportedRunning = new int[instances];
        reportedStepMs = new double[instances];
        reportedTightestTpotMs = new double[instances];
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
            reportedTightestTpotMs[i] = Double.POSITIVE_INFINITY;
            sentSince[i] = new ArrayDeque<>();
            admitting[i] = true;
        }
    }

    public int instances() {
        return reportedFree.length;
    }

    /** A report of a decode instance with no handoffs queued on it. */
    public void report(int instance, int freeBlocks, int totalBlocks, int runningSequences, double stepMs, long atMs) {
        report(instance, freeBlocks, 0, totalBlocks, runningSequences, stepMs, atMs);
    }

    /**
     * A decode instance's state as of {@code atMs}: free blocks, the blocks its queued handoffs will take on admission
     * ({@code inboundBlocks}), total blocks, sequences decoding and the estimated step over them. Handoffs sent
     * before then are in it (admitted, or queued and counted in {@code inboundBlocks}).
     */
    public void report(int instance, int freeBlocks, int inboundBlocks, int totalBlocks, int runningSequences,
                       double stepMs, long atMs) {
        report(instance, freeBlocks, inboundBlocks, totalBlocks, runningSequences, stepMs, Double.POSITIVE_INFINITY,
                atMs);
    }

    /**
     * As {@link #report(int, int, int, int, int, double, long)}, with the tightest TPOT SLO among the sequences on the
     * instance ({@code InstanceState#tightestTpotMs}; infinite, or anything not positive, when none has one).
     */
    public void report(int instance, int freeBlocks, int inboundBlocks, int totalBlocks, int runningSequences,
                       double stepMs, double tightestTpotMs, long atMs) {
        if (instance < 0 || instance >= instances() || atMs < reportedAtMs[instance] || totalBlocks < 1) {
            return; // unknown instance or an out-of-order report: the newer one stands
        }
        reportedFree[instance] = Math.max(0, freeBlocks);
        reportedInbound[instance] = Math.max(0, inboundBlocks);
        total[instance] = totalBlocks;
        reportedRunning[instance] = Math.max(0, runningSequences);
        reportedStepMs[instance] = Math.max(0, stepMs);
        reportedTightestTpotMs[instance] = DecodeLoad.tpotOffWire(tightestTpotMs);
        reportedAtMs[instance] = atMs;
        ArrayDeque<Sent> sent = sentSince[instance];
        while (!sent.isEmpty() && sent.peekFirst().atMs() <= atMs) {
            Sent s = sent.pollFirst();
            sentBlocks[instance] -= s.blocks();
            sentSequences[instance]--;
            sentContext[instance] -= s.contextTokens();
        }
        updateAdmission(instance);
    }

    /**
     * Blocks of an instance that no handoff has been promised, as this prefill instance predicts them: the free ones
     * reported, less the inbound ones reported and those it has sent there since.
     */
    public int uncommittedBlocks(int instance) {
        return RoutingRules.uncommittedBlocks(reportedFree[instance], inboundBlocks(instance));
    }

    private int inboundBlocks(int instance) {
        return reportedInbound[instance] + sentBlocks[instance];
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
     * The tightest TPOT SLO among the sequences on an instance as this prefill instance predicts it: the reported one
     * and those of the handoffs it has sent there since; infinite when none has one.
     */
    public double tightestTpotMs(int instance) {
        double t = reportedTightestTpotMs[instance];
        for (Sent s : sentSince[instance]) {
            t = Math.min(t, s.tpotSloMs());
        }
        return t;
    }

    /** {@link #place(int, long, double, double, long)} for a sequence without a TPOT SLO of its own. */
    public OptionalInt place(int blocks, long contextTokens, double tpotTargetMs, long nowMs) {
        return place(blocks, contextTokens, tpotTargetMs, Double.POSITIVE_INFINITY, nowMs);
    }

    /**
     * The decode instance for a sequence of {@code contextTokens} tokens that needs {@code blocks} blocks at once,
     * by {@link RoutingRules#pickDecode} (the first admitting instance whose step with it meets the tightest of
     * {@code tpotTargetMs} and {@link #tightestTpotMs} there, else the most free admitting one), recorded as sent
     * there; empty when no instance admits it (every one is above the upper threshold, or too full): the caller keeps
     * the sequence and asks again after the next report.
     *
     * @param tpotTargetMs the pace planned for the sequence (its SLO, a deadline's pace, or the router's default)
     * @param tpotSloMs its explicit TPOT SLO, infinite when it has none: what it tightens the instance's target by
     *     until a report includes it (a planned pace does not, as {@code InstanceState#tightestTpotMs} explains)
     */
    public OptionalInt place(int blocks, long contextTokens, double tpotTargetMs, double tpotSloMs, long nowMs) {
        int pick = RoutingRules.pickDecode(instances(),
                i -> admitting[i] && RoutingRules.hasRoom(blocks, reportedFree[i], inboundBlocks(i)),
                i -> stepMsWith(i, contextTokens), this::uncommittedBlocks,
                i -> Math.min(tpotTargetMs, tightestTpotMs(i)));
        if (pick == RoutingRules.NONE) {
            return OptionalInt.empty();
        }
        double slo = tpotSloMs > 0 ? tpotSloMs : Double.POSITIVE_INFINITY;
        sentSince[pick].addLast(new Sent(nowMs, blocks, contextTokens, slo));
        sentBlocks[pick] += blocks;
        sentSequences[pick]++;
        sentContext[pick] += contextTokens;
        updateAdmission(pick);
        return OptionalInt.of(pick);
    }

    private void updateAdmission(int i) {
        admitting[i] = RoutingRules.admits(admitting[i], reportedFree[i], inboundBlocks(i), total[i], options);
    }

    /** A handoff sent to an instance that its reports do not include yet. */
    private record Sent(long atMs, int blocks, long contextTokens, double tpotSloMs) {
    }
}
