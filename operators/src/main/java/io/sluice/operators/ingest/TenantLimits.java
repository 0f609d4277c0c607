package io.sluice.operators.ingest;

/**
 * What one tenant may ask for: a ceiling on priority weight (higher weights are clamped to it),
 * and the largest prompt and output it may submit (larger requests are rejected).
 */
public record TenantLimits(double maxPriorityWeight, int maxPromptTokens, int maxNewTokens)
        implements java.io.Serializable {

    /** Limits for a tenant table that names no tenants: generous, but still bounded. */
    public static final TenantLimits OPEN = new TenantLimits(16.0, 1 << 20, 1 << 16);

    public TenantLimits {
        if (!(maxPriorityWeight > 0) || !Double.isFinite(maxPriorityWeight)) {
            throw new IllegalArgumentException("max_weight must be a positive number, got " + maxPriorityWeight);
        }
        if (maxPromptTokens <= 0) {
            throw new IllegalArgumentException("max_prompt must be positive, got " + maxPromptTokens);
        }
        if (maxNewTokens <= 0) {
            throw new IllegalArgumentException("max_output must be positive, got " + maxNewTokens);
        }
    }
}
