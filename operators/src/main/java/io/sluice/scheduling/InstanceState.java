package io.sluice.scheduling;

import java.util.ArrayList;
import java.util.Collections;
import java.util.List;

/**
 * One model instance as the scheduler sees it: its role, KV block counts, latency estimator and
 * queues. The loop around it is plan, {@link #apply} at batch start, run, {@link #complete} at
 * batch end; nothing here reads a clock, every time is the caller's {@code nowMs}.
 *
 * <pre>
 *   enqueue -> waiting --apply(chunk)--> running (PREFILLING) --complete--> running (DECODING) --> FINISHED_OK
 *                 ^                         |  on a PREFILL instance the first token hands over: TRANSFERRING
 *                 +---- preempt (recompute) +---- preempt (host tier) --> swapped --prefetch--> running
 * </pre>
 * A handed-over request enqueued on a decode instance waits as TRANSFERRING until a plan admits it.
 * Backlog estimates are kept as running sums, so the router reads them in O(1).
 */
public final class InstanceState {

    private final int id;
    private Role role;
    private final KvBlockAccounting blocks;
    private final LatencyModel estimator;
    private final RequestQueue waiting =
            new RequestQueue(st -> st == RequestState.WAITING || st == RequestState.TRANSFERRING);
    private final RequestQueue running =
            new RequestQueue(st -> st == RequestState.PREFILLING || st == RequestState.DECODING);
    private final ArrayList<Request> swapped = new ArrayList<>();
    private final List<Request> swappedView = Collections.unmodifiableList(swapped);
    private long nextSeq;
    private long applyStamp;
    private int inFlightBatches;
    private boolean checkPlans = true;

    // Sums over requests with prefill left: count, d, d^2, d*p, p (d remaining, p cached).
    private int prefillCount;
    private double sumNew;
    private double sumNewSq;
    private double sumNewCached;
    private double sumCached;
    // Sums over requests in the decode phase here (running, swapped, or handed over and waiting).
    private int decodeCount;
    private double sumContext;
    // Blocks the handed-over sequences queued here (TRANSFERRING, KV possibly still in transit) take on admission.
    private int inboundBlocks;

    private long preemptions;
    private long swapOuts;
    private long swapIns;
    private double swapInMs;

    public InstanceState(int id, Role role, KvBlockAccounting blocks, LatencyModel estimator) {
        if (role == null || blocks == null || estimator == null) {
            throw new IllegalArgumentException("an instance needs a role, KV block accounting and a latency model");
        }
        this.id = id;
        this.role = role;
        this.blocks = blocks;
        this.estimator = estimator;
    }

    public int id() { return id; }
    public Role role() { return role; }
    public KvBlockAccounting blocks() { return blocks; }
    public LatencyModel estimator() { return estimator; }
    /** Queued requests in queue order (preempted ones first, then arrival order); read-only. */
    public List<Request> waiting() { return waiting; }
    /** Admitted requests holding device KV, in admission order; read-only. */
    public List<Request> running() { return running; }
    /** Requests preempted to the host tier; read-only. */
    public List<Request> swapped() { return swappedView; }
    /** Preemptions (recompute and swap) so far. */
    public long preemptions() { return preemptions; }
    public long swapOuts() { return swapOuts; }
    public long swapIns() { return swapIns; }
    /** Copy time spent bringing swapped sequences back, overlapped with batches. */
    public double swapInMs() { return swapInMs; }

    /**
     * Whether {@link #apply} checks the whole plan before changing anything (the default), so a plan a
     * policy got wrong leaves the instance as it was. Without it apply() still refuses what it cannot
     * carry out, but may have carried out part of the plan by then. A plan from a policy is checked in
     * production; the simulator turns the check off unless Java assertions are on (as in its tests),
     * because it is a sizable share of a simulated round.
     */
    public void checkPlans(boolean check) {
        this.checkPlans = check;
    }

    /** Changes the role; a PREFILL instance hands sequences over after their first token. */
    public void setRole(Role role) {
        if (role == null) {
            throw new IllegalArgumentException("role must not be null");
        }
        this.role = role;
    }

    /** Requests on this instance in any non-final state. */
    public int size() {
        return waiting.size() + running.size() + swapped.size();
    }

    /** True when nothing is queued, running or swapped. */
    public boolean isIdle() {
        return size() == 0;
    }

    /** Whether a batch has been applied and not yet completed. */
    public boolean busy() {
        return inFlightBatches > 0;
    }

    /** Requests with prefill work left here. */
    public int prefillQueueLength() { return prefillCount; }

    /** Requests in the decode phase here. */
    public int decodeSequences() { return decodeCount; }

    /** Total context of the decode-phase requests. */
    public long decodeContextTokens() { return (long) sumContext; }

    /**
     * KV blocks the handed-over sequences queued here and not yet admitted (their KV may still be in transit) will
     * take when a plan admits them: each its context and the next token, as {@link #apply} allocates them. They are
     * not in {@link KvBlockAccounting#freeBlocks()} yet, but promised: decode placement counts them against it.
     */
    public int inboundBlocks() { return inboundBlocks; }

    /**
     * The tightest TPOT SLO among the sequences here (running, queued, handed over, swapped), or
     * {@link Double#POSITIVE_INFINITY} when none has one: one more sequence slows every step here, so decode placement
     * must keep their pace too. The rule both routers read (the simulator's {@code Router} from this state, the job's
     * {@code DecodePlacement} from the decode instance's status). Only an explicit TPOT SLO counts: a request without
     * one has no pace to miss, and a completion deadline's even pace shrinks to nothing once the deadline is lost (as
     * the policies ignore it then), which would close the instance to every handoff.
     */
    public double tightestTpotMs() {
        double t = Double.POSITIVE_INFINITY;
        t = tightestTpotMs(t, running);
        t = tightestTpotMs(t, waiting);
        return tightestTpotMs(t, swapped);
    }

    /** The tightest of {@code t} and the TPOT SLOs of {@code requests} (only an explicit one counts). */
    static double tightestTpotMs(double t, List<Request> requests) {
        for (int k = 0, m = requests.size(); k < m; k++) {
            Slo slo = requests.get(k).slo();
            if (slo.hasTpot()) {
                t = Math.min(t, slo.tpotMs());
            }
        }
        return t;
    }

    /** Prefill tokens still to compute here. */
    public long prefillTokensQueued() { return (long) sumNew; }

    /**
     * Predicted time to work off the queued prefills, each priced alone: what a new request waits
     * before its own prefill if served in order.
     */
    public double backlogMs() {
        LatencyModel m = estimator;
        return prefillCount * m.coefficient(0) + m.coefficient(1) * sumNew + m.coefficient(2) * sumNewSq
                + m.coefficient(3) * sumNewCached + m.coefficient(4) * sumCached;
    }

    /** Estimated time of one decode step over every decode-phase request here. */
    public double decodeStepMs() {
        return estimator.decodeMs(decodeCount, (long) sumContext);
    }

    /** Estimated decode step with one more sequence of {@code context} tokens. */
    public double decodeStepMsWith(long context) {
        return estimator.decodeMs(decodeCount + 1, (long) sumContext + context);
    }

    /**
     * Queues a new arrival, or a request handed over from a prefill instance (then in its decode
     * phase). Rejects (returns false, state REJECTED) a request whose full length can never fit in
     * this instance's KV cache, rather than letting it block the queue forever.
     */
    public boolean enqueue(Request r, double nowMs) {
        return enqueue(r, nowMs, nowMs);
    }

    /**
     * Queues a request that policies may schedule only from {@code readyAtMs} on: a handed-over
     * sequence whose KV is still in transit ({@link Router#handoffMs}). It counts toward this
     * instance's load from now, so routing sees it at once.
     */
    public boolean enqueue(Request r, double nowMs, double readyAtMs) {
        if (r.state().isFinished()) {
            throw new IllegalArgumentException("request " + r.id() + " is already " + r.state());
        }
        if (r.instanceId >= 0 && r.instanceId != id && r.kvBlocks > 0) {
            throw new IllegalArgumentException("request " + r.id() + " still holds KV blocks on instance " + r.instanceId);
        }
        if (!blocks.fitsEver((long) r.promptTokens() + r.maxNewTokens())) {
            r.finish(RequestState.REJECTED, nowMs);
            return false;
        }
        r.instanceId = id;
        r.seq = nextSeq++;
        r.inFlight = false;
        r.applyStamp = 0;
        r.readyMs = readyAtMs;
        if (r.generatedTokens() > 0 && r.remainingPrefill() == 0) {
            r.setState(RequestState.TRANSFERRING);
        } else {
            r.setState(RequestState.WAITING);
        }
        waiting.append(r);
        track(r);
        return true;
    }

    /**
     * Carries out a plan at batch start: preemptions (to the host tier when it has room, else
     * recompute), drops, KV allocation for every chunk and decode, then prefetch of swapped
     * sequences whose copy fits in this batch's time. Returns the requests that ended here (dropped).
     *
     * @throws IllegalStateException when the plan does not fit (a policy bug, not a load condition)
     */
    public List<Request> apply(BatchPlan plan, double nowMs) {
        if (checkPlans) {
            validate(plan);
        }
        List<Request> ended = List.of();
        // How many requests leave each queue: its compaction stops at the last of them instead of
        // reading every queued request (thousands under overload).
        int leaveWaiting = 0;
        int leaveRunning = 0;
        ArrayList<Request> requeue = null;
        for (int i = 0, k = plan.preempted().size(); i < k; i++) {
            Request r = plan.preempted().get(i);
            if (r.instanceId != id || r.inFlight
                    || (r.state() != RequestState.PREFILLING && r.state() != RequestState.DECODING)) {
                throw new IllegalStateException("cannot preempt " + r + " on instance " + id);
            }
            untrack(r);
            preemptions++;
            leaveRunning++;
            if (blocks.hasHostTier() && r.generatedTokens() > 0 && r.remainingPrefill() == 0 && blocks.swapOut(r)) {
                r.setState(RequestState.SWAPPED);
                r.countSwap();
                swapOuts++;
                swapped.add(r);
            } else {
                blocks.free(r);
                r.resetForRecompute();
                r.setState(RequestState.WAITING);
                if (requeue == null) {
                    requeue = new ArrayList<>();
                }
                requeue.add(r);
            }
            track(r);
        }
        if (!plan.dropped().isEmpty()) {
            ended = new ArrayList<>(plan.dropped().size());
            for (int i = 0, k = plan.dropped().size(); i < k; i++) {
                Request r = plan.dropped().get(i);
                if (r.instanceId != id || r.inFlight || r.state().isFinished()) {
                    throw new IllegalStateException("cannot drop " + r + " on instance " + id);
                }
                if (r.state() == RequestState.WAITING || r.state() == RequestState.TRANSFERRING) {
                    leaveWaiting++;
                } else if (r.state() != RequestState.SWAPPED) {
                    leaveRunning++;
                }
                untrack(r);
                blocks.free(r);
                blocks.freeHost(r);
                r.finish(RequestState.REJECTED, nowMs);
                ended.add(r);
            }
            swapped.removeIf(x -> x.state() != RequestState.SWAPPED);
        }
        for (int i = 0, k = plan.prefill().size(); i < k; i++) {
            Chunk ch = plan.prefill().get(i);
            Request r = ch.request();
            checkSchedulable(r);
            if (!blocks.allocate(r, (long) r.prefilledTokens() + ch.tokens())) {
                throw new IllegalStateException("plan needs more KV blocks than instance " + id + " has free for " + r);
            }
            if (r.state() == RequestState.WAITING) {
                r.setState(RequestState.PREFILLING);
                running.append(r);
                leaveWaiting++;
            }
            r.inFlight = true;
        }
        for (int i = 0, k = plan.decode().size(); i < k; i++) {
            Request r = plan.decode().get(i);
            checkSchedulable(r);
            if (!r.isDecodePhase()) {
                throw new IllegalStateException("plan decodes " + r + " which still has prefill left");
            }
            if (!blocks.allocate(r, (long) r.prefilledTokens() + 1)) {
                throw new IllegalStateException("plan needs more KV blocks than instance " + id + " has free for " + r);
            }
            if (r.state() == RequestState.TRANSFERRING) {
                // Admitted: its blocks are allocated now, no longer promised.
                inboundBlocks -= r.trackedInbound;
                r.trackedInbound = 0;
                r.setState(RequestState.DECODING);
                running.append(r);
                leaveWaiting++;
            }
            r.inFlight = true;
        }
        if (leaveWaiting > 0) {
            waiting.removeLeft(leaveWaiting);
        }
        if (requeue != null) {
            // vLLM puts preempted requests back at the head of the queue: they were admitted first.
            waiting.prependAll(requeue);
        }
        if (leaveRunning > 0) {
            running.removeLeft(leaveRunning);
        }
        if (!plan.isEmpty()) {
            inFlightBatches++;
        }
        prefetchSwapped(plan.estimatedMs());
        return ended;
    }

    /** Checks the whole plan before changing anything, so a bad plan leaves the instance as it was. */
    private void validate(BatchPlan plan) {
        long stamp = ++applyStamp;
        long freed = 0;
        for (int i = 0, k = plan.preempted().size(); i < k; i++) {
            Request r = plan.preempted().get(i);
            mark(r, stamp);
            freed += r.kvBlocks;
        }
        for (int i = 0, k = plan.dropped().size(); i < k; i++) {
            Request r = plan.dropped().get(i);
            mark(r, stamp);
            freed += r.kvBlocks;
        }
        long need = 0;
        for (int i = 0, k = plan.prefill().size(); i < k; i++) {
            Chunk ch = plan.prefill().get(i);
            Request r = ch.request();
            mark(r, stamp);
            checkSchedulable(r);
            if (ch.cachedTokens() != r.prefilledTokens() || ch.tokens() > r.remainingPrefill()) {
                throw new IllegalStateException("stale chunk " + ch.tokens() + "@" + ch.cachedTokens() + " for " + r);
            }
            need += blocks.extraBlocks(r, ch.tokens());
        }
        for (int i = 0, k = plan.decode().size(); i < k; i++) {
            Request r = plan.decode().get(i);
            mark(r, stamp);
            checkSchedulable(r);
            need += blocks.extraBlocks(r, 1);
        }
        if (need > blocks.freeBlocks() + freed) {
            throw new IllegalStateException("plan needs " + need + " KV blocks but instance " + id + " has "
                    + blocks.freeBlocks() + " free (+" + freed + " from preemptions)");
        }
    }

    private static void mark(Request r, long stamp) {
        if (r.applyStamp == stamp) {
            throw new IllegalStateException("plan names " + r + " twice");
        }
        r.applyStamp = stamp;
    }

    private void checkSchedulable(Request r) {
        if (r.instanceId != id || r.inFlight || r.state().isFinished() || r.state() == RequestState.SWAPPED) {
            throw new IllegalStateException("cannot schedule " + r + " on instance " + id);
        }
    }

    /**
     * Brings swapped sequences back (oldest first) while their copy time fits in the batch that is
     * about to run (the copy overlaps it; the copy-time model is the linear one of the block
     * accounting, so the per-step budget is what that batch can hide) and the device keeps a reserve of free blocks for the
     * running sequences' growth, so a sequence is back on the device before its next step.
     */
    private void prefetchSwapped(double copyBudgetMs) {
        if (swapped.isEmpty()) {
            return;
        }
        int reserve = Math.max(1, running.size());
        // At least the oldest one may come back each step, even when the batch is too short to hide
        // its copy: otherwise an idle instance would never bring its swapped sequences back.
        double budget = Math.max(copyBudgetMs, blocks.copyMs(swapped.get(0).hostBlocks));
        boolean moved = false;
        for (Request r : swapped) {
            double copy = blocks.copyMs(r.hostBlocks);
            // The reserve is for running sequences' growth: with none running, the sequence needs only
            // its own blocks (its next step fits the device, as it fits ever). Otherwise one that held
            // every block could never come back.
            int keep = running.isEmpty() ? 0 : reserve;
            if (copy > budget || r.hostBlocks + keep > blocks.freeBlocks()) {
                break;
            }
            untrack(r);
            blocks.swapIn(r);
            r.setState(RequestState.DECODING);
            running.append(r);
            track(r);
            budget -= copy;
            swapInMs += copy;
            swapIns++;
            moved = true;
        }
        if (moved) {
            swapped.removeIf(x -> x.state() != RequestState.SWAPPED);
        }
    }

    /**
     * Closes a batch at {@code endMs}: advances every chunk and decode, stamps token times, frees
     * finished sequences. Returns the requests that finished (FINISHED_OK) and, on a PREFILL
     * instance, those whose prefill just finished and must be handed to a decode instance
     * (TRANSFERRING, their device blocks already freed here; the caller re-enqueues them, on a decode
     * instance from {@link Router#placeDecode}, with {@link Router#handoffMs} as the transfer time, or
     * back here to decode locally when no decode instance admits).
     */
    public List<Request> complete(BatchPlan plan, double endMs) {
        if (plan.isEmpty()) {
            return List.of();
        }
        if (inFlightBatches == 0) {
            throw new IllegalStateException("complete() without apply() on instance " + id);
        }
        inFlightBatches--;
        List<Request> out = null;
        for (int i = 0, k = plan.prefill().size(); i < k; i++) {
            Chunk ch = plan.prefill().get(i);
            out = advance(ch.request(), ch.tokens(), true, endMs, out);
        }
        for (int i = 0, k = plan.decode().size(); i < k; i++) {
            Request r = plan.decode().get(i);
            out = advance(r, 1, false, endMs, out);
        }
        if (out == null) {
            return List.of();
        }
        running.removeLeft(out.size());
        return out;
    }

    private List<Request> advance(Request r, int tokens, boolean prefill, double endMs, List<Request> out) {
        if (!r.inFlight || r.instanceId != id) {
            throw new IllegalStateException("completing " + r + " which is not in flight on instance " + id);
        }
        r.inFlight = false;
        untrack(r);
        boolean sampled = r.advance(tokens, endMs);
        if (sampled && r.answerComplete()) {
            blocks.free(r);
            r.finish(RequestState.FINISHED_OK, endMs);
        } else if (sampled && prefill && role == Role.PREFILL) {
            // Only a finished prefill hands over; a sequence a prefill instance decodes itself (hybrid,
            // every decode instance full) stays until it finishes.
            blocks.free(r);
            r.setState(RequestState.TRANSFERRING);
            r.instanceId = -1;
        } else {
            r.setState(sampled || r.isDecodePhase() ? RequestState.DECODING : RequestState.PREFILLING);
            track(r);
            return out;
        }
        if (out == null) {
            out = new ArrayList<>();
        }
        out.add(r);
        return out;
    }

    /**
     * Ends a request early (cancel, timeout): frees its blocks and removes it. Not allowed while it is
     * part of a batch in flight.
     */
    public void cancel(Request r, RequestState finalState, double nowMs) {
        if (!finalState.isFinished()) {
            throw new IllegalArgumentException("cancel needs a final state, got " + finalState);
        }
        if (r.instanceId != id || r.state().isFinished()) {
            throw new IllegalArgumentException("request " + r.id() + " is not active on instance " + id);
        }
        if (r.inFlight) {
            throw new IllegalStateException("request " + r.id() + " is in a running batch; cancel it after complete()");
        }
        untrack(r);
        blocks.free(r);
        blocks.freeHost(r);
        RequestState was = r.state();
        r.finish(finalState, nowMs);
        // Only the queue its state puts it in: a search of the others would read every waiting request.
        if (was == RequestState.SWAPPED) {
            swapped.remove(r);
        } else if (was == RequestState.WAITING || was == RequestState.TRANSFERRING) {
            waiting.delete(r);
        } else {
            running.delete(r);
        }
    }

    // ---- O(1) backlog sums ----

    private void track(Request r) {
        if (r.state().isFinished()) {
            return;
        }
        int rem = r.remainingPrefill();
        if (rem > 0) {
            double d = rem;
            double p = r.prefilledTokens();
            r.trackedPrefill = true;
            r.trackedNew = d;
            r.trackedCached = p;
            prefillCount++;
            sumNew += d;
            sumNewSq += d * d;
            sumNewCached += d * p;
            sumCached += p;
        } else if (r.generatedTokens() > 0) {
            r.trackedDecode = true;
            r.trackedCtx = r.contextTokens();
            decodeCount++;
            sumContext += r.trackedCtx;
            if (r.state() == RequestState.TRANSFERRING) {
                r.trackedInbound = Math.max(0, blocks.blocksFor((long) r.contextTokens() + 1) - r.kvBlocks);
                inboundBlocks += r.trackedInbound;
            }
        }
    }

    private void untrack(Request r) {
        if (r.trackedPrefill) {
            double d = r.trackedNew;
            double p = r.trackedCached;
            prefillCount--;
            sumNew -= d;
            sumNewSq -= d * d;
            sumNewCached -= d * p;
            sumCached -= p;
            r.trackedPrefill = false;
            if (prefillCount == 0) {
                // Clear floating-point residue so an empty queue reads exactly zero.
                sumNew = sumNewSq = sumNewCached = sumCached = 0;
            }
        }
        if (r.trackedDecode) {
            decodeCount--;
            sumContext -= r.trackedCtx;
            r.trackedDecode = false;
            inboundBlocks -= r.trackedInbound;
            r.trackedInbound = 0;
            if (decodeCount == 0) {
                sumContext = 0;
            }
        }
    }

    @Override
    public String toString() {
        return "Instance[" + id + " " + role + " waiting=" + waiting.size() + " running=" + running.size()
                + " swapped=" + swapped.size() + " freeBlocks=" + blocks.freeBlocks() + "/" + blocks.totalBlocks() + "]";
    }
}
