package io.sluice.scheduling;

/**
 * vLLM v1's default scheduler: running requests first, then waiting ones in arrival order, chunked
 * prefill within the token budget, head-of-line stop, preempt the newest and recompute.
 */
final class FcfsPolicy extends VllmStylePolicy {

    FcfsPolicy(PolicyOptions options) {
        super(options);
    }

    @Override
    public String name() {
        return "fcfs";
    }
}
