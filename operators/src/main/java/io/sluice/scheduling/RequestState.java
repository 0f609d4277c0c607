package io.sluice.scheduling;

/** Lifecycle of one request as the scheduler sees it; the last three are final. */
public enum RequestState {
    /** Queued on an instance, holding no KV blocks (new, or preempted for recompute). */
    WAITING,
    /** Admitted: holds KV blocks, prompt (or recompute) not yet fully computed. */
    PREFILLING,
    /** Prefill done on a prefill instance; its KV is on the way to (or queued at) a decode instance. */
    TRANSFERRING,
    /** Generating one token per step. */
    DECODING,
    /** Preempted with its KV moved to the host tier; comes back before its next step. */
    SWAPPED,
    /** All tokens generated. */
    FINISHED_OK,
    /** Refused (admission, too long, or dropped as hopelessly late). */
    REJECTED,
    /** Cancelled by the caller because it ran out of time. */
    EXPIRED;

    /** True for the three final states. */
    public boolean isFinished() {
        return this == FINISHED_OK || this == REJECTED || this == EXPIRED;
    }
}
