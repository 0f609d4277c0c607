package io.sluice.operators.route;

import java.util.ArrayDeque;
import java.util.OptionalInt;

/**
 * A prefill instance's view of the decode instances' KV blocks, for placing finished prefills (DESIGN §3's
 * decode placement read from the far side of Kafka): each decode instance's last reported free blocks, less the
 * blocks of the handoffs this prefill instance sent it since that report. The most free instance that is
 * admitting wins; an instance stops admitting when its free fraction falls under {@code freeStop} (the upper
 * threshold) and resumes once it is back over {@code freeResume} (the lower one), so admissions do not flap
 * around one value. An instance that never reported counts as empty. Pure logic; not thread-safe.
 */
public final class DecodePlacement {

    /** Free blocks assumed of an instance that has not reported yet. */
    private static final int UNKNOWN_BLOCKS = 1 << 20;

    private final double freeStop;
    private final double freeResume;
    private final int[] reportedFree;
    private final int[] total;
    private final long[] reportedAtMs;
    private final ArrayDeque<long[]>[] sentSince; // per instance: {sentAtMs, blocks}
    private final int[] sentBlocks;
    private final boolean[] admitting;
    private int nextTieBreak;

    @SuppressWarnings("unchecked")
    public DecodePlacement(int instances, double freeStop, double freeResume) {
        if (instances < 1) {
            throw new IllegalArgumentException("need at least one decode instance, got " + instances);
        }
        if (!(freeStop >= 0 && freeStop <= freeResume && freeResume <= 1)) {
            throw new IllegalArgumentException("need 0 <= freeStop <= freeResume <= 1, got " + freeStop + ", "
                    + freeResume);
        }
        this.freeStop = freeStop;
        this.freeResume = freeResume;
        reportedFree = new int[instances];
        total = new int[instances];
        reportedAtMs = new long[instances];
        sentSince = new ArrayDeque[instances];
        sentBlocks = new int[instances];
        admitting = new boolean[instances];
        for (int i = 0; i < instances; i++) {
            reportedFree[i] = UNKNOWN_BLOCKS;
            total[i] = UNKNOWN_BLOCKS;
            reportedAtMs[i] = Long.MIN_VALUE;
            sentSince[i] = new ArrayDeque<>();
            admitting[i] = true;
        }
    }

    public int instances() {
        return reportedFree.length;
    }

    /** A decode instance's free blocks as of {@code atMs}; handoffs sent before then are in it. */
    public void report(int instance, int freeBlocks, int totalBlocks, long atMs) {
        if (instance < 0 || instance >= instances() || atMs < reportedAtMs[instance] || totalBlocks < 1) {
            return; // unknown instance or an out-of-order report: the newer one stands
        }
        reportedFree[instance] = Math.max(0, freeBlocks);
        total[instance] = totalBlocks;
        reportedAtMs[instance] = atMs;
        ArrayDeque<long[]> sent = sentSince[instance];
        while (!sent.isEmpty() && sent.peekFirst()[0] <= atMs) {
            sentBlocks[instance] -= (int) sent.pollFirst()[1];
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

    /**
     * The admitting instance with the most free blocks that has {@code blocks} free, recorded as sent there; empty
     * when none qualifies (every decode instance is above the upper threshold, or too full).
     */
    public OptionalInt place(int blocks, long nowMs) {
        int best = -1;
        for (int k = 0; k < instances(); k++) {
            int i = (nextTieBreak + k) % instances();
            if (admitting[i] && freeBlocks(i) >= blocks && (best < 0 || freeBlocks(i) > freeBlocks(best))) {
                best = i;
            }
        }
        if (best < 0) {
            return OptionalInt.empty();
        }
        send(best, blocks, nowMs);
        return OptionalInt.of(best);
    }

    /** The instance with the most free blocks whether or not it admits, recorded as sent there. */
    public int mostFree(int blocks, long nowMs) {
        int best = nextTieBreak % instances();
        for (int k = 1; k < instances(); k++) {
            int i = (nextTieBreak + k) % instances();
            if (freeBlocks(i) > freeBlocks(best)) {
                best = i;
            }
        }
        send(best, blocks, nowMs);
        return best;
    }

    private void send(int instance, int blocks, long nowMs) {
        sentSince[instance].addLast(new long[] {nowMs, blocks});
        sentBlocks[instance] += blocks;
        updateAdmission(instance);
        nextTieBreak = (instance + 1) % instances();
    }

    private void updateAdmission(int i) {
        double free = (double) freeBlocks(i) / total[i];
        if (admitting[i] && free < freeStop) {
            admitting[i] = false;
        } else if (!admitting[i] && free >= freeResume) {
            admitting[i] = true;
        }
    }
}
