package io.sluice.job.cli;

/**
 * The numeric option checks the commands share, made before anything starts: each message names the option and
 * the value given, and the command line turns the exception into a usage error (exit 2).
 */
final class OptionChecks {

    private OptionChecks() {}

    /** {@code option} must be at least {@code min}. */
    static void atLeast(String option, long value, long min) {
        if (value < min) {
            throw new IllegalArgumentException(option + " must be at least " + min + ", got " + value);
        }
    }

    /** As {@link #atLeast(String, long, long)} for an option that may be left out (null: its default). */
    static void atLeastIfGiven(String option, Integer value, long min) {
        if (value != null) {
            atLeast(option, value, min);
        }
    }

    /** {@code option} must be 0 or more. */
    static void notNegative(String option, long value) {
        if (value < 0) {
            throw new IllegalArgumentException(option + " must be >= 0, got " + value);
        }
    }

    /** {@code option} must be a finite number above 0 (NaN and infinity are refused too). */
    static void positive(String option, double value) {
        if (!(value > 0) || Double.isInfinite(value)) {
            throw new IllegalArgumentException(option + " must be a positive number, got " + value);
        }
    }
}
