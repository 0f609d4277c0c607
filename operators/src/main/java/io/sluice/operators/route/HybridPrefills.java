package io.sluice.operators.route;

import java.util.OptionalInt;

/**
 * Hybrid PD routing's other half, read from the far side of Kafka: when no prefill instance can meet a request's
 * TTFT, a short prompt may go to a decode instance with slack, as the scheduling {@code Router} decides it in the
 * simulator. A decode instance qualifies when its prompt is at most {@code maxPrompt} tokens, the instance
 * reported no queued work, its reported step plus this prefill's work stays under the TPOT target x (D - 1) / D
 * (so the decode pool keeps its pace if this one slows down; never with a single decode instance), and no hybrid
 * prefill was routed to it since its last report: a bounded share, at most one per status interval. Pure logic.
 */
public final class HybridPrefills {

    private final int maxPrompt;
    private final double[] stepMs;
    private final int[] queued;
    private final long[] reportedAtMs;
    private final long[] routedAtMs;

    public HybridPrefills(int decodeInstances, int maxPrompt) {
        if (decodeInstances < 1 || maxPrompt < 1) {
            throw new IllegalArgumentException("need decode instances >= 1 and a max prompt >= 1, got "
                    + decodeInstances + ", " + maxPrompt);
        }
        this.maxPrompt = maxPrompt;
        stepMs = new double[decodeInstances];
        queued = new int[decodeInstances];
        reportedAtMs = new long[decodeInstances];
        routedAtMs = new long[decodeInstances];
        java.util.Arrays.fill(reportedAtMs, Long.MIN_VALUE);
        java.util.Arrays.fill(routedAtMs, Long.MIN_VALUE);
    }

    /** A decode instance's status: its estimated step time and its queued requests as of {@code atMs}. */
    public void report(int instance, double estimatedStepMs, int queuedRequests, long atMs) {
        if (instance < 0 || instance >= stepMs.length || atMs < reportedAtMs[instance]) {
            return;
        }
        stepMs[instance] = Math.max(0, estimatedStepMs);
        queued[instance] = queuedRequests;
        reportedAtMs[instance] = atMs;
    }

    /**
     * The decode instance for a prefill of {@code promptTokens} tokens costing {@code prefillWorkMs}, recorded as
     * routed there; empty when none qualifies.
     */
    public OptionalInt pick(int promptTokens, double prefillWorkMs, double tpotTargetMs, long nowMs) {
        int n = stepMs.length;
        if (promptTokens > maxPrompt || n < 2) {
            return OptionalInt.empty();
        }
        double bound = tpotTargetMs * (n - 1) / n;
        int best = -1;
        for (int i = 0; i < n; i++) {
            boolean reported = reportedAtMs[i] != Long.MIN_VALUE;
            boolean shareFree = routedAtMs[i] == Long.MIN_VALUE || routedAtMs[i] < reportedAtMs[i];
            double step = stepMs[i] + prefillWorkMs;
            if (reported && shareFree && queued[i] == 0 && step < bound && (best < 0 || stepMs[i] < stepMs[best])) {
                best = i;
            }
        }
        if (best < 0) {
            return OptionalInt.empty();
        }
        routedAtMs[best] = nowMs;
        return OptionalInt.of(best);
    }
}
