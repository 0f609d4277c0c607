package io.sluice.operators;

import io.sluice.gpu.kv.KvSnapshot;

/**
 * A sequence a prefill instance hands to a decode instance (PD separation): the request record (request, tokens
 * sampled so far, the clocks its TTFT and TPOT come from) and the KV of every known token but the last, as a
 * layout-independent snapshot ({@link KvSnapshot}). A Flink POJO with primitive arrays, so it crosses the network
 * without generic types; it is never kept in state (a restored decode instance recomputes the KV).
 */
public final class KvHandoff {
    public RequestRecord record;
    /** The instance (global id) that ran the prefill. */
    public int prefillInstance;
    /** Target: index of the decode instance within the decode operator (its subtask). */
    public int decodeInstance;
    /** Processing time the prefill instance sent it. */
    public long sentAtMs;
    /** The {@link ModelFingerprint} of the prefill instance's model: KV of another model means nothing here. */
    public long model;
    /** Positions the KV covers. */
    public int kvLength;
    public int kvLayers;
    public int kvDim;
    /** [layers][kvLength][kvDim], see {@link KvSnapshot}. */
    public float[] keys;
    /** [layers][kvLength][kvDim]. */
    public float[] values;

    public KvHandoff() {}

    static KvHandoff of(RequestRecord record, int prefillInstance, int decodeInstance, long sentAtMs, long model,
                        KvSnapshot kv) {
        KvHandoff h = new KvHandoff();
        h.record = record;
        h.prefillInstance = prefillInstance;
        h.decodeInstance = decodeInstance;
        h.sentAtMs = sentAtMs;
        h.model = model;
        h.kvLength = kv.length();
        h.kvLayers = kv.layers();
        h.kvDim = kv.kvDim();
        h.keys = kv.keys();
        h.values = kv.values();
        return h;
    }

    KvSnapshot snapshot() {
        return new KvSnapshot(kvLength, kvLayers, kvDim, keys, values);
    }
}
