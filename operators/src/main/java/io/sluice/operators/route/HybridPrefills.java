package io.sluice.operators.route;

import io.sluice.scheduling.RouterOptions;
import io.sluice.scheduling.RoutingRules;
import java.util.OptionalInt;

/**
 * Hybrid PD routing's other half, read from the far side of Kafka: when no prefill instance can meet a request's
 * TTFT, a short prompt may go to a decode instance with slack, by the rules the scheduling {@code Router} applies in
 * the simulator ({@link RoutingRules#hybridAllowed}, {@link RoutingRules#pickHybrid}): a prompt of at most
 * {@code hybridMaxPrompt} tokens, at least two decode instances, and the one with the lowest reported step plus this
 * prefill's work, under the TPOT target x (D - 1) / D. Like the simulator's, it takes only an instance that would
 * admit the prompt's KV as a handoff ({@link RoutingRules#admits}, {@link RoutingRules#hasRoom}: the dual free-block
 * thresholds, kept here from the reports, and room beside the sequences handed over to it), so a decode instance
 * that has stopped admitting handoffs gets no prefill either. Read from reports, an instance also qualifies only when
 * it reported no queued work and no hybrid prefill was routed to it since its last report: a bounded share, at most
 * one per status interval, since this router cannot see the work it sent until the next report. Pure logic.
 */
public final class HybridPrefills {

    private final RouterOptions options;
    private final double[] stepMs;
    private final int[] queued;
    private final long[] reportedAtMs;
    private final long[] routedAtMs;
    private final int[] freeBlocks;
    private final int[] inboundBlocks;
    private final int[] blockTokens;
    private final boolean[] admitting;

    public HybridPrefills(int decodeInstances, RouterOptions options) {
        if (decodeInstances < 1 || options == null) {
            throw new IllegalArgumentException("need decode instances >= 1 and the router options, got "
                    + decodeInstances + ", " + options);
        }
        this.options = options;
        stepMs = new double[decodeInstances];
        queued = new int[decodeInstances];
        reportedAtMs = new long[decodeInstances];
        routedAtMs = new long[decodeInstances];
        freeBlocks = new int[decodeInstances];
        inboundBlocks = new int[decodeInstances];
        blockTokens = new int[decodeInstances];
        admitting = new boolean[decodeInstances];
        java.util.Arrays.fill(admitting, true);
        java.util.Arrays.fill(reportedAtMs, Long.MIN_VALUE);
        java.util.Arrays.fill(routedAtMs, Long.MIN_VALUE);
    }

    /**
     * A decode instance's status as of {@code atMs}: its estimated step time, its queued requests, and its KV blocks
     * (free; inbound, promised to the handoffs queued there; total; tokens per block).
     */
    public void report(int instance, double estimatedStepMs, int queuedRequests, int freeBlocks, int inboundBlocks,
                       int totalBlocks, int blockTokens, long atMs) {
        if (instance < 0 || instance >= stepMs.length || atMs < reportedAtMs[instance] || totalBlocks < 1
                || blockTokens < 1) {
            return;
        }
        stepMs[instance] = Math.max(0, estimatedStepMs);
        queued[instance] = queuedRequests;
        this.freeBlocks[instance] = Math.max(0, freeBlocks);
        this.inboundBlocks[instance] = Math.max(0, inboundBlocks);
        this.blockTokens[instance] = blockTokens;
        // The hysteresis moves with the reports, as a prefill instance's decode placement moves it.
        admitting[instance] = RoutingRules.admits(admitting[instance], this.freeBlocks[instance],
                this.inboundBlocks[instance], totalBlocks, options);
        reportedAtMs[instance] = atMs;
    }

    /** Whether a decode instance admits, by its last report (dual free-block thresholds). */
    public boolean admitting(int instance) {
        return admitting[instance];
    }

    /**
     * The decode instance for a prefill of {@code promptTokens} tokens costing {@code prefillWorkMs}, recorded as
     * routed there; empty when none qualifies.
     */
    public OptionalInt pick(int promptTokens, double prefillWorkMs, double tpotTargetMs, long nowMs) {
        int n = stepMs.length;
        if (!RoutingRules.hybridAllowed(promptTokens, n, options)) {
            return OptionalInt.empty();
        }
        int best = RoutingRules.pickHybrid(n, i -> {
            boolean reported = reportedAtMs[i] != Long.MIN_VALUE;
            boolean shareFree = routedAtMs[i] == Long.MIN_VALUE || routedAtMs[i] < reportedAtMs[i];
            return reported && shareFree && queued[i] == 0 && admitting[i] && RoutingRules.hasRoom(
                    RoutingRules.blocksFor(promptTokens, blockTokens[i]), freeBlocks[i], inboundBlocks[i]);
        }, i -> stepMs[i] + prefillWorkMs, RoutingRules.hybridStepBoundMs(tpotTargetMs, n));
        if (best == RoutingRules.NONE) {
            return OptionalInt.empty();
        }
        routedAtMs[best] = nowMs;
        return OptionalInt.of(best);
    }
}
