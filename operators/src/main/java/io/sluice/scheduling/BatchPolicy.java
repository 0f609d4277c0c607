package io.sluice.scheduling;

/**
 * A batching policy: given an instance's queues, decides the next batch. Must not change request
 * progress (only {@link InstanceState} does); may keep scratch buffers, so an object is used by one
 * thread at a time (one per instance, or one per single-threaded simulator).
 */
public interface BatchPolicy {

    /** The policy's registered name. */
    String name();

    /** The next batch for {@code instance} at {@code nowMs}; {@link BatchPlan#EMPTY} when there is nothing to run. */
    BatchPlan plan(InstanceState instance, double nowMs);
}
