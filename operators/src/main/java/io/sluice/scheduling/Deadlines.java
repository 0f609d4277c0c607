package io.sluice.scheduling;

/**
 * Per-request deadlines as the deadline-aware policies see them. Interactive: the first token is due
 * at arrival + TTFT SLO, token k after it at first-token time + k x TPOT SLO. Batch class (completion
 * deadline D only): the decode is paced evenly from the first token to D, and the first token is due
 * early enough to leave that pacing at least {@code defaultTpotMs} per token. A request without a target is
 * ordered by the defaults: its first token due {@code defaultTtftMs} after arrival, the next ones
 * {@code defaultTpotMs} apart.
 */
final class Deadlines {

    private Deadlines() {
    }

    /** When the first token is due: by the TTFT SLO, the completion deadline, else {@link PolicyOptions#defaultTtftMs}. */
    static double firstToken(Request r, PolicyOptions o) {
        Slo s = r.slo();
        if (s.hasTtft()) {
            return r.arrivalMs() + s.ttftMs();
        }
        if (s.hasDeadline()) {
            double decodeShare = (r.maxNewTokens() - 1) * o.defaultTpotMs();
            // Keep at least a tenth of the deadline for the prefill, however long the output.
            return r.arrivalMs() + Math.max(0.1 * s.deadlineMs(), s.deadlineMs() - decodeShare);
        }
        // No first-token target (no SLO, or a TPOT only): ordered as if it had the default one. At +infinity it
        // ranked after every request with a target, and under overload never ran. lost() reads the SLO itself,
        // so such a request is never late.
        return r.arrivalMs() + o.defaultTtftMs();
    }

    /** Per-token pace after the first token (TPOT SLO, or the even pace to the deadline); +infinity without. */
    static double pace(Request r, PolicyOptions o) {
        Slo s = r.slo();
        if (s.hasTpot()) {
            return s.tpotMs();
        }
        if (s.hasDeadline()) {
            if (r.maxNewTokens() <= 1) {
                return Double.POSITIVE_INFINITY;
            }
            double first = Double.isNaN(r.firstTokenMs()) ? firstToken(r, o) : r.firstTokenMs();
            return Math.max(0.0, r.arrivalMs() + s.deadlineMs() - first) / (r.maxNewTokens() - 1);
        }
        return Double.POSITIVE_INFINITY;
    }

    /**
     * The pace a batch holding {@code r} must keep: its {@link #pace}, except for a batch-class request that has
     * lost its deadline, which has none left (its even pace shrinks to 0 once its first token came after the
     * deadline, and would cut every batch to one decode). A TPOT target stays a pace however late the request is.
     */
    static double batchPace(Request r, boolean lost, PolicyOptions o) {
        return lost && !r.slo().hasTpot() ? Double.POSITIVE_INFINITY : pace(r, o);
    }

    /** When the request's next token is due. */
    static double next(Request r, PolicyOptions o) {
        if (r.generatedTokens() == 0) {
            return firstToken(r, o);
        }
        // Without a pace (no TPOT, no deadline) the default one orders the decode: at +infinity an edf decode
        // ranked after every other request for good.
        double p = pace(r, o);
        return r.firstTokenMs() + r.generatedTokens() * (p == Double.POSITIVE_INFINITY ? o.defaultTpotMs() : p);
    }

    /**
     * True when the SLO can no longer be met even if the request ran alone from now on:
     * {@code ownMs} is its estimate for its next step, {@code stepMs} for one decode step alone.
     */
    static boolean lost(Request r, double nowMs, double ownMs, double stepMs, PolicyOptions o) {
        Slo s = r.slo();
        if (r.generatedTokens() == 0) {
            double first = nowMs + ownMs;
            if (s.hasTtft() && first > r.arrivalMs() + s.ttftMs()) {
                return true;
            }
            return s.hasDeadline() && first + (r.maxNewTokens() - 1) * stepMs > r.arrivalMs() + s.deadlineMs();
        }
        if (s.hasTtft() && r.ttftMs() > s.ttftMs()) {
            return true;
        }
        double finish = nowMs + ownMs + (r.remainingTokens() - 1) * stepMs;
        if (s.hasDeadline() && finish > r.arrivalMs() + s.deadlineMs()) {
            return true;
        }
        return s.hasTpot() && r.maxNewTokens() > 1
                && (finish - r.firstTokenMs()) / (r.maxNewTokens() - 1) > s.tpotMs();
    }
}
