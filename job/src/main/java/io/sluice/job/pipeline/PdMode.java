package io.sluice.job.pipeline;

import java.util.Locale;

/** Where prefill and decode run (DESIGN §2, flag {@code --pd}). */
public enum PdMode {
    /** One pool: each instance's batches mix prefill chunks and decode steps. */
    COLOCATED,
    /** A prefill pool and a decode pool; finished prefills move to a decode instance with their KV. */
    SEPARATE,
    /** As separate, and a prefill instance decodes a sequence itself when no decode instance admits it. */
    HYBRID;

    /** The flag's value, case-insensitive. */
    public static PdMode parse(String s) {
        try {
            return valueOf(s.trim().toUpperCase(Locale.ROOT));
        } catch (IllegalArgumentException | NullPointerException e) {
            throw new IllegalArgumentException("--pd must be colocated, separate or hybrid, got '" + s + "'");
        }
    }

    public boolean separated() {
        return this != COLOCATED;
    }
}
