package io.sluice.job.sim;

/**
 * How many instances run and in which roles: {@code N} colocated (mixed) instances, or
 * {@code P:D} prefill and decode instances under PD separation.
 */
public record Topology(int mixed, int prefill, int decode) {

    public Topology {
        if (mixed < 0 || prefill < 0 || decode < 0) {
            throw new IllegalArgumentException("instance counts must be >= 0");
        }
        boolean separated = prefill > 0 || decode > 0;
        if (separated && (mixed > 0 || prefill == 0 || decode == 0)) {
            throw new IllegalArgumentException("PD separation needs at least one prefill and one decode instance (P:D)");
        }
        if (!separated && mixed == 0) {
            throw new IllegalArgumentException("need at least one instance");
        }
    }

    /** Parses {@code N} or {@code P:D}. */
    public static Topology parse(String spec) {
        try {
            String s = spec.trim();
            int colon = s.indexOf(':');
            if (colon < 0) {
                return new Topology(Integer.parseInt(s), 0, 0);
            }
            return new Topology(0, Integer.parseInt(s.substring(0, colon).trim()),
                    Integer.parseInt(s.substring(colon + 1).trim()));
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException("--instances '" + spec
                    + "' must be N (colocated instances) or P:D (prefill:decode instances)");
        }
    }

    public boolean separated() {
        return prefill > 0;
    }

    public int total() {
        return mixed + prefill + decode;
    }

    @Override
    public String toString() {
        return separated() ? prefill + ":" + decode : Integer.toString(mixed);
    }
}
