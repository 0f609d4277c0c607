package io.sluice.scheduling;

import java.util.function.IntPredicate;
import java.util.function.IntToDoubleFunction;
import java.util.function.IntUnaryOperator;

/**
 * The routing rules of DESIGN §3 as pure functions, one place per rule, so that the simulator's {@link Router}
 * (which reads instance state directly) and the Flink job's routing (which reads it from status reports) decide
 * by the same code and cannot drift apart.
 *
 * <p>A pick reads instance {@code i}'s figures through functions, in index order, and returns an index or
 * {@link #NONE}. Functions rather than arrays so that a caller computes only what the rule reaches, and may update
 * lazy per-instance state (the Router's admission hysteresis) exactly when the rule looks at that instance.
 */
public final class RoutingRules {

    /** No instance qualifies. */
    public static final int NONE = -1;

    private RoutingRules() {}

    // ---- targets ----

    /** The deadline options the router derives targets with: the defaults, with the router's default TTFT and TPOT. */
    public static PolicyOptions deadlineOptions(RouterOptions o) {
        return PolicyOptions.defaults().withDefaultTpotMs(o.defaultTpotMs()).withDefaultTtftMs(o.defaultTtftMs());
    }

    /**
     * TTFT target the router plans for: the SLO, the one a completion deadline implies, else the router's default,
     * so that a request without an SLO is still routed (and may go hybrid) like one with a loose SLO.
     */
    public static double ttftTargetMs(Request r, PolicyOptions deadlines) {
        return Deadlines.firstToken(r, deadlines) - r.arrivalMs();
    }

    /** TPOT target the router plans for: the SLO, the pace a completion deadline implies, else the default. */
    public static double tpotTargetMs(Request r, PolicyOptions deadlines, RouterOptions o) {
        double p = Deadlines.pace(r, deadlines);
        return p == Double.POSITIVE_INFINITY ? o.defaultTpotMs() : p;
    }

    // ---- new requests ----

    /**
     * The prefill instance for a new request among instances {@code first, first + 1, ..} (wrapping around
     * {@code n}; the start only breaks ties). Candidates are the eligible instances whose predicted TTFT meets the
     * target; load is backlog / target. The most idle light candidate (load under mu) wins, else the least loaded
     * one that is not heavy (load at most lambda), else the least loaded candidate. {@link #NONE} when there is no
     * candidate (the caller then tries a hybrid route, else queues on {@link #lowestTtft}).
     */
    public static int pickPrefill(int n, int first, IntPredicate eligible, IntToDoubleFunction backlogMs,
                                  IntToDoubleFunction predictedTtftMs, double ttftTargetMs, RouterOptions o) {
        int light = NONE;
        double lightLoad = Double.POSITIVE_INFINITY;
        int mid = NONE;
        double midLoad = Double.POSITIVE_INFINITY;
        int candidate = NONE;
        double candidateLoad = Double.POSITIVE_INFINITY;
        for (int k = 0; k < n; k++) {
            int i = (first + k) % n;
            if (!eligible.test(i) || predictedTtftMs.applyAsDouble(i) > ttftTargetMs) {
                continue;
            }
            double load = backlogMs.applyAsDouble(i) / ttftTargetMs;
            if (load < o.mu() && load < lightLoad) {
                light = i;
                lightLoad = load;
            }
            if (load <= o.lambda() && load < midLoad) {
                mid = i;
                midLoad = load;
            }
            if (load < candidateLoad) {
                candidate = i;
                candidateLoad = load;
            }
        }
        return light != NONE ? light : mid != NONE ? mid : candidate;
    }

    /** The eligible instance with the lowest predicted TTFT: where a request queues when no candidate meets it. */
    public static int lowestTtft(int n, int first, IntPredicate eligible, IntToDoubleFunction predictedTtftMs) {
        int best = NONE;
        double bestTtft = Double.POSITIVE_INFINITY;
        for (int k = 0; k < n; k++) {
            int i = (first + k) % n;
            if (!eligible.test(i)) {
                continue;
            }
            double ttft = predictedTtftMs.applyAsDouble(i);
            if (ttft < bestTtft) {
                best = i;
                bestTtft = ttft;
            }
        }
        return best;
    }

    // ---- hybrid prefills on decode instances ----

    /**
     * Whether a prompt may go to a decode instance at all: a short one (a bounded share of the prefill work), and
     * only with at least two decode instances, since the pool must keep its pace if one of them slows down.
     */
    public static boolean hybridAllowed(int promptTokens, int decodeInstances, RouterOptions o) {
        return promptTokens <= o.hybridMaxPrompt() && decodeInstances >= 2;
    }

    /**
     * The bound a decode instance's step with a hybrid prefill must stay under: TPOT target x (nD - 1) / nD, so
     * the decode pool as a whole keeps the target if this instance's step slows down.
     */
    public static double hybridStepBoundMs(double tpotTargetMs, int decodeInstances) {
        return tpotTargetMs * (decodeInstances - 1) / decodeInstances;
    }

    /**
     * The eligible decode instance whose step with the prefill's work is lowest and under {@code boundMs}
     * ({@link #hybridStepBoundMs}); {@link #NONE} when none has that slack.
     */
    public static int pickHybrid(int n, IntPredicate eligible, IntToDoubleFunction stepWithPrefillMs, double boundMs) {
        int best = NONE;
        double bestStep = Double.POSITIVE_INFINITY;
        for (int i = 0; i < n; i++) {
            if (!eligible.test(i)) {
                continue;
            }
            double step = stepWithPrefillMs.applyAsDouble(i);
            if (step < boundMs && step < bestStep) {
                best = i;
                bestStep = step;
            }
        }
        return best;
    }

    // ---- decode placement ----

    /**
     * The blocks a decode instance can still promise to a new sequence: its free blocks less those the sequences
     * already handed to it and not yet admitted there (queued, KV in transit) will take on admission. Those are
     * free in its pool now but spoken for; counting them as free let a burst of handoffs be placed on blocks that
     * only one of them would get, and the rest then took the blocks its running sequences grow into.
     */
    public static int uncommittedBlocks(int freeBlocks, int inboundBlocks) {
        return Math.max(0, freeBlocks - Math.max(0, inboundBlocks));
    }

    /**
     * {@link #admits(boolean, double, RouterOptions) Admission} of a decode instance by its blocks: the fraction
     * of its {@code totalBlocks} that is {@link #uncommittedBlocks uncommitted}.
     */
    public static boolean admits(boolean admitting, int freeBlocks, int inboundBlocks, int totalBlocks,
                                 RouterOptions o) {
        return admits(admitting, (double) uncommittedBlocks(freeBlocks, inboundBlocks) / totalBlocks, o);
    }

    /** Blocks of {@code blockTokens} tokens that hold {@code tokens} tokens. */
    public static int blocksFor(long tokens, int blockTokens) {
        return (int) ((Math.max(0, tokens) + blockTokens - 1) / blockTokens);
    }

    /**
     * Whether a sequence that needs {@code needBlocks} blocks at once fits beside the ones already handed over:
     * within the instance's {@link #uncommittedBlocks uncommitted} blocks.
     */
    public static boolean hasRoom(int needBlocks, int freeBlocks, int inboundBlocks) {
        return needBlocks <= uncommittedBlocks(freeBlocks, inboundBlocks);
    }

    /**
     * Dual-threshold admission of a decode instance: one that admits stops when its free KV fraction falls under
     * {@code freeStop} (the upper threshold on used blocks); one that stopped admits again once it is back at
     * {@code freeResume} or over. The gap between the two keeps admission from flapping around one value. Callers
     * pass blocks to {@link #admits(boolean, int, int, int, RouterOptions)}, which counts inbound sequences.
     */
    static boolean admits(boolean admitting, double freeFraction, RouterOptions o) {
        if (admitting && freeFraction < o.freeStop()) {
            return false;
        }
        if (!admitting && freeFraction >= o.freeResume()) {
            return true;
        }
        return admitting;
    }

    /**
     * The decode instance for a finished prefill: among the admitting instances (admission and room for the
     * sequence, as {@code admits} says, both counting the sequences already handed over ({@link #hasRoom}); asked
     * in index order and not past the pick), the first whose estimated step with the sequence stays within its TPOT
     * target, so instances fill in order while they keep the pace; when none does, the one with the most
     * {@code freeBlocks} (its {@link #uncommittedBlocks uncommitted} ones). {@link #NONE} when no instance admits: the caller keeps the
     * sequence and tries again when the instances' state has changed. The target is per instance: the tightest of
     * the sequence's and those of the sequences already decoding there, since the step it slows down is theirs too.
     */
    public static int pickDecode(int n, IntPredicate admits, IntToDoubleFunction stepWithSequenceMs,
                                 IntUnaryOperator freeBlocks, IntToDoubleFunction tpotTargetMs) {
        int mostFree = NONE;
        for (int i = 0; i < n; i++) {
            if (!admits.test(i)) {
                continue;
            }
            if (stepWithSequenceMs.applyAsDouble(i) <= tpotTargetMs.applyAsDouble(i)) {
                return i;
            }
            if (mostFree == NONE || freeBlocks.applyAsInt(i) > freeBlocks.applyAsInt(mostFree)) {
                mostFree = i;
            }
        }
        return mostFree;
    }
}
