package io.sluice.scheduling;

/** What an instance runs: prefills only, decodes only (PD separation), or both (colocated). */
public enum Role {
    PREFILL,
    DECODE,
    MIXED;

    /** True when this role runs prefill chunks. */
    public boolean runsPrefill() {
        return this != DECODE;
    }

    /** True when this role runs decode steps. */
    public boolean runsDecode() {
        return this != PREFILL;
    }
}
