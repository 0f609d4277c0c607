package io.sluice.job.cli;

import java.io.PrintWriter;

/**
 * A progress line on stderr: rewritten in place on a terminal, a plain line each time otherwise (a file or a CI
 * log would get the cursor codes as junk between its lines).
 */
final class ProgressLine {

    private final PrintWriter err;
    private final boolean terminal;

    ProgressLine(PrintWriter err) {
        this(err, System.console() != null);
    }

    ProgressLine(PrintWriter err, boolean terminal) {
        this.err = err;
        this.terminal = terminal;
    }

    /** Shows {@code text} in place of the previous progress. */
    void show(String text) {
        if (terminal) {
            err.print("\r\033[K" + text);
        } else {
            err.println(text);
        }
        err.flush();
    }

    /** Ends the progress on a terminal with its last text left standing; a plain line stays as it is. */
    void keep() {
        if (terminal) {
            err.println();
            err.flush();
        }
    }

    /** Removes the progress from a terminal before a result is printed; a plain line stays as it is. */
    void clear() {
        if (terminal) {
            err.print("\r\033[K");
            err.flush();
        }
    }
}
