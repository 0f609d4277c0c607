package io.sluice.operators;

import io.sluice.operators.ingest.AdmittedRequest;
import java.util.Arrays;

/**
 * What an instance keeps of an unfinished request in keyed state: the request and the tokens generated so far,
 * plus the clocks its metrics need. Small by design (DESIGN §4): the KV cache is not in it; a restored instance
 * re-prefills prompt + generated tokens. A Flink POJO, replaced (never changed in place) on every update, so a
 * snapshot in progress never sees a half-written record.
 */
public final class RequestRecord {
    public AdmittedRequest request;
    /** Tokens sampled so far, in order; a stop token (BOS or EOS) is the last one, and ends the request. */
    public int[] generated = new int[0];
    /** Processing time of the first prefill chunk, 0 before. */
    public long startedAtMs;
    /** Processing time of the first token, 0 before. */
    public long firstTokenAtMs;
    /** Processing time of the latest token, 0 before. */
    public long lastTokenAtMs;
    public int preemptions;
    /** The instance (global id) that ran the prefill when another one decodes it (PD separation); -1 otherwise. */
    public int prefillInstance = -1;

    public RequestRecord() {}

    static RequestRecord of(AdmittedRequest request) {
        RequestRecord r = new RequestRecord();
        r.request = request;
        return r;
    }

    private RequestRecord copy() {
        RequestRecord r = new RequestRecord();
        r.request = request;
        r.generated = generated;
        r.startedAtMs = startedAtMs;
        r.firstTokenAtMs = firstTokenAtMs;
        r.lastTokenAtMs = lastTokenAtMs;
        r.preemptions = preemptions;
        r.prefillInstance = prefillInstance;
        return r;
    }

    RequestRecord withToken(int token, long atMs) {
        RequestRecord r = copy();
        r.generated = Arrays.copyOf(generated, generated.length + 1);
        r.generated[generated.length] = token;
        if (r.firstTokenAtMs == 0) {
            r.firstTokenAtMs = atMs;
        }
        r.lastTokenAtMs = atMs;
        return r;
    }

    RequestRecord started(long atMs) {
        RequestRecord r = copy();
        r.startedAtMs = atMs;
        return r;
    }

    RequestRecord prefilledBy(int instance) {
        RequestRecord r = copy();
        r.prefillInstance = instance;
        return r;
    }

    RequestRecord preempted() {
        RequestRecord r = copy();
        r.preemptions++;
        return r;
    }

    /** Prompt plus generated tokens: what the model has been or will be fed. */
    int knownTokens() {
        return request.promptTokens.length + generated.length;
    }

    /** The {@code i}-th known token (prompt first, then generated). */
    int knownToken(int i) {
        int p = request.promptTokens.length;
        return i < p ? request.promptTokens[i] : generated[i - p];
    }

    /** Known tokens {@code [from, from + n)}. */
    int[] knownTokens(int from, int n) {
        int[] out = new int[n];
        for (int i = 0; i < n; i++) {
            out[i] = knownToken(from + i);
        }
        return out;
    }
}
