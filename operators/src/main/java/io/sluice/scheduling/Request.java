package io.sluice.scheduling;

import java.util.Objects;

/**
 * One request's scheduling state. Progress follows vLLM v1's model: there is no separate prefill
 * and decode phase; computed tokens (KV in cache) catch up with known tokens (prompt + generated),
 * and a token is sampled whenever they meet. Preemption by recompute resets the computed count, so
 * the prompt and everything generated so far is prefilled again. Progress is changed only by
 * {@link InstanceState}; policies read it and keep per-round scratch values in package fields.
 */
public final class Request {

    private final String id;
    private final String tenant;
    private final String priorityClass;
    private final double weight;
    private final Slo slo;
    private final int promptTokens;
    private final int maxNewTokens;
    private final double arrivalMs;

    private RequestState state = RequestState.WAITING;
    private int computedTokens;
    private int generatedTokens;
    private double firstTokenMs = Double.NaN;
    private double lastTokenMs = Double.NaN;
    private double finishMs = Double.NaN;
    private int preemptions;
    // A simulated engine's EOS: the request's answer ends with this many generated tokens. Only the
    // instance's completion reads it (as a real engine samples EOS), never a policy.
    private int eosAfter = Integer.MAX_VALUE;

    // Owned by InstanceState / KvBlockAccounting.
    int kvBlocks;
    int hostBlocks;
    long seq;
    int instanceId = -1;
    boolean inFlight;
    long applyStamp;
    double readyMs = Double.NEGATIVE_INFINITY;
    // Tracked contribution to the instance's backlog sums, so updates are O(1).
    boolean trackedPrefill;
    boolean trackedDecode;
    double trackedNew;
    double trackedCached;
    double trackedCtx;
    // Blocks counted in the instance's inbound sum: a handed-over sequence queued there, not yet admitted.
    int trackedInbound;

    // Per-round scratch written by policies.
    double estMs;
    double deadlineMs;
    double sortKey;
    double auxKey;
    int sliceStart = -1;
    int flags;

    public Request(String id, String tenant, String priorityClass, double weight, Slo slo,
                   int promptTokens, int maxNewTokens, double arrivalMs) {
        this.id = Objects.requireNonNull(id, "id");
        this.tenant = tenant == null ? "" : tenant;
        this.priorityClass = priorityClass == null ? "" : priorityClass;
        if (!(weight > 0 && weight < Double.POSITIVE_INFINITY)) {
            throw new IllegalArgumentException("request " + id + ": priority weight must be > 0, got " + weight);
        }
        if (promptTokens < 1) {
            throw new IllegalArgumentException("request " + id + ": prompt must have at least 1 token, got " + promptTokens);
        }
        if (maxNewTokens < 1) {
            throw new IllegalArgumentException("request " + id + ": maxNewTokens must be >= 1, got " + maxNewTokens);
        }
        if (!Double.isFinite(arrivalMs)) {
            throw new IllegalArgumentException("request " + id + ": arrival time must be finite, got " + arrivalMs);
        }
        this.weight = weight;
        this.slo = slo == null ? Slo.NONE : slo;
        this.promptTokens = promptTokens;
        this.maxNewTokens = maxNewTokens;
        this.arrivalMs = arrivalMs;
    }

    /**
     * A request that a prefill instance (another process) has started: {@code generated} tokens sampled, the
     * first at {@code firstTokenMs} and the latest at {@code lastTokenMs}, and the KV of every known token but
     * the last in the cache it brings along. It continues in its decode phase, its TTFT and TPOT clocks
     * carried over; {@link InstanceState#enqueue} queues it as TRANSFERRING.
     */
    public static Request handedOver(String id, String tenant, String priorityClass, double weight, Slo slo,
                                     int promptTokens, int maxNewTokens, double arrivalMs, int generated,
                                     double firstTokenMs, double lastTokenMs) {
        Request r = new Request(id, tenant, priorityClass, weight, slo, promptTokens, maxNewTokens, arrivalMs);
        if (generated < 1 || generated >= maxNewTokens) {
            throw new IllegalArgumentException("request " + id + ": a handed-over request has generated 1.."
                    + (maxNewTokens - 1) + " tokens, got " + generated);
        }
        r.generatedTokens = generated;
        r.computedTokens = promptTokens + generated - 1;
        r.firstTokenMs = firstTokenMs;
        r.lastTokenMs = lastTokenMs;
        return r;
    }

    public String id() { return id; }
    public String tenant() { return tenant; }
    public String priorityClass() { return priorityClass; }
    public double weight() { return weight; }
    public Slo slo() { return slo; }
    public int promptTokens() { return promptTokens; }
    public int maxNewTokens() { return maxNewTokens; }
    public double arrivalMs() { return arrivalMs; }
    public RequestState state() { return state; }
    public int generatedTokens() { return generatedTokens; }
    public int preemptions() { return preemptions; }

    /**
     * Simulation only: the answer ends as if by EOS once {@code tokens} are generated, below
     * max_new_tokens and unknown to the policies (which see only the cap).
     */
    public void endAsIfByEosAfter(int tokens) {
        if (tokens < 1) {
            throw new IllegalArgumentException("request " + id + ": an answer has at least 1 token, got " + tokens);
        }
        eosAfter = tokens;
    }

    /** Whether the last sampled token ended the answer: max_new_tokens reached, or a simulated EOS. */
    boolean answerComplete() {
        return generatedTokens >= maxNewTokens || generatedTokens >= eosAfter;
    }
    /** Time the first token was sampled; NaN until then. */
    public double firstTokenMs() { return firstTokenMs; }
    /** Time the latest token was sampled; NaN until the first. */
    public double lastTokenMs() { return lastTokenMs; }
    /** Time the request reached a final state; NaN until then. */
    public double finishMs() { return finishMs; }
    /** Id of the instance that holds the request now, or -1. */
    public int instanceId() { return instanceId; }

    /** Tokens whose KV is in the cache (device or host tier). */
    public int prefilledTokens() { return computedTokens; }

    /** Same as {@link #prefilledTokens()}: the context a decode step attends over. */
    public int contextTokens() { return computedTokens; }

    /** Tokens the request knows: prompt plus generated. */
    public int knownTokens() { return promptTokens + generatedTokens; }

    /**
     * Tokens still to prefill before the next token can be sampled: the rest of the prompt, or after a
     * recompute preemption the prompt plus what was generated. Zero while decoding.
     */
    public int remainingPrefill() {
        if (state.isFinished()) {
            return 0;
        }
        int pending = knownTokens() - computedTokens;
        // While decoding exactly one token (the last sampled one) is pending: that is a decode step.
        return generatedTokens == 0 || pending > 1 ? pending : 0;
    }

    /** True when the next step for this request is a decode step (one token). */
    public boolean isDecodePhase() {
        return !state.isFinished() && generatedTokens > 0 && remainingPrefill() == 0;
    }

    /** Tokens still to generate. */
    public int remainingTokens() {
        return maxNewTokens - generatedTokens;
    }

    /** Time to first token, NaN until the first token. */
    public double ttftMs() {
        return firstTokenMs - arrivalMs;
    }

    /** Mean time per output token after the first; 0 with fewer than two tokens, NaN with none. */
    public double meanTpotMs() {
        if (generatedTokens == 0) {
            return Double.NaN;
        }
        return generatedTokens < 2 ? 0.0 : (lastTokenMs - firstTokenMs) / (generatedTokens - 1);
    }

    /**
     * Whether the request met its SLO: finished normally, and either finished by its deadline, or its
     * TTFT and mean TPOT are within their targets (absent targets always hold).
     */
    public boolean sloMet() {
        if (state != RequestState.FINISHED_OK) {
            return false;
        }
        if (slo.hasDeadline() && finishMs > arrivalMs + slo.deadlineMs()) {
            return false;
        }
        if (slo.hasTtft() && ttftMs() > slo.ttftMs()) {
            return false;
        }
        return !slo.hasTpot() || meanTpotMs() <= slo.tpotMs();
    }

    /** Earliest time a policy may schedule it (its KV is still in transit before). */
    public double readyMs() { return readyMs; }

    /** KV blocks held on the device. */
    public int kvBlocks() { return kvBlocks; }

    /** KV blocks held on the host tier (while swapped). */
    public int hostBlocks() { return hostBlocks; }

    // ---- mutations, InstanceState only ----

    void setState(RequestState s) {
        state = s;
    }

    /** Computes {@code n} more tokens; samples a token when computed catches up with known. */
    boolean advance(int n, double nowMs) {
        computedTokens += n;
        // With a token pending (decode) known - computed == 1 before the step and 0 after; in prefill,
        // when the last chunk lands, computed == known and the model samples the next token.
        if (computedTokens >= knownTokens()) {
            computedTokens = knownTokens();
            generatedTokens++;
            if (Double.isNaN(firstTokenMs)) {
                firstTokenMs = nowMs;
            }
            lastTokenMs = nowMs;
            return true;
        }
        return false;
    }

    void resetForRecompute() {
        computedTokens = 0;
        preemptions++;
    }

    void countSwap() {
        preemptions++;
    }

    void finish(RequestState finalState, double nowMs) {
        state = finalState;
        finishMs = nowMs;
    }

    @Override
    public String toString() {
        return "Request[" + id + " " + state + " prompt=" + promptTokens + " computed=" + computedTokens
                + " generated=" + generatedTokens + "/" + maxNewTokens + "]";
    }
}
