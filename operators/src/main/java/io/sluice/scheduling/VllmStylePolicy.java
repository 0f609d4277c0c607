package io.sluice.scheduling;

import java.util.List;

/**
 * The vLLM v1 scheduling loop that fcfs, priority, sjf and sarathi share: no prefill or decode phase,
 * each request's computed tokens catch up with its known tokens. Running requests first (in the
 * policy's running order), each taking min(tokens left, token budget); when KV blocks run out a
 * victim is preempted (by default the newest running request, possibly the request itself, which
 * ends the running pass). Only in a round without preemptions, and while no request is swapped to the
 * host tier, are waiting requests admitted, in the policy's waiting order, until the token budget or
 * max sequences is spent or the head request's blocks do not fit (head-of-line: later requests do not
 * jump it).
 */
abstract class VllmStylePolicy implements BatchPolicy {

    protected final PolicyOptions options;
    protected final PlanBuilder b = new PlanBuilder();
    protected final Sorting sorting = new Sorting();
    protected Request[] run = new Request[64];
    protected Request[] wait = new Request[64];
    protected int nRun;
    protected int nWait;

    VllmStylePolicy(PolicyOptions options) {
        this.options = options;
    }

    @Override
    public BatchPlan plan(InstanceState s, double nowMs) {
        b.reset(s);
        nRun = 0;
        for (int i = 0, k = s.running().size(); i < k; i++) {
            Request r = s.running().get(i);
            if (!r.inFlight) {
                r.flags = 0;
                run = push(run, nRun++, r);
            }
        }
        orderRunning(s, nowMs);
        int budget = tokenBudget(s, nowMs);
        for (int i = 0; i < nRun && budget > 0; i++) {
            Request r = run[i];
            if ((r.flags & PlanBuilder.PREEMPTED) != 0) {
                continue;
            }
            int n = r.isDecodePhase() ? 1 : Math.min(r.remainingPrefill(), budget);
            boolean selfPreempted = false;
            while (b.extraBlocks(r, n) > b.freeBlocks) {
                Request v = victim();
                if (v == null) {
                    break;
                }
                b.preempt(v);
                if (v == r) {
                    selfPreempted = true;
                    break;
                }
            }
            if (selfPreempted || b.extraBlocks(r, n) > b.freeBlocks) {
                break;
            }
            add(r, n);
            budget -= n;
        }
        // A swapped request is no candidate here: it comes back (InstanceState's prefetch) only into the
        // blocks this plan leaves free, so admitting new requests meanwhile could keep it on the host for as
        // long as they arrive. vLLM schedules no prefill while a request is swapped.
        if (!b.hasPreemptions() && s.swapped().isEmpty()) {
            int seqs = s.running().size();
            List<Request> queue = s.waiting();
            // Queue order walks the queue itself up to the head-of-line stop instead of copying every ready
            // request first (under overload the queue holds thousands); other orders sort a copy.
            boolean ordered = ordersWaiting();
            if (ordered) {
                nWait = 0;
                for (int i = 0, size = queue.size(); i < size; i++) {
                    Request r = queue.get(i);
                    if (r.readyMs <= nowMs) {
                        r.flags = 0;
                        wait = push(wait, nWait++, r);
                    }
                }
                orderWaiting(s, nowMs);
            }
            int candidates = ordered ? nWait : queue.size();
            for (int i = 0; i < candidates && budget > 0 && seqs < options.maxSequences(); i++) {
                Request r = ordered ? wait[i] : queue.get(i);
                if (!ordered) {
                    if (r.readyMs > nowMs) {
                        continue;
                    }
                    r.flags = 0;
                }
                int n = r.isDecodePhase() ? 1 : Math.min(r.remainingPrefill(), budget);
                if (!b.hasBlocks(r, n)) {
                    break;
                }
                add(r, n);
                budget -= n;
                seqs++;
            }
        }
        return b.build();
    }

    private void add(Request r, int n) {
        if (r.isDecodePhase()) {
            b.addDecode(r);
        } else {
            b.addChunk(r, n);
        }
    }

    /** Token budget of this round; vLLM's max_num_batched_tokens by default. */
    protected int tokenBudget(InstanceState s, double nowMs) {
        return options.maxBatchTokens();
    }

    /** Reorders {@code run[0, nRun)}; admission order by default. */
    protected void orderRunning(InstanceState s, double nowMs) {
    }

    /**
     * Reorders {@code wait[0, nWait)}; queue order (preempted first, then arrival) by default. Called
     * only when {@link #ordersWaiting()} is true.
     */
    protected void orderWaiting(InstanceState s, double nowMs) {
    }

    /** Whether the policy reorders waiting requests ({@link #orderWaiting}); false admits in queue order. */
    protected boolean ordersWaiting() {
        return false;
    }

    /** The running request to preempt next; by default the newest not yet preempted (vLLM: running.pop()). */
    protected Request victim() {
        for (int i = nRun - 1; i >= 0; i--) {
            Request r = run[i];
            if ((r.flags & (PlanBuilder.PREEMPTED | PlanBuilder.SCHEDULED)) == 0) {
                return r;
            }
        }
        return null;
    }

    static Request[] push(Request[] a, int i, Request r) {
        if (i == a.length) {
            a = java.util.Arrays.copyOf(a, a.length * 2);
        }
        a[i] = r;
        return a;
    }
}
