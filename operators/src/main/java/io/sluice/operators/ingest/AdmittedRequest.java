package io.sluice.operators.ingest;

/**
 * A request that passed decoding and admission, tokenized, with its limits applied: what the
 * router and the scheduler work from. A Flink POJO; absent SLOs are 0.
 */
public final class AdmittedRequest {
    public String requestId;
    public String tenant;
    public String priorityClass;
    /** Priority weight after the tenant's ceiling. */
    public double weight;
    /** Prompt token ids, BOS first. */
    public int[] promptTokens;
    /** Output cap after the tenant's limit and the model's context. */
    public int maxNewTokens;
    public float temperature;
    public float topP;
    public long seed;
    /** TTFT SLO in ms, 0 when the request has none. */
    public int ttftSloMs;
    /** Mean TPOT SLO in ms, 0 when the request has none. */
    public int tpotSloMs;
    /** Completion deadline, epoch millis, 0 when the request has none. */
    public long deadlineMs;
    public long submittedAtMs;
    /** Instance chosen by the router; -1 until routed. */
    public int instance = -1;

    public AdmittedRequest() {}

    /**
     * When its SLO clocks start, as scheduling sees it at {@code nowMs}: its submission, never later than now (0, a
     * request built without one, counts as now).
     */
    public long arrivalMs(long nowMs) {
        return submittedAtMs > 0 ? Math.min(submittedAtMs, nowMs) : nowMs;
    }
}
