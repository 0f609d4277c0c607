package io.sluice.scheduling;

import java.util.List;

/**
 * One scheduling decision for one instance: the prefill chunks and the decode steps to run as one
 * batch, the running requests to preempt first, the requests to drop as hopelessly late, and the
 * estimated batch time. Immutable; {@link InstanceState#apply} carries it out.
 */
public record BatchPlan(List<Chunk> prefill, List<Request> decode, List<Request> preempted,
                        List<Request> dropped, double estimatedMs) {

    /** A plan that does nothing. */
    public static final BatchPlan EMPTY = new BatchPlan(List.of(), List.of(), List.of(), List.of(), 0.0);

    public BatchPlan {
        prefill = copy(prefill);
        decode = copy(decode);
        preempted = copy(preempted);
        dropped = copy(dropped);
        if (!(estimatedMs >= 0)) {
            throw new IllegalArgumentException("estimatedMs must be >= 0, got " + estimatedMs);
        }
    }

    /** Lists from {@link PlanBuilder} are immutable copies already. */
    private static <E> List<E> copy(List<E> list) {
        return list instanceof PlanList ? list : List.copyOf(list);
    }

    /** A plan that drops nothing. */
    public BatchPlan(List<Chunk> prefill, List<Request> decode, List<Request> preempted, double estimatedMs) {
        this(prefill, decode, preempted, List.of(), estimatedMs);
    }

    /** True when no work runs (there may still be preemptions or drops to apply). */
    public boolean isEmpty() {
        return prefill.isEmpty() && decode.isEmpty();
    }

    /** Tokens computed by the batch: chunk tokens plus one per decode. */
    public int totalTokens() {
        int n = decode.size();
        for (int i = 0, k = prefill.size(); i < k; i++) {
            n += prefill.get(i).tokens();
        }
        return n;
    }

    /** Sequences in the batch. */
    public int sequences() {
        return prefill.size() + decode.size();
    }
}
