package io.sluice.scheduling;

/**
 * Service-level objective of one request: either interactive (TTFT and TPOT targets) or a completion
 * deadline for batch work. Absent targets are NaN; the deadline is relative to arrival.
 */
public record Slo(double ttftMs, double tpotMs, double deadlineMs) {

    /** No target at all: always met once finished. */
    public static final Slo NONE = new Slo(Double.NaN, Double.NaN, Double.NaN);

    public Slo {
        check(ttftMs, "ttftMs");
        check(tpotMs, "tpotMs");
        check(deadlineMs, "deadlineMs");
    }

    private static void check(double v, String name) {
        if (!Double.isNaN(v) && !(v > 0 && v < Double.POSITIVE_INFINITY)) {
            throw new IllegalArgumentException(name + " must be a positive number of milliseconds or NaN (absent), got " + v);
        }
    }

    /** Interactive request: first token within {@code ttftMs}, then a mean of {@code tpotMs} per token. */
    public static Slo interactive(double ttftMs, double tpotMs) {
        return new Slo(ttftMs, tpotMs, Double.NaN);
    }

    /** Batch request: finished within {@code deadlineMs} of arrival. */
    public static Slo deadline(double deadlineMs) {
        return new Slo(Double.NaN, Double.NaN, deadlineMs);
    }

    public boolean hasTtft() {
        return !Double.isNaN(ttftMs);
    }

    public boolean hasTpot() {
        return !Double.isNaN(tpotMs);
    }

    public boolean hasDeadline() {
        return !Double.isNaN(deadlineMs);
    }
}
