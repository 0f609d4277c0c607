package io.sluice.job.sim;

import java.util.Locale;

/** The trace file formats {@link TraceReader} understands. */
public enum TraceFormat {
    /**
     * Timed CSV traces: Azure LLM inference ({@code TIMESTAMP,ContextTokens,GeneratedTokens}, dates or seconds) and
     * BurstGPT ({@code Timestamp} in seconds, {@code Request tokens}, {@code Response tokens}).
     */
    AZURE,
    /** Mooncake traces: JSON lines {@code timestamp} (ms), {@code input_length}, {@code output_length}, {@code hash_ids}. */
    MOONCAKE,
    /** A CSV of lengths without times (e.g. vidur's); arrivals are drawn as a Poisson process. */
    LENGTHS;

    /** Parses {@code azure|mooncake|lengths}, case-insensitively. */
    public static TraceFormat parse(String name) {
        try {
            return valueOf(name.trim().toUpperCase(Locale.ROOT));
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException("unknown trace format '" + name + "'; use azure, mooncake or lengths");
        }
    }
}
