package io.sluice.scheduling;

import java.util.List;

/**
 * Slice-level scheduling (SCLS). The generation limit is cut into fixed slices of
 * {@code sliceTokens}; a batch is formed once per slice and runs, without admissions, until each of
 * its requests has generated a slice (or finished), so its memory is known in advance. Each new
 * slice picks its batch by a 0/1 knapsack DP: value = tokens the request would generate in the
 * slice plus a slice's worth per second waited (so no request is skipped forever), memory = KV
 * blocks for its known tokens plus the slice, under the instance's block capacity and max sequences. Running
 * requests not picked are preempted (to the host tier when there is room). The cross-instance half,
 * max-min offload, is {@link Router#leastLoaded()}.
 */
final class SclsPolicy implements BatchPolicy {

    private static final int UNITS = 256;
    private static final int MAX_ITEMS = 128;

    private final PolicyOptions options;
    private final PlanBuilder b = new PlanBuilder();
    private Request[] cand = new Request[64];
    private final int[] mem = new int[MAX_ITEMS];
    private final int[] peak = new int[MAX_ITEMS];
    private final double[] best = new double[UNITS + 1];
    private final boolean[][] take = new boolean[MAX_ITEMS][UNITS + 1];

    SclsPolicy(PolicyOptions options) {
        this.options = options;
    }

    @Override
    public String name() {
        return "scls";
    }

    private boolean inSlice(Request r) {
        return r.sliceStart >= 0 && r.generatedTokens() - r.sliceStart < options.sliceTokens();
    }

    @Override
    public BatchPlan plan(InstanceState s, double nowMs) {
        b.reset(s);
        boolean sliceRunning = false;
        for (int i = 0, k = s.running().size(); i < k; i++) {
            Request r = s.running().get(i);
            r.flags = 0;
            if (inSlice(r)) {
                sliceRunning = true;
            }
        }
        if (sliceRunning) {
            fillSlice(s);
            return b.build();
        }
        int n = 0;
        for (int i = 0, k = s.running().size(); i < k; i++) {
            Request r = s.running().get(i);
            if (!r.inFlight) {
                cand = VllmStylePolicy.push(cand, n++, r);
            }
        }
        List<Request> queue = s.waiting();
        for (int i = 0, size = queue.size(); i < size; i++) {
            Request r = queue.get(i);
            if (r.readyMs <= nowMs) {
                r.flags = 0;
                cand = VllmStylePolicy.push(cand, n++, r);
            }
        }
        if (n == 0) {
            return BatchPlan.EMPTY;
        }
        int items = Math.min(n, MAX_ITEMS);
        int capacity = b.freeBlocks;
        for (int i = 0; i < n; i++) {
            if (cand[i].kvBlocks > 0) {
                capacity += cand[i].kvBlocks;
            }
        }
        int chosen = pick(s, items, capacity, nowMs);
        int need = 0;
        int resident = 0;
        for (int i = 0; i < n; i++) {
            Request r = cand[i];
            if (i < items && r.sortKey > 0) {
                r.sliceStart = r.generatedTokens();
                need += Math.max(0, slicePeakBlocks(s, r) - r.kvBlocks);
            } else if (holdsDevice(r)) {
                resident++;
            }
        }
        // A running request left out keeps its blocks unless the slice needs them or max sequences is
        // reached: preempted newest first (the right end), only that far. Preempting the rest would
        // free blocks nobody takes, and the instance brings a sequence swapped out for nothing
        // straight back within the same apply.
        for (int i = n - 1; i >= 0; i--) {
            Request r = cand[i];
            if ((i < items && r.sortKey > 0) || !holdsDevice(r)) {
                continue;
            }
            if (need > b.freeBlocks || chosen + resident > options.maxSequences()) {
                b.preempt(r);
                resident--;
            }
        }
        int tokens = options.maxBatchTokens();
        int seqs = 0;
        for (int i = 0; i < items; i++) {
            Request r = cand[i];
            if (r.sortKey > 0 && seqs < options.maxSequences() && tokens > 0) {
                tokens -= add(r, tokens);
                seqs++;
            }
        }
        java.util.Arrays.fill(cand, 0, n, null);
        return b.build();
    }

    /**
     * Continues the current slice: every running request still inside its slice, no admissions. The
     * slice's memory was budgeted when it formed, but sequences swapped back in can overdraw it: then
     * the newest running sequence is preempted, as vLLM does, so the slice cannot deadlock.
     */
    private void fillSlice(InstanceState s) {
        int tokens = options.maxBatchTokens();
        List<Request> running = s.running();
        int victims = running.size() - 1;
        for (int i = 0; i < running.size() && tokens > 0; i++) {
            Request r = running.get(i);
            if (r.inFlight || !inSlice(r) || (r.flags & PlanBuilder.PREEMPTED) != 0) {
                continue;
            }
            int need = r.isDecodePhase() ? 1 : Math.min(Math.min(r.remainingPrefill(), tokens), options.minChunkTokens());
            while (b.extraBlocks(r, need) > b.freeBlocks && victims >= i) {
                Request v = running.get(victims--);
                if (!v.inFlight && (v.flags & (PlanBuilder.PREEMPTED | PlanBuilder.SCHEDULED)) == 0) {
                    b.preempt(v);
                }
            }
            if ((r.flags & PlanBuilder.PREEMPTED) != 0) {
                break;
            }
            tokens -= add(r, tokens);
        }
    }

    private int add(Request r, int tokens) {
        if (r.isDecodePhase()) {
            if (!b.hasBlocks(r, 1)) {
                return 0;
            }
            b.addDecode(r);
            return 1;
        }
        int chunk = Math.min(Math.min(r.remainingPrefill(), tokens), b.tokensFitting(r));
        if (chunk <= 0) {
            return 0;
        }
        b.addChunk(r, chunk);
        return chunk;
    }

    private static boolean holdsDevice(Request r) {
        return r.kvBlocks > 0 && (r.state() == RequestState.PREFILLING || r.state() == RequestState.DECODING);
    }

    /** Device blocks {@code r} holds at the end of a slice: its known tokens plus the slice. */
    private int slicePeakBlocks(InstanceState s, Request r) {
        return s.blocks().blocksFor((long) r.knownTokens() + Math.min(options.sliceTokens(), r.remainingTokens()));
    }

    /**
     * Knapsack over the first {@code items} candidates; marks the chosen with sortKey 1, others 0,
     * and returns how many it chose. Memory is counted in whole units of a 256th of the capacity,
     * each item's rounded up, so the DP can leave out requests that do fit: those that fit in the
     * blocks left over, in candidate order (running first), join afterwards.
     */
    private int pick(InstanceState s, int items, int capacity, double nowMs) {
        int unit = Math.max(1, (capacity + UNITS - 1) / UNITS);
        int cap = capacity / unit;
        java.util.Arrays.fill(best, 0);
        for (int i = 0; i < items; i++) {
            Request r = cand[i];
            r.sortKey = 0;
            java.util.Arrays.fill(take[i], false);
            int slice = Math.min(options.sliceTokens(), r.remainingTokens());
            int blocks = slicePeakBlocks(s, r);
            peak[i] = blocks;
            mem[i] = (blocks + unit - 1) / unit;
            if (mem[i] > cap) {
                continue;
            }
            double waited = Math.max(0, nowMs - r.arrivalMs());
            // Aging: a second of waiting is worth a whole slice of tokens, whatever the request has left,
            // so a request that waited a second longer beats one of its size. Aging by multiplying the
            // tokens kept their ratio: one with 1 token left had to have waited about sliceTokens times
            // as long as one with a full slice left (243 s in a simulated run).
            double value = slice + options.sliceTokens() * waited / 1000.0;
            for (int u = cap; u >= mem[i]; u--) {
                double v = best[u - mem[i]] + value;
                if (v > best[u]) {
                    best[u] = v;
                    take[i][u] = true;
                }
            }
        }
        int u = cap;
        int chosen = 0;
        for (int i = items - 1; i >= 0; i--) {
            if (take[i][u]) {
                cand[i].sortKey = 1;
                u -= mem[i];
                chosen++;
            }
        }
        // Respect max sequences: keep the earliest chosen ones.
        if (chosen > options.maxSequences()) {
            int kept = 0;
            for (int i = 0; i < items; i++) {
                if (cand[i].sortKey > 0 && ++kept > options.maxSequences()) {
                    cand[i].sortKey = 0;
                }
            }
            return options.maxSequences();
        }
        long left = capacity;
        for (int i = 0; i < items; i++) {
            if (cand[i].sortKey > 0) {
                left -= peak[i];
            }
        }
        for (int i = 0; i < items && chosen < options.maxSequences(); i++) {
            if (cand[i].sortKey == 0 && peak[i] <= left) {
                cand[i].sortKey = 1;
                left -= peak[i];
                chosen++;
            }
        }
        return chosen;
    }
}
