package io.sluice.scheduling;

/**
 * Sarathi-Serve: stall-free batching. Every running decode first, then prefill chunks (running
 * prefills, then waiting ones in arrival order) within a token budget profiled from the TPOT SLO:
 * the largest chunk that, added to this round's decodes, keeps the estimated step within the
 * tightest TPOT target present. On vLLM's loop otherwise (head-of-line, preempt newest).
 */
final class SarathiPolicy extends VllmStylePolicy {

    private Request[] tmp = new Request[64];

    SarathiPolicy(PolicyOptions options) {
        super(options);
    }

    @Override
    public String name() {
        return "sarathi";
    }

    @Override
    protected void orderRunning(InstanceState s, double nowMs) {
        // Decodes first, stable: one pass moving decodes to the front keeps each group's order.
        if (tmp.length < nRun) {
            tmp = new Request[run.length];
        }
        int w = 0;
        int t = 0;
        for (int i = 0; i < nRun; i++) {
            if (run[i].isDecodePhase()) {
                run[w++] = run[i];
            } else {
                tmp[t++] = run[i];
            }
        }
        System.arraycopy(tmp, 0, run, w, t);
        java.util.Arrays.fill(tmp, 0, t, null);
    }

    @Override
    protected int tokenBudget(InstanceState s, double nowMs) {
        double target = Double.POSITIVE_INFINITY;
        for (int i = 0, k = s.running().size(); i < k; i++) {
            Request r = s.running().get(i);
            target = Math.min(target, Deadlines.pace(r, options));
        }
        for (int i = 0, k = s.waiting().size(); i < k; i++) {
            Request r = s.waiting().get(i);
            target = Math.min(target, Deadlines.pace(r, options));
        }
        if (target == Double.POSITIVE_INFINITY) {
            target = options.defaultTpotMs();
        }
        LatencyModel m = s.estimator();
        int decodes = 0;
        long ctx = 0;
        for (int i = 0, k = s.running().size(); i < k; i++) {
            Request r = s.running().get(i);
            if (r.isDecodePhase() && !r.inFlight) {
                decodes++;
                ctx += r.contextTokens();
            }
        }
        double decodeWork = decodes == 0 ? 0 : m.decodeMs(decodes, ctx) - m.b0();
        double left = target - m.overheadMs(true, decodes > 0) - decodeWork;
        // Largest prefill chunk (priced with no cache: the profile's shape) that fits what is left.
        int lo = 0;
        int hi = options.maxBatchTokens();
        while (lo < hi) {
            int mid = (lo + hi + 1) >>> 1;
            if (m.chunkWorkMs(mid, 0) <= left) {
                lo = mid;
            } else {
                hi = mid - 1;
            }
        }
        return decodes + Math.max(lo, options.minChunkTokens());
    }
}
