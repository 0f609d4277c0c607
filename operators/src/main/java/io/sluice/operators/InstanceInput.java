package io.sluice.operators;

import io.sluice.operators.ingest.AdmittedRequest;

/**
 * What an instance operator takes in, exactly one of: a request routed to it, a sequence handed over with its KV
 * (decode instances), or a decode instance's free blocks (prefill instances place handoffs by them). One input of
 * a union type rather than a two-input operator, so a colocated, a prefill and a decode instance are the same
 * function over the same stream type. A Flink POJO; the fields that are not the one set are null.
 */
public final class InstanceInput {
    /** Target: index of the instance within its operator (its subtask), which the stream is keyed by. */
    public int instance;
    public AdmittedRequest request;
    public KvHandoff handoff;
    public DecodeLoad load;

    public InstanceInput() {}

    /** A routed request, to the instance it names. */
    public static InstanceInput of(AdmittedRequest request) {
        InstanceInput in = new InstanceInput();
        in.instance = request.instance;
        in.request = request;
        return in;
    }

    /** A routed request, to instance {@code instance} of its operator (hybrid: a decode instance's index). */
    public static InstanceInput of(AdmittedRequest request, int instance) {
        InstanceInput in = new InstanceInput();
        in.instance = instance;
        in.request = request;
        return in;
    }

    /** A handoff, to the decode instance it names. */
    public static InstanceInput of(KvHandoff handoff) {
        InstanceInput in = new InstanceInput();
        in.instance = handoff.decodeInstance;
        in.handoff = handoff;
        return in;
    }

    /** A decode instance's load, to prefill instance {@code prefillInstance}. */
    public static InstanceInput of(int prefillInstance, DecodeLoad load) {
        InstanceInput in = new InstanceInput();
        in.instance = prefillInstance;
        in.load = load;
        return in;
    }
}
