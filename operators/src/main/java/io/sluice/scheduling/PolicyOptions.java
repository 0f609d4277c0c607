package io.sluice.scheduling;

/**
 * Knobs shared by the policies.
 *
 * @param maxBatchTokens   tokens one batch may compute (vLLM's max_num_batched_tokens)
 * @param maxSequences     sequences one instance may hold running (vLLM's max_num_seqs)
 * @param minChunkTokens   smallest prefill chunk a time-budgeted policy will cut (slidebatching: 50)
 * @param lambda           slidebatching urgency factor: urgent when remaining time < lambda x load
 * @param theta            starvation factor: starved when later than its SLO by more than theta x SLO
 * @param budgetFloor      slidebatching: the time budget is at least this fraction of the smallest TPOT SLO
 * @param maxBudgetMs      upper bound on a batch's time budget (responsiveness to new arrivals)
 * @param defaultTpotMs    TPOT assumed where no request states one (sarathi's budget; batch-class pacing)
 * @param defaultTtftMs    first-token target the deadline-aware policies order by where a request has none (no SLO,
 *                         or a TPOT only): without one it ranked after every request that has one, and under
 *                         overload never ran; it orders, it is no SLO (such a request is never late). The router's
 *                         default (RouterOptions#defaultTtftMs), so it is routed and ordered alike
 * @param dropLate         reject requests that can no longer meet their SLO instead of serving them late
 * @param sliceTokens      scls: tokens generated per slice before a request goes back to the queue
 */
public record PolicyOptions(int maxBatchTokens, int maxSequences, int minChunkTokens, double lambda, double theta,
                            double budgetFloor, double maxBudgetMs, double defaultTpotMs, double defaultTtftMs,
                            boolean dropLate, int sliceTokens) implements java.io.Serializable {

    public PolicyOptions {
        if (maxBatchTokens < 1) {
            throw new IllegalArgumentException("maxBatchTokens must be >= 1, got " + maxBatchTokens);
        }
        if (maxSequences < 1) {
            throw new IllegalArgumentException("maxSequences must be >= 1, got " + maxSequences);
        }
        if (minChunkTokens < 1 || minChunkTokens > maxBatchTokens) {
            throw new IllegalArgumentException("minChunkTokens must be in [1, maxBatchTokens], got " + minChunkTokens);
        }
        if (!(lambda > 0) || !(theta > 0)) {
            throw new IllegalArgumentException("lambda and theta must be > 0, got " + lambda + ", " + theta);
        }
        if (!(budgetFloor > 0 && budgetFloor <= 1)) {
            throw new IllegalArgumentException("budgetFloor must be in (0, 1], got " + budgetFloor);
        }
        if (!(maxBudgetMs > 0) || !(defaultTpotMs > 0) || !(defaultTtftMs > 0) || Double.isInfinite(defaultTtftMs)) {
            throw new IllegalArgumentException("maxBudgetMs, defaultTpotMs and defaultTtftMs must be > 0, got "
                    + maxBudgetMs + ", " + defaultTpotMs + ", " + defaultTtftMs);
        }
        if (sliceTokens < 1) {
            throw new IllegalArgumentException("sliceTokens must be >= 1, got " + sliceTokens);
        }
    }

    /** vLLM v1's defaults for a large (>= 70 GiB) accelerator: 8192 batched tokens, 1024 sequences. */
    public static PolicyOptions defaults() {
        return new PolicyOptions(8192, 1024, 50, 1.0, 1.0, 0.65, 1000.0, 100.0, 1000.0, false, 128);
    }

    /**
     * vLLM v1's per-device defaults for its API server: 8192 tokens and 1024 sequences on accelerators
     * with at least 70 GiB, else 2048 tokens and 256 sequences.
     */
    public static PolicyOptions forDeviceMemory(double gib) {
        PolicyOptions d = defaults();
        return gib >= 70 ? d : d.withBatchLimits(2048, 256);
    }

    public PolicyOptions withBatchLimits(int tokens, int sequences) {
        return new PolicyOptions(tokens, sequences, Math.min(minChunkTokens, tokens), lambda, theta, budgetFloor,
                maxBudgetMs, defaultTpotMs, defaultTtftMs, dropLate, sliceTokens);
    }

    public PolicyOptions withDropLate(boolean drop) {
        return new PolicyOptions(maxBatchTokens, maxSequences, minChunkTokens, lambda, theta, budgetFloor, maxBudgetMs,
                defaultTpotMs, defaultTtftMs, drop, sliceTokens);
    }

    public PolicyOptions withLambdaTheta(double newLambda, double newTheta) {
        return new PolicyOptions(maxBatchTokens, maxSequences, minChunkTokens, newLambda, newTheta, budgetFloor,
                maxBudgetMs, defaultTpotMs, defaultTtftMs, dropLate, sliceTokens);
    }

    public PolicyOptions withMaxBudgetMs(double ms) {
        return new PolicyOptions(maxBatchTokens, maxSequences, minChunkTokens, lambda, theta, budgetFloor, ms,
                defaultTpotMs, defaultTtftMs, dropLate, sliceTokens);
    }

    public PolicyOptions withDefaultTpotMs(double ms) {
        return new PolicyOptions(maxBatchTokens, maxSequences, minChunkTokens, lambda, theta, budgetFloor, maxBudgetMs,
                ms, defaultTtftMs, dropLate, sliceTokens);
    }

    public PolicyOptions withDefaultTtftMs(double ms) {
        return new PolicyOptions(maxBatchTokens, maxSequences, minChunkTokens, lambda, theta, budgetFloor, maxBudgetMs,
                defaultTpotMs, ms, dropLate, sliceTokens);
    }

    public PolicyOptions withSliceTokens(int tokens) {
        return new PolicyOptions(maxBatchTokens, maxSequences, minChunkTokens, lambda, theta, budgetFloor, maxBudgetMs,
                defaultTpotMs, defaultTtftMs, dropLate, tokens);
    }
}
