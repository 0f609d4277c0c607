package io.sluice.job.sim;

/**
 * One traffic class of a {@link Mix}: its share of requests, priority weight and SLO. A bound
 * that does not apply is {@link Double#POSITIVE_INFINITY} (a batch class has only a deadline).
 */
public record ServiceClass(String name, double share, double weight, double ttftMs, double tpotMs, double deadlineMs) {

    public ServiceClass {
        if (name == null || name.isBlank()) {
            throw new IllegalArgumentException("a class needs a name");
        }
        if (!(share > 0) || !(weight > 0) || Double.isInfinite(share) || Double.isInfinite(weight)) {
            throw new IllegalArgumentException("class " + name + ": share and w must be finite and > 0");
        }
        if (!(ttftMs > 0) || !(tpotMs > 0) || !(deadlineMs > 0)) {
            throw new IllegalArgumentException("class " + name + ": ttft, tpot and deadline must be > 0");
        }
        if (Double.isInfinite(ttftMs) && Double.isInfinite(tpotMs) && Double.isInfinite(deadlineMs)) {
            throw new IllegalArgumentException("class " + name + ": give it an SLO (ttft=, tpot= or deadline=, in ms)");
        }
    }

    /** Whether a request with these measurements meets this class's SLO. */
    public boolean met(double ttft, double meanTpot, double latency) {
        return ttft <= ttftMs && meanTpot <= tpotMs && latency <= deadlineMs;
    }
}
