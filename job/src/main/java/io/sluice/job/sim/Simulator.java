package io.sluice.job.sim;

import io.sluice.scheduling.BatchPlan;
import io.sluice.scheduling.BatchPolicy;
import io.sluice.scheduling.Chunk;
import io.sluice.scheduling.InstanceState;
import io.sluice.scheduling.KvBlockAccounting;
import io.sluice.scheduling.LatencyModel;
import io.sluice.scheduling.Policies;
import io.sluice.scheduling.PolicyOptions;
import io.sluice.scheduling.Request;
import io.sluice.scheduling.RequestState;
import io.sluice.scheduling.Role;
import io.sluice.scheduling.Router;
import io.sluice.scheduling.RouterOptions;
import io.sluice.scheduling.RoutingRules;
import io.sluice.scheduling.Slo;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * The discrete-event simulator. It owns a clock, the trace's arrivals and one
 * {@link InstanceState} per instance, and drives the production scheduling objects: a
 * {@link BatchPolicy} per instance and the {@link Router}. Per instance the loop is:
 *
 * <pre>
 *   idle with work queued:  plan = policy.plan(inst, now); inst.apply(plan, now)
 *                           true duration = costModel.stepMs(plan's shape)
 *   at now + duration:      inst.complete(plan, end); estimator.observe(plan, duration)
 * </pre>
 *
 * Under PD separation a prefill instance's finished prefills travel to a decode instance picked
 * by the router, arriving after {@code KV bytes / link bandwidth}. The simulator holds no policy
 * logic: whatever it reports is what those objects decide. Single-threaded and deterministic:
 * events at the same time run in the order they were scheduled.
 */
public final class Simulator {

    /**
     * What to simulate besides the policy and the trace.
     *
     * @param router the router's options; its KV link (bytes per token, bandwidth, latency) prices
     *     the handoff between a prefill and a decode instance
     * @param hostBlocks host-tier KV capacity per instance (0: preemption recomputes)
     * @param hostCopyMsPerBlock time to move one block between device and host
     * @param maxNewTokens the cap clients send as max_new_tokens, or 0 for the oracle: each request's
     *     cap is then its true output length. With a cap, a request asks for up to that many tokens
     *     (at least its true length: the trace records what the client got; at most what its
     *     context leaves) and ends at its true length as if by EOS, which no policy sees coming
     */
    public record Config(CostModel cost, Mix mix, Topology topology, PolicyOptions options, LatencyModel estimator,
            RouterOptions router, int hostBlocks, double hostCopyMsPerBlock, int maxNewTokens) {

        public Config {
            if (hostBlocks < 0 || !(hostCopyMsPerBlock >= 0)) {
                throw new IllegalArgumentException("host tier blocks and copy time must be >= 0");
            }
            if (maxNewTokens < 0) {
                throw new IllegalArgumentException("max new tokens must be >= 1, or 0 for the trace's true lengths, got "
                        + maxNewTokens);
            }
        }

        /** Policies see each request's true output length as its cap (the oracle). */
        public Config(CostModel cost, Mix mix, Topology topology, PolicyOptions options, LatencyModel estimator,
                RouterOptions router, int hostBlocks, double hostCopyMsPerBlock) {
            this(cost, mix, topology, options, estimator, router, hostBlocks, hostCopyMsPerBlock, 0);
        }
    }

    /** Sees every batch and every final state; tests use it to check the simulator's invariants. */
    public interface Listener {
        /** A batch ran on {@code instance} from {@code startMs} to {@code endMs}. */
        default void batch(int instance, double startMs, double endMs, BatchPlan plan) {}

        /** {@code request} reached its final state at {@code nowMs}. */
        default void finished(Request request, double nowMs) {}

        /** {@code request} was refused at the door (longer than the model's context): no scheduler saw it. */
        default void refused(Request request, double nowMs) {}
    }

    /**
     * One run's outcome. {@code stoppedEarly}: the run was cut short once more requests had
     * missed their SLO than the caller allowed; the report then covers only what had ended.
     */
    public record Result(PolicyReport report, Metrics metrics, long batches, long events, long stalled,
            boolean stoppedEarly) {

        /** Attainment, or for a run stopped early the most it could still have reached. */
        public double attainmentBound(int requests) {
            return stoppedEarly ? (double) (requests - metrics.misses()) / requests : report.attainment();
        }
    }

    private static final int ARRIVAL = 0;
    private static final int BATCH_END = 1;
    private static final int HANDOFF = 2;
    private static final int MAX_EMPTY_PLANS = 1000;
    /** Whole-plan checks before each batch: in tests (assertions on), not in a user's run. */
    private static final boolean CHECK_PLANS = Simulator.class.desiredAssertionStatus();

    /**
     * A scheduled event; {@code seq} breaks ties so equal times run in scheduling order. Mutable and
     * recycled: a run schedules an event per batch, tens of millions in a sweep.
     */
    private static final class Event {
        double timeMs;
        long seq;
        int kind;
        int instance;
        int index;
        Request request;
        BatchPlan plan;
        double startMs;

        boolean before(Event o) {
            return timeMs < o.timeMs || (timeMs == o.timeMs && seq < o.seq);
        }
    }

    /**
     * The pending events, a binary min-heap by (time, seq), plus a free list of spent ones. It holds
     * one arrival, a batch end per instance and the handoffs in flight: a handful, so the heap is
     * shallow and what counts is that an operation costs no allocation and no virtual compare.
     */
    private static final class EventQueue {
        private Event[] heap = new Event[16];
        private int size;
        private Event[] free = new Event[16];
        private int freeCount;

        Event obtain() {
            return freeCount > 0 ? free[--freeCount] : new Event();
        }

        void recycle(Event e) {
            e.request = null;
            e.plan = null;
            if (freeCount == free.length) {
                free = Arrays.copyOf(free, freeCount * 2);
            }
            free[freeCount++] = e;
        }

        void add(Event e) {
            if (size == heap.length) {
                heap = Arrays.copyOf(heap, size * 2);
            }
            int i = size++;
            while (i > 0) {
                int parent = (i - 1) >>> 1;
                Event p = heap[parent];
                if (!e.before(p)) {
                    break;
                }
                heap[i] = p;
                i = parent;
            }
            heap[i] = e;
        }

        /** The earliest event, removed; null when none is left. */
        Event poll() {
            if (size == 0) {
                return null;
            }
            Event top = heap[0];
            Event last = heap[--size];
            heap[size] = null;
            if (size > 0) {
                int i = 0;
                int half = size >>> 1;
                while (i < half) {
                    int child = 2 * i + 1;
                    int right = child + 1;
                    if (right < size && heap[right].before(heap[child])) {
                        child = right;
                    }
                    if (!heap[child].before(last)) {
                        break;
                    }
                    heap[i] = heap[child];
                    i = child;
                }
                heap[i] = last;
            }
            return top;
        }
    }

    private final Config config;
    /** One SLO object per class, shared by its requests: policies read it every round, so it stays in cache. */
    private final Slo[] slos;

    public Simulator(Config config) {
        this.config = config;
        List<ServiceClass> classes = config.mix().classes();
        this.slos = new Slo[classes.size()];
        for (int i = 0; i < slos.length; i++) {
            slos[i] = slo(classes.get(i));
        }
    }

    public Config config() {
        return config;
    }

    /**
     * Runs one policy over a trace.
     *
     * @param classes class index per trace record (from {@link Mix#assign})
     * @param rateScale arrival times are divided by this (2 = twice the load)
     * @param keepTtft keep every TTFT for CDF plots
     */
    public Result run(String policy, List<TraceRecord> trace, int[] classes, double rateScale, boolean keepTtft,
            Listener listener) {
        return run(policy, trace, classes, rateScale, keepTtft, listener, Long.MAX_VALUE);
    }

    /**
     * Runs one policy over a trace, stopping as soon as more than {@code maxMisses} requests have
     * missed their SLO: a capacity search only needs to know the load is too high, and an overloaded
     * run (queues growing without bound) is the slowest kind to finish.
     */
    public Result run(String policy, List<TraceRecord> trace, int[] classes, double rateScale, boolean keepTtft,
            Listener listener, long maxMisses) {
        if (!(rateScale > 0) || Double.isInfinite(rateScale)) {
            throw new IllegalArgumentException("rate scale must be > 0, got " + rateScale);
        }
        if (classes.length != trace.size()) {
            throw new IllegalArgumentException("need one class per request");
        }
        return new Run(policy, trace, classes, rateScale, keepTtft, listener == null ? new Listener() {} : listener,
                maxMisses).execute();
    }

    /** The state of one run; discarded afterwards. */
    private final class Run {
        private final String policyName;
        private final List<TraceRecord> trace;
        private final int[] classes;
        private final double rateScale;
        private final Listener listener;
        private final Metrics metrics;
        private final EventQueue events = new EventQueue();
        private final InstanceState[] instances;
        private final BatchPolicy[] policies;
        private final Router router;
        private final ArrayDeque<Request> awaitingDecode = new ArrayDeque<>();
        private final BatchShape shape = new BatchShape();
        private long seq;
        private double now;
        private long batches;
        private long handled;
        private final long maxMisses;

        Run(String policyName, List<TraceRecord> trace, int[] classes, double rateScale, boolean keepTtft,
                Listener listener, long maxMisses) {
            this.maxMisses = maxMisses;
            this.policyName = policyName;
            this.trace = trace;
            this.classes = classes;
            this.rateScale = rateScale;
            this.listener = listener;
            this.metrics = new Metrics(config.mix(), keepTtft);
            Topology t = config.topology();
            CostModel cost = config.cost();
            this.instances = new InstanceState[t.total()];
            this.policies = new BatchPolicy[t.total()];
            for (int i = 0; i < instances.length; i++) {
                Role role = t.separated() ? (i < t.prefill() ? Role.PREFILL : Role.DECODE) : Role.MIXED;
                KvBlockAccounting kv = new KvBlockAccounting(cost.blockSize(), cost.kvBlocks(), config.hostBlocks(),
                        0.0, config.hostCopyMsPerBlock());
                instances[i] = new InstanceState(i, role, kv, config.estimator().copy());
                instances[i].checkPlans(CHECK_PLANS);
                policies[i] = Policies.create(policyName, config.options());
            }
            this.router = new Router(List.of(instances), config.router());
        }

        Result execute() {
            // Arrivals are scheduled lazily, one ahead, to keep the heap small.
            scheduleArrival(0);
            Event e;
            while ((e = events.poll()) != null) {
                if (metrics.misses() > maxMisses) {
                    return new Result(metrics.report(policyName, rateScale), metrics, batches, handled, 0, true);
                }
                if (e.timeMs < now) {
                    throw new IllegalStateException("simulated time went back from " + now + " to " + e.timeMs);
                }
                now = e.timeMs;
                handled++;
                switch (e.kind) {
                    case ARRIVAL -> arrive(e.index);
                    case BATCH_END -> endBatch(e);
                    default -> handOver(e.instance);
                }
                events.recycle(e);
            }
            long stalled = expireStalled();
            return new Result(metrics.report(policyName, rateScale), metrics, batches, handled, stalled, false);
        }

        private void push(double time, int kind, int instance, int index, Request r, BatchPlan plan, double start) {
            Event e = events.obtain();
            e.timeMs = time;
            e.seq = seq++;
            e.kind = kind;
            e.instance = instance;
            e.index = index;
            e.request = r;
            e.plan = plan;
            e.startMs = start;
            events.add(e);
        }

        private void scheduleArrival(int index) {
            if (index < trace.size()) {
                push(trace.get(index).arrivalMs() / rateScale, ARRIVAL, -1, index, null, null, 0);
            }
        }

        private void arrive(int index) {
            scheduleArrival(index + 1);
            TraceRecord t = trace.get(index);
            ServiceClass c = config.mix().classes().get(classes[index]);
            Request r = new Request("r" + index, "", c.name(), c.weight(), slos[classes[index]], t.promptTokens(),
                    cap(t), now);
            if (config.maxNewTokens() > 0) {
                r.endAsIfByEosAfter(t.outputTokens());
            }
            metrics.arrival(now);
            // A request longer than the model's context is refused, never truncated.
            if ((long) t.promptTokens() + t.outputTokens() > config.cost().maxContext()) {
                metrics.infeasible(classes[index]);
                metrics.rejected(classes[index], r.weight(), now);
                listener.refused(r, now);
                return;
            }
            if (!feasibleAlone(t, c)) {
                metrics.infeasible(classes[index]);
            }
            InstanceState inst = router.routeNew(r, now).instance();
            if (!inst.enqueue(r, now)) {
                // Too big for an instance's whole KV cache: enqueue() has rejected it.
                done(r);
                return;
            }
            kick(inst);
        }

        /** The max_new_tokens the request asks for: see {@link Config#maxNewTokens}. */
        private int cap(TraceRecord t) {
            int cap = config.maxNewTokens();
            if (cap == 0) {
                return t.outputTokens();
            }
            long room = (long) config.cost().maxContext() - t.promptTokens();
            return (int) Math.max(t.outputTokens(), Math.min(cap, room));
        }

        /** Starts a batch on {@code inst} if it is idle and its policy has work for it. */
        private void kick(InstanceState inst) {
            int id = inst.id();
            // A plan of only preemptions or drops changes the queues: ask again, but not forever.
            for (int attempt = 0; attempt < MAX_EMPTY_PLANS; attempt++) {
                if (inst.busy() || inst.isIdle()) {
                    return;
                }
                BatchPlan plan = policies[id].plan(inst, now);
                if (plan.isEmpty() && plan.preempted().isEmpty() && plan.dropped().isEmpty()) {
                    // Sequences on the host tier are no policy's candidates: apply() brings them back (as
                    // the Flink operator's round applies every plan, empty ones too), and then they can be
                    // planned. Without it an instance left with only swapped sequences never ran them.
                    int swapped = inst.swapped().size();
                    if (swapped == 0) {
                        return;
                    }
                    inst.apply(plan, now);
                    if (inst.swapped().size() == swapped) {
                        return;
                    }
                    continue;
                }
                List<Request> dropped = inst.apply(plan, now);
                for (int i = 0, k = dropped.size(); i < k; i++) {
                    done(dropped.get(i));
                }
                if (!plan.isEmpty()) {
                    double ms = config.cost().stepMs(shapeOf(plan));
                    batches++;
                    push(now + ms, BATCH_END, id, -1, null, plan, now);
                    return;
                }
            }
            throw new IllegalStateException("policy " + policyName + " returned " + MAX_EMPTY_PLANS
                    + " plans in a row that only preempt or drop on instance " + id + " at " + now + " ms");
        }

        /**
         * Whether the request meets its SLO alone on an idle instance: its whole prompt in one
         * step, then one decode step per token (linear in the context, so the mid-point step is
         * the mean). No schedule does better, so a miss here is the trace's, not the policy's.
         * Under PD separation the prompt's KV handoff comes before the second token, unless a
         * hybrid route could prefill it on a decode instance: without it a short answer behind a
         * long handoff counted as feasible, and every such miss as the policy's.
         */
        private boolean feasibleAlone(TraceRecord t, ServiceClass c) {
            CostModel cost = config.cost();
            double ttft = cost.stepMs(shape.clear().addChunk(t.promptTokens(), 0, true));
            int decodes = t.outputTokens() - 1;
            double step = decodes == 0 ? 0
                    : cost.stepMs(shape.clear().addDecode(t.promptTokens() + decodes / 2));
            RouterOptions o = config.router() == null ? RouterOptions.defaults() : config.router();
            Topology topology = config.topology();
            boolean hybridCould = o.hybrid() && RoutingRules.hybridAllowed(t.promptTokens(), topology.decode(), o);
            double handoff = decodes == 0 || !topology.separated() || hybridCould ? 0 : o.handoffMs(t.promptTokens());
            double tpot = decodes == 0 ? 0 : step + handoff / decodes;
            return c.met(ttft, tpot, ttft + handoff + decodes * step);
        }

        private BatchShape shapeOf(BatchPlan plan) {
            shape.clear();
            List<Chunk> prefill = plan.prefill();
            for (int i = 0, k = prefill.size(); i < k; i++) {
                Chunk ch = prefill.get(i);
                Request r = ch.request();
                int cached = ch.cachedTokens();
                shape.addChunk(ch.tokens(), cached, cached + ch.tokens() >= r.knownTokens());
            }
            List<Request> decode = plan.decode();
            for (int i = 0, n = decode.size(); i < n; i++) {
                shape.addDecode(decode.get(i).contextTokens());
            }
            return shape;
        }

        private void endBatch(Event e) {
            InstanceState inst = instances[e.instance];
            double ms = now - e.startMs;
            // The estimator learns from the features before complete() advances the requests.
            inst.estimator().observe(e.plan, ms);
            listener.batch(e.instance, e.startMs, now, e.plan);
            List<Request> ended = inst.complete(e.plan, now);
            for (int i = 0, k = ended.size(); i < k; i++) {
                Request r = ended.get(i);
                if (r.state() == RequestState.TRANSFERRING) {
                    awaitingDecode.add(r);
                } else {
                    done(r);
                }
            }
            placeHandoffs();
            // Role flips exist only between prefill and decode pools.
            if (config.topology().separated() && !router.rebalance(now).isEmpty()) {
                // A flipped instance may have work for its new role at once.
                for (InstanceState other : instances) {
                    kick(other);
                }
            }
            kick(inst);
        }

        /**
         * Sends finished prefills to decode instances in order; when the router finds every decode
         * instance full, the rest wait (holding no device blocks) and are retried after the next batch.
         */
        private void placeHandoffs() {
            while (!awaitingDecode.isEmpty()) {
                Request r = awaitingDecode.peekFirst();
                var target = router.placeDecode(r, now);
                if (target.isEmpty()) {
                    return;
                }
                awaitingDecode.pollFirst();
                InstanceState d = target.get();
                double readyMs = now + router.handoffMs(r);
                // Queued at once, ready when its KV arrives: the router sees it on its instance from now
                // on (InstanceState#enqueue with a ready time), so the next placement counts its step and a
                // decode instance with a sequence on the way is not idle and cannot turn prefill.
                if (!d.enqueue(r, now, readyMs)) {
                    done(r);
                    continue;
                }
                push(readyMs, HANDOFF, d.id(), -1, null, null, 0);
            }
        }

        /** A handed-over sequence's KV has arrived: its instance may schedule it now. */
        private void handOver(int target) {
            kick(instances[target]);
        }

        /** The trace index of a request: its id is "r" and the index. */
        private int indexOf(Request r) {
            String id = r.id();
            int index = 0;
            for (int i = 1, n = id.length(); i < n; i++) {
                index = 10 * index + (id.charAt(i) - '0');
            }
            return index;
        }

        private void done(Request r) {
            int index = indexOf(r);
            boolean ok = r.state() == RequestState.FINISHED_OK;
            metrics.finished(classes[index], r.weight(), ok, r.sloMet(), r.ttftMs(), r.meanTpotMs(),
                    r.generatedTokens(), r.preemptions(), now);
            listener.finished(r, now);
        }

        /** Requests still queued when no event is left can never run: end them as expired. */
        private long expireStalled() {
            long stalled = 0;
            for (InstanceState inst : instances) {
                List<Request> left = new ArrayList<>(inst.waiting());
                left.addAll(inst.running());
                left.addAll(inst.swapped());
                for (Request r : left) {
                    inst.cancel(r, RequestState.EXPIRED, now);
                    done(r);
                    stalled++;
                }
            }
            // Handed over but never placed: no instance holds them, so no final state can be set.
            for (Request r : awaitingDecode) {
                done(r);
                stalled++;
            }
            return stalled;
        }
    }

    private static Slo slo(ServiceClass c) {
        return new Slo(finiteOrNaN(c.ttftMs()), finiteOrNaN(c.tpotMs()), finiteOrNaN(c.deadlineMs()));
    }

    private static double finiteOrNaN(double v) {
        return Double.isInfinite(v) ? Double.NaN : v;
    }
}
