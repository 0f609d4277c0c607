package io.sluice.operators;

import io.sluice.gpu.exec.Chunk;
import io.sluice.gpu.exec.CpuExecutor;
import io.sluice.gpu.exec.WarmUp;
import io.sluice.gpu.exec.Executor;
import io.sluice.gpu.exec.SequenceOutput;
import io.sluice.gpu.exec.StepResult;
import io.sluice.gpu.kv.BlockPool;
import io.sluice.gpu.kv.BlockTable;
import io.sluice.gpu.kv.KvSnapshot;
import io.sluice.gpu.model.CheckpointLoader;
import io.sluice.gpu.model.ModelConfig;
import io.sluice.gpu.model.Weights;
import io.sluice.gpu.sampling.SamplingParams;
import io.sluice.gpu.tokenizer.Tokenizer;
import io.sluice.operators.ingest.AdmittedRequest;
import io.sluice.operators.route.DecodePlacement;
import io.sluice.scheduling.BatchPlan;
import io.sluice.scheduling.BatchPolicy;
import io.sluice.scheduling.InstanceState;
import io.sluice.scheduling.KvBlockAccounting;
import io.sluice.scheduling.LatencyModel;
import io.sluice.scheduling.Policies;
import io.sluice.scheduling.PolicyOptions;
import io.sluice.scheduling.Request;
import io.sluice.scheduling.RequestState;
import io.sluice.scheduling.Role;
import io.sluice.scheduling.RoutingRules;
import io.sluice.scheduling.Slo;
import io.sluice.schemas.FinishReason;
import io.sluice.schemas.InstanceRole;
import io.sluice.schemas.InstanceStatus;
import io.sluice.schemas.RequestMetrics;
import io.sluice.schemas.TokenEvent;
import java.nio.file.Path;
import java.time.Instant;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.IdentityHashMap;
import java.util.List;
import java.util.Map;
import java.util.OptionalInt;
import java.util.PriorityQueue;
import org.apache.flink.api.common.functions.OpenContext;
import org.apache.flink.api.common.state.ListState;
import org.apache.flink.api.common.state.ListStateDescriptor;
import org.apache.flink.api.common.state.MapState;
import org.apache.flink.api.common.state.MapStateDescriptor;
import org.apache.flink.api.common.typeinfo.TypeInformation;
import org.apache.flink.api.common.typeinfo.Types;
import org.apache.flink.api.common.TaskInfo;
import org.apache.flink.runtime.state.FunctionInitializationContext;
import org.apache.flink.runtime.state.FunctionSnapshotContext;
import org.apache.flink.runtime.state.KeyGroupRangeAssignment;
import org.apache.flink.streaming.api.checkpoint.CheckpointedFunction;
import org.apache.flink.streaming.api.TimerService;
import org.apache.flink.streaming.api.functions.KeyedProcessFunction;
import org.apache.flink.util.Collector;
import org.apache.flink.util.OutputTag;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One model instance per key (= per subtask, see {@link InstanceKeys}). Colocated (role MIXED): one pool of KV
 * blocks, and each round one batch that mixes prefill chunks and decode steps as the {@link BatchPolicy} decides.
 * Under PD separation the same loop runs in a role: a PREFILL instance's policy plans prefills only (its
 * prefill-only variant); when a request's prefill completes, the instance emits the first token, exports the
 * sequence's KV and sends a {@link KvHandoff} on {@link #HANDOFFS} to a decode instance chosen by the router's rule
 * ({@link DecodePlacement}, fed the decode instances' statuses as {@link DecodeLoad} inputs): the first admitting
 * one whose step with the sequence meets its TPOT target and the TPOT SLOs of the sequences already there (the
 * status's {@code tightest_tpot_ms}), else the most free admitting one. When none admits, the
 * sequence stays here with its KV in host memory: in hybrid mode it is decoded here; otherwise it waits, in order,
 * and is placed when a decode instance's next status shows room (as the simulator keeps it and retries).
 * A DECODE instance takes handoffs as inputs: the request is queued in its decode phase with its KV kept in host
 * memory, and the KV is imported into the pool when a plan first schedules it. With a host tier
 * ({@link InstanceConfig#hostKvBlocks()}) a sequence preempted under block pressure is exported the same way and
 * imported again before its next step, instead of being recomputed.
 *
 * <p>The loop (DESIGN §2): an arrival is queued and a round timer set at "now" if none is pending. A round
 * plans, applies the plan to the {@link InstanceState}, runs it on the engine, completes it, emits a
 * {@link TokenEvent} per sampled token, feeds the measured batch time to the estimator and, if work remains,
 * sets the next round timer. So one callback runs at most one batch, and the mailbox gets arrivals, timers and
 * checkpoint barriers in between. A request that has not started by its TTFT deadline (its completion deadline
 * for batch work) is expired by a timer at that time (not one that may have run before a failure: see
 * {@link #serve}).
 *
 * <p>State: {@code requests}, a MapState of every unfinished request of the key ({@link RequestRecord}: the
 * request and its generated tokens), written at the end of every callback that changed it and cleared entry by
 * entry as requests end; empty when the key has no work. The engine (with its KV cache), the scheduler's
 * {@link InstanceState} and the policy are transient, built in {@link #open}. After a restore the first
 * callback of a key (a restored timer, or an arrival) re-queues every request in its state; the KV contents are
 * recomputed by prefilling prompt + generated tokens again (DESIGN §4). Tokens depend only on the request's
 * seed and position, so a replayed token equals the one emitted before at that index.
 *
 * <p>Normally a subtask holds exactly one key. If it holds several (a job restored at another parallelism),
 * they share the engine; each key keeps its own timer chain and its state is written in its own callbacks.
 * A checkpoint taken before a key's next callback keeps the writes still waiting for it in operator state
 * ({@code unflushed-writes}), and a restored key applies them before it reads its records, so its state always
 * matches what it has already emitted.
 */
public final class InstanceFunction extends KeyedProcessFunction<Integer, InstanceInput, TokenEvent>
        implements CheckpointedFunction {
    private static final long serialVersionUID = 1L;
    private static final Logger LOG = LoggerFactory.getLogger(InstanceFunction.class);

    /** One per finished request, whatever the end (also rejected and expired ones). */
    public static final OutputTag<RequestMetrics> METRICS = new OutputTag<>("request-metrics") {};
    /** The instance's load: every statusIntervalMs while it has work, when it goes idle, and every idleStatusMs. */
    public static final OutputTag<InstanceStatus> STATUS = new OutputTag<>("instance-status") {};
    /** PREFILL instances: sequences whose prefill completed, with their KV, for a decode instance. */
    public static final OutputTag<KvHandoff> HANDOFFS = new OutputTag<>("kv-handoffs") {};

    /** When a round found nothing it may run (e.g. paced decodes), it looks again this much later. */
    static final long EMPTY_ROUND_BACKOFF_MS = 2;
    private static final long NONE = Long.MIN_VALUE;
    /** Heartbeat of a key whose only sequences wait for a decode instance (see onTimer). */
    static final long AWAITING_HEARTBEAT_MS = 1000;
    private static final int LATENCY_WINDOW = 512;
    /** Time spent in open() compiling the engine's kernels (see {@link WarmUp}). */
    private static final long WARM_UP_MS = 1500;
    private static final int WARM_UP_ROUNDS = 20;
    // Refit often: a refit is a 10x10 NNLS (microseconds), and a fresh instance starts from a prior or an offline
    // profile that the machine's load may have moved; at 32 a short run could end before its first refit.
    private static final int LATENCY_REFIT_EVERY = 8;
    /** Host-tier copy time the scheduler plans with: a block is a few KB to a few hundred KB of heap memcpy. */
    private static final double HOST_COPY_MS_PER_BLOCK = 0.01;

    private final InstanceConfig config;

    private transient MapState<String, RequestRecord> requests;
    /**
     * Writes other keys' callbacks left for a key, as of the last checkpoint (union state: after a restore at
     * another parallelism a key's writes must reach whichever subtask now holds it).
     */
    private transient ListState<UnflushedWrite> unflushedState;
    /** Restored unflushed writes of this subtask's keys, by key, in order; applied when the key is entered. */
    private transient Map<Integer, List<UnflushedWrite>> restoredWrites;
    private transient Executor executor;
    private transient Tokenizer tokenizer;
    private transient ModelConfig model;
    /** Of the model file: what handoffs carry, and what this instance takes KV handed over with. */
    private transient long modelFingerprint;
    private transient InstanceState instance;
    private transient BatchPolicy policy;
    private transient InstanceMetrics metrics;
    private transient int instanceId;
    private transient int homeKey;
    private transient Map<String, Live> live;
    private transient Map<Request, Live> bySchedule;
    private transient Map<Integer, Lane> lanes;
    private transient PriorityQueue<Live> expiries;
    private transient long nextSequenceId;
    private transient long lastStatusAtMs;
    private transient long tokensSinceStatus;
    private transient Role role;
    /** PREFILL instances: where handoffs go. */
    private transient DecodePlacement placement;
    /** PREFILL instances: the deadline options the router derives a sequence's TPOT target with. */
    private transient PolicyOptions routerDeadlines;
    /**
     * PREFILL instances: finished prefills no decode instance admitted yet, oldest first, each live with its KV in
     * {@link Live#hostKv}; placed again on every decode status.
     */
    private transient ArrayDeque<Live> awaitingDecode;
    /** Whether this run follows a failure or a restore: its state and its input are replayed from a checkpoint. */
    private transient boolean recovering;
    /**
     * When recovering: the processing time of the first callback; a request submitted before it may have been served
     * before the failure (see {@link #serve}). NONE otherwise.
     */
    private transient long recoveredAtMs;
    /** KV of sequences that hold no blocks now: handed over and not yet imported, or swapped to the host tier. */

    public InstanceFunction(InstanceConfig config) {
        if (config == null) {
            throw new IllegalArgumentException("an instance needs its InstanceConfig");
        }
        this.config = config;
    }

    /** A request being served: its scheduling state, its engine block table and its latest record. */
    private static final class Live {
        final String id;
        final int key;
        final Request schedule;
        /** Empty while the sequence's KV is in {@link #hostKv}; replaced by the table an import fills. */
        BlockTable table;
        /**
         * The sequence's KV while it holds no blocks: handed over and not yet imported, or swapped to the host
         * tier; null otherwise.
         */
        KvSnapshot hostKv;
        final SamplingParams sampling;
        /** Processing time at which it expires if it has not started; NONE without. */
        final long expiresAtMs;
        /** Whether its claim on the expiry timer is given up (when it starts, or ends unstarted): only once. */
        boolean deadlineReleased;
        RequestRecord record;

        Live(String id, int key, Request schedule, BlockTable table, SamplingParams sampling, long expiresAtMs,
             RequestRecord record) {
            this.id = id;
            this.key = key;
            this.schedule = schedule;
            this.table = table;
            this.sampling = sampling;
            this.expiresAtMs = expiresAtMs;
            this.record = record;
        }
    }

    private record PendingWrite(String id, RequestRecord record) {
    }

    /** A {@link PendingWrite} of key {@code key} in a checkpoint (a Flink POJO); {@code record} null: remove. */
    public static final class UnflushedWrite {
        public int key;
        public String id;
        public RequestRecord record;

        public UnflushedWrite() {}

        UnflushedWrite(int key, String id, RequestRecord record) {
            this.key = key;
            this.id = id;
            this.record = record;
        }
    }

    /** Per key: its live requests, state writes waiting for its context, and its timers. */
    private static final class Lane {
        final int key;
        boolean loaded;
        int liveCount;
        /** Of liveCount, the sequences in awaitingDecode: they need no rounds, only a decode instance with room. */
        int awaitingDecode;
        /**
         * Records to put (or null: remove), in order, applied in this key's next callback. A list, not a map: its
         * clear() costs what it holds, where a map's costs its largest size, every callback.
         */
        final List<PendingWrite> pendingWrites = new ArrayList<>();
        /** Expiry timers by time, counted: requests with equal deadlines share one Flink timer. */
        final Map<Long, Integer> deadlineTimers = new HashMap<>();
        /** The pending round (or idle heartbeat) timer, NONE when there is none. */
        long chainTimerAt = NONE;
        boolean chainIsHeartbeat;

        Lane(int key) {
            this.key = key;
        }
    }

    @Override
    public void open(OpenContext openContext) {
        Weights weights = CheckpointLoader.load(Path.of(config.modelPath()));
        model = weights.config();
        modelFingerprint = ModelFingerprint.of(Path.of(config.modelPath()));
        CpuExecutor.Options options = CpuExecutor.Options.defaults(model).withThreads(config.threads());
        if (config.kvBlocks() > 0) {
            options = options.withKvBlocks(config.kvBlocks());
        }
        executor = config.engine() == InstanceConfig.Engine.NOOP
                ? new NoopExecutor(model, options.kvBlocks(), options.blockSize(), options.maxBatchTokens(),
                        options.maxBatchSequences())
                : new CpuExecutor(weights, options);
        if (config.engine() == InstanceConfig.Engine.CPU) {
            int rounds = WarmUp.run(executor, WARM_UP_MS, WARM_UP_ROUNDS);
            LOG.info("instance engine warmed up in {} rounds", rounds);
        }
        tokenizer = config.tokenizerPath() == null ? null
                : Tokenizer.load(Path.of(config.tokenizerPath()), model.vocabSize());
        // The scheduler counts exactly the engine's blocks: when the scheduler sees a block free, the engine has
        // it. Host-tier copies are plain heap arrays; a copy takes well under a millisecond per block here.
        BlockPool pool = executor.blockPool();
        KvBlockAccounting blocks = new KvBlockAccounting(pool.blockSize(), pool.capacity(), config.hostKvBlocks(),
                0.0, HOST_COPY_MS_PER_BLOCK);
        LatencyModel estimator = new LatencyModel(config.latencyCoefficients(), LATENCY_WINDOW, LATENCY_REFIT_EVERY);
        TaskInfo task = getRuntimeContext().getTaskInfo();
        instanceId = config.firstInstanceId() + task.getIndexOfThisSubtask();
        homeKey = InstanceKeys.keyFor(task.getIndexOfThisSubtask(), task.getNumberOfParallelSubtasks(),
                task.getMaxNumberOfParallelSubtasks());
        role = config.role();
        instance = new InstanceState(instanceId, role, blocks, estimator);
        if (role == Role.PREFILL) {
            // The starting latency model, not the refitted one: this instance only prefills, so its own fit says
            // little about decode steps.
            // Every instance of the job runs the same model with the same pool size: this one's.
            placement = new DecodePlacement(config.decodeInstances(), pool.capacity(), config.router(),
                    new LatencyModel(config.latencyCoefficients(), 1, 1));
            routerDeadlines = RoutingRules.deadlineOptions(config.router());
            awaitingDecode = new ArrayDeque<>();
        }
        policy = Policies.create(config.policy(), config.policyOptions());
        requests = getRuntimeContext().getMapState(new MapStateDescriptor<>("requests", Types.STRING,
                TypeInformation.of(RequestRecord.class)));
        metrics = new InstanceMetrics(getRuntimeContext().getMetricGroup());
        live = new HashMap<>();
        bySchedule = new IdentityHashMap<>();
        lanes = new HashMap<>();
        expiries = new PriorityQueue<>(Comparator.comparingLong((Live l) -> l.expiresAtMs));
        lastStatusAtMs = NONE;
        LOG.info("instance {} ({}): {} on the {} engine, {} KV blocks of {} tokens ({} on the host tier), policy {}, "
                + "{} engine threads", instanceId, role, config.modelPath(), config.engine(), pool.capacity(),
                pool.blockSize(), config.hostKvBlocks(), policy.name(), config.threads());
    }

    /**
     * Writes still waiting for another key's callback are part of the checkpoint. They record what this subtask
     * has already emitted for that key (tokens, a final event, a handoff sent from another key's callback); a
     * restore without them would serve the key's requests again from older records: a request handed over twice,
     * or a finished one run again.
     */
    @Override
    public void initializeState(FunctionInitializationContext context) throws Exception {
        unflushedState = context.getOperatorStateStore().getUnionListState(
                new ListStateDescriptor<>("unflushed-writes", TypeInformation.of(UnflushedWrite.class)));
        restoredWrites = new HashMap<>();
        recovering = context.isRestored() || getRuntimeContext().getTaskInfo().getAttemptNumber() > 0;
        recoveredAtMs = NONE;
        if (context.isRestored()) {
            TaskInfo task = getRuntimeContext().getTaskInfo();
            for (UnflushedWrite w : unflushedState.get()) {
                // Every subtask gets every write of the union; it keeps those of the keys it holds now.
                if (KeyGroupRangeAssignment.assignKeyToParallelOperator(w.key, task.getMaxNumberOfParallelSubtasks(),
                        task.getNumberOfParallelSubtasks()) == task.getIndexOfThisSubtask()) {
                    restoredWrites.computeIfAbsent(w.key, k -> new ArrayList<>()).add(w);
                }
            }
        }
    }

    @Override
    public void snapshotState(FunctionSnapshotContext context) throws Exception {
        List<UnflushedWrite> writes = new ArrayList<>();
        // Restored ones of keys not entered since (such a key has no lane yet), then the lanes' own.
        for (List<UnflushedWrite> ws : restoredWrites.values()) {
            writes.addAll(ws);
        }
        for (Lane lane : lanes.values()) {
            for (PendingWrite w : lane.pendingWrites) {
                writes.add(new UnflushedWrite(lane.key, w.id(), w.record()));
            }
        }
        unflushedState.update(writes);
    }

    @Override
    public void close() throws Exception {
        if (executor != null) {
            executor.close();
            executor = null;
        }
    }

    @Override
    public void processElement(InstanceInput in, Context ctx, Collector<TokenEvent> out) throws Exception {
        if (in.load != null) {
            if (placement != null) {
                DecodeLoad d = in.load;
                placement.report(d.decodeInstance, d.freeBlocks, d.inboundBlocks, d.totalBlocks, d.runningSequences,
                        d.estimatedStepMs, d.tightestTpotMs, d.reportedAtMs);
                placeAwaiting(ctx.timerService().currentProcessingTime(), ctx);
            }
            return;
        }
        long now = ctx.timerService().currentProcessingTime();
        Lane lane = enter(ctx.getCurrentKey(), now, ctx, out);
        AdmittedRequest request = in.request;
        String problem = in.handoff != null ? null : check(request);
        if (in.handoff != null) {
            accept(lane, in.handoff, now, ctx, out);
        } else if (problem != null) {
            endUnserved(request, FinishReason.REJECTED, problem, now, ctx, out);
        } else if (live.containsKey(request.requestId)) {
            // A second request with a live id would interleave two token streams under one id: drop it.
            LOG.warn("instance {}: request id {} is already being served; dropping the duplicate", instanceId,
                    request.requestId);
        } else {
            RequestRecord record = RequestRecord.of(request);
            lane.pendingWrites.add(new PendingWrite(request.requestId, record));
            serve(lane, record, false, now, ctx, out);
        }
        flush(lane);
        if (needsRounds(lane) && (lane.chainTimerAt == NONE || lane.chainIsHeartbeat)) {
            setChainTimer(lane, ctx.timerService(), now, false);
        }
        metrics.queues(instance.waiting().size(), instance.running().size(), instance.blocks().freeBlocks());
    }

    @Override
    public void onTimer(long timestamp, OnTimerContext ctx, Collector<TokenEvent> out) throws Exception {
        long now = ctx.timerService().currentProcessingTime();
        Lane lane = enter(ctx.getCurrentKey(), now, ctx, out);
        // Timers are told apart by time; one Flink timer may stand for a round and for expiries at once.
        boolean chain = lane.chainTimerAt == timestamp;
        boolean heartbeat = chain && lane.chainIsHeartbeat;
        if (chain) {
            lane.chainTimerAt = NONE;
        }
        lane.deadlineTimers.remove(timestamp);
        boolean wasIdle = instance.isIdle();
        expireDue(now, ctx, out);
        boolean ran = false;
        boolean planned = false;
        // A chain timer is a round; a restored timer of a key without a chain also starts one.
        if (!instance.isIdle() && !heartbeat && (chain || lane.chainTimerAt == NONE)) {
            planned = true;
            ran = round(now, ctx, out);
        }
        long statusNow = ctx.timerService().currentProcessingTime();
        boolean becameIdle = instance.isIdle() && !wasIdle;
        if (heartbeat || becameIdle || lastStatusAtMs == NONE || statusNow - lastStatusAtMs >= config.statusIntervalMs()) {
            ctx.output(STATUS, status(statusNow));
        }
        flush(lane);
        if (lane.chainTimerAt == NONE) {
            if (needsRounds(lane)) {
                // At least 1 ms after this timer, so a round that took under a millisecond still yields to the
                // mailbox before the next (Flink fires every due timer in one go).
                long at = Math.max(statusNow, timestamp + 1);
                if (planned && !ran) {
                    at = Math.max(at, statusNow + EMPTY_ROUND_BACKOFF_MS);
                }
                setChainTimerAt(lane, ctx.timerService(), at, false);
            } else if (lane.key == homeKey && config.idleStatusMs() > 0) {
                setChainTimerAt(lane, ctx.timerService(), statusNow + config.idleStatusMs(), true);
            } else if (lane.awaitingDecode > 0) {
                // Sequences waiting for a decode instance need no rounds, but their key needs a timer: after a
                // restore it is what brings the key's records back (they are prefilled again and handed over).
                setChainTimerAt(lane, ctx.timerService(), statusNow + AWAITING_HEARTBEAT_MS, true);
            }
        }
        metrics.queues(instance.waiting().size(), instance.running().size(), instance.blocks().freeBlocks());
    }

    // ---- one round ----

    /** Plans, runs and completes one batch; false when the plan ran nothing. */
    private boolean round(long now, Context ctx, Collector<TokenEvent> out) {
        BatchPlan plan = policy.plan(instance, now);
        List<Request> dropped = instance.apply(plan, now);
        for (Request r : dropped) {
            end(bySchedule.get(r), FinishReason.REJECTED, "dropped: its SLO can no longer be met", now, ctx, out);
        }
        for (Request r : plan.preempted()) {
            Live l = bySchedule.get(r);
            if (r.state() == RequestState.SWAPPED) {
                // To the host tier: the KV is kept and imported again before the sequence's next step.
                if (l.hostKv == null) {
                    l.hostKv = executor.exportKv(l.table);
                }
            } else {
                // Recompute: the KV goes; prompt + generated are prefilled again.
                l.hostKv = null;
            }
            executor.release(l.table);
            update(l, l.record.preempted());
        }
        if (plan.isEmpty()) {
            return false;
        }
        List<Chunk> chunks = new ArrayList<>(plan.sequences());
        for (io.sluice.scheduling.Chunk ch : plan.prefill()) {
            Live l = bySchedule.get(ch.request());
            int from = ch.cachedTokens();
            boolean last = from + ch.tokens() == ch.request().knownTokens();
            chunks.add(engineChunk(l, from, ch.tokens(), last));
            if (l.record.startedAtMs == 0) {
                update(l, l.record.started(now));
                releaseDeadline(l, ctx.getCurrentKey(), ctx.timerService());
            }
        }
        for (Request r : plan.decode()) {
            Live l = bySchedule.get(r);
            KvSnapshot kv = l.hostKv;
            l.hostKv = null;
            if (kv != null) {
                importKv(l, kv);
            }
            chunks.add(engineChunk(l, r.contextTokens(), 1, true));
        }
        double estimateMs = instance.estimator().batchMs(plan);
        long t0 = System.nanoTime();
        Map<Long, Integer> sampled = execute(chunks);
        double ms = (System.nanoTime() - t0) / 1e6;
        // Features read the plan's cached-token counts, which complete() advances: take them first.
        LatencyModel.Sample sample = LatencyModel.Sample.of(plan, ms);
        long end = ctx.timerService().currentProcessingTime();
        instance.complete(plan, end);
        instance.estimator().observe(sample);
        metrics.batch(plan.sequences(), plan.totalTokens(), ms, ms > 0 ? 100.0 * (estimateMs - ms) / ms : 0.0);
        for (io.sluice.scheduling.Chunk ch : plan.prefill()) {
            Live l = bySchedule.get(ch.request());
            Integer token = sampled.get(l.table.sequenceId());
            if (token != null) {
                token(l, token, end, ctx, out);
                if (l.schedule.state() == RequestState.TRANSFERRING && live.get(l.id) == l) {
                    handOff(l, end, ctx);
                }
            }
        }
        for (Request r : plan.decode()) {
            Live l = bySchedule.get(r);
            token(l, sampled.get(l.table.sequenceId()), end, ctx, out);
        }
        return true;
    }

    /** Loads a sequence's KV from host memory into the pool, where the scheduler has counted its blocks. */
    private void importKv(Live l, KvSnapshot kv) {
        l.table = executor.importKv(l.table.sequenceId(), kv).orElseThrow(() -> new IllegalStateException(
                "instance " + instanceId + ": no KV blocks to import " + l.id + " although the scheduler counted "
                        + "them free (" + instance + ")"));
    }

    /**
     * A PREFILL instance's sequence after its first token: its KV goes to a decode instance; when no decode
     * instance admits it, it stays here, decoded locally in hybrid mode, else waiting for a decode instance with
     * room. Waiting rather than forcing it onto the most free instance keeps the admission thresholds a promise
     * (a full decode instance is not pushed into preempting its running sequences), and places the sequence by
     * the reports that show where room appears first.
     */
    private void handOff(Live l, long now, Context ctx) {
        KvSnapshot kv = executor.exportKv(l.table);
        executor.release(l.table);
        l.hostKv = kv;
        OptionalInt target = place(l, now);
        if (target.isPresent()) {
            send(l, target.getAsInt(), now, ctx);
        } else if (!(config.hybrid() && instance.enqueue(l.schedule, now))) {
            awaitingDecode.addLast(l);
            lanes.get(l.key).awaitingDecode++;
        }
    }

    /** The decode instance for a finished prefill whose KV is in {@code l.hostKv}, recorded as sent; or empty. */
    private OptionalInt place(Live l, long now) {
        // What the decode instance needs at once: the cached positions and the next one.
        int blocks = executor.blockPool().blocksFor(l.hostKv.length() + 1);
        double tpotTargetMs = RoutingRules.tpotTargetMs(l.schedule, routerDeadlines, config.router());
        Slo slo = l.schedule.slo();
        return placement.place(blocks, l.hostKv.length(), tpotTargetMs,
                slo.hasTpot() ? slo.tpotMs() : Double.POSITIVE_INFINITY, now);
    }

    /** After a decode status: sends waiting prefills, oldest first, until one finds no decode instance. */
    private void placeAwaiting(long now, Context ctx) throws Exception {
        while (!awaitingDecode.isEmpty()) {
            Live l = awaitingDecode.peekFirst();
            OptionalInt target = place(l, now);
            if (target.isEmpty()) {
                return;
            }
            awaitingDecode.pollFirst();
            lanes.get(l.key).awaitingDecode--;
            send(l, target.getAsInt(), now, ctx);
            if (l.key == ctx.getCurrentKey()) {
                flush(lanes.get(l.key));
            }
        }
    }

    /** Whether a key has requests that rounds serve (not only sequences waiting for a decode instance). */
    private static boolean needsRounds(Lane lane) {
        return lane.liveCount > lane.awaitingDecode;
    }

    /** Hands a finished prefill, its KV in {@code l.hostKv}, to decode instance {@code decode}; it leaves here. */
    private void send(Live l, int decode, long now, Context ctx) {
        KvSnapshot kv = l.hostKv;
        l.hostKv = null;
        RequestRecord record = l.record.prefilledBy(instanceId);
        ctx.output(HANDOFFS, KvHandoff.of(record, instanceId, decode, now, modelFingerprint, kv));
        metrics.handoff(kv.bytes());
        live.remove(l.id);
        bySchedule.remove(l.schedule);
        Lane lane = lanes.get(l.key);
        lane.liveCount--;
        lane.pendingWrites.add(new PendingWrite(l.id, null));
    }

    /**
     * A DECODE instance takes a handed-over sequence: queued in its decode phase, its KV in host memory until a
     * plan schedules it, its record (with the clocks TTFT and TPOT come from) in state.
     */
    private void accept(Lane lane, KvHandoff h, long now, Context ctx, Collector<TokenEvent> out) {
        metrics.handoffReceived(Math.max(0, now - h.sentAtMs));
        RequestRecord record = h.record;
        AdmittedRequest r = record.request;
        if (live.containsKey(r.requestId)) {
            LOG.warn("instance {}: request id {} is already being served; dropping the duplicate handoff", instanceId,
                    r.requestId);
            return;
        }
        if (h.model != modelFingerprint || h.kvLayers != model.layers() || h.kvDim != model.kvDim()
                || h.kvLength != record.knownTokens() - 1) {
            // Another model's KV (a TaskManager with another file at the model's path), or KV that does not fit
            // this one: decoding over it would continue from garbage, or the engine would refuse it and fail the
            // job. The sequence is prefilled again here, prompt and generated tokens, as after a restore.
            LOG.warn("instance {}: the KV handed over for {} is not of this instance's model file ({}); "
                    + "prefilling the sequence again", instanceId, r.requestId, config.modelPath());
            lane.pendingWrites.add(new PendingWrite(r.requestId, record));
            serve(lane, record, false, now, ctx, out);
            return;
        }
        long arrival = r.arrivalMs(now);
        Slo slo = new Slo(r.ttftSloMs > 0 ? r.ttftSloMs : Double.NaN, r.tpotSloMs > 0 ? r.tpotSloMs : Double.NaN,
                r.deadlineMs > 0 ? (double) (r.deadlineMs - arrival) : Double.NaN);
        Request schedule = Request.handedOver(r.requestId, r.tenant, r.priorityClass, r.weight, slo,
                r.promptTokens.length, r.maxNewTokens, arrival, record.generated.length, record.firstTokenAtMs,
                record.lastTokenAtMs);
        Live l = new Live(r.requestId, lane.key, schedule, new BlockTable(nextSequenceId++),
                new SamplingParams(r.temperature, r.topP, r.seed), NONE, record);
        if (!instance.enqueue(schedule, now)) {
            endUnserved(l, FinishReason.REJECTED, "prompt + max_new_tokens need "
                    + instance.blocks().blocksFor((long) r.promptTokens.length + r.maxNewTokens)
                    + " KV blocks; the decode instance has " + instance.blocks().totalBlocks(), now, ctx, out);
            return;
        }
        live.put(l.id, l);
        bySchedule.put(schedule, l);
        lane.liveCount++;
        l.hostKv = h.snapshot();
        lane.pendingWrites.add(new PendingWrite(l.id, record));
    }

    /** Known tokens {@code [from, from + n)} of a request as an engine chunk; {@code last} asks for a token. */
    private Chunk engineChunk(Live l, int from, int n, boolean last) {
        if (l.table.length() != from) {
            throw new IllegalStateException("request " + l.id + ": the engine caches " + l.table.length()
                    + " tokens but the scheduler continues from " + from);
        }
        return new Chunk(l.table, l.record.knownTokens(from, n), l.sampling,
                last ? Chunk.Output.TOKEN : Chunk.Output.NONE);
    }

    /** Runs the batch (in as many engine calls as its limits need); the sampled token per sequence. */
    private Map<Long, Integer> execute(List<Chunk> chunks) {
        Map<Long, Integer> sampled = new HashMap<>();
        for (List<Chunk> call : EngineCalls.split(chunks, executor.maxBatchTokens(), executor.maxBatchSequences())) {
            StepResult result = executor.execute(call);
            if (!result.ok()) {
                // The scheduler's accounting mirrors the pool block for block, so this is a bug, not load.
                throw new IllegalStateException("instance " + instanceId + ": the engine ran out of KV blocks for "
                        + result.outOfBlocks() + " although the scheduler counted them free (" + instance + ")");
            }
            for (SequenceOutput o : result.outputs()) {
                if (o.nextToken() >= 0) {
                    sampled.put(o.sequenceId(), o.nextToken());
                }
            }
        }
        return sampled;
    }

    /** A token sampled for {@code l}: emit it, and end the request on a stop token or at its length. */
    private void token(Live l, int token, long now, Context ctx, Collector<TokenEvent> out) {
        metrics.token();
        tokensSinceStatus++;
        int index = l.record.generated.length;
        boolean stop = token == Tokenizer.BOS || token == Tokenizer.EOS;
        // Events by the all-args constructor: a builder costs a schema lookup and a deep copy of every unset
        // field's default per event (measured ~8% of the instance thread with the no-op engine).
        Instant at = Instant.ofEpochMilli(now);
        if (stop) {
            // The stop token is part of no text: count it and end here with EOS, as run.c stops at BOS.
            update(l, l.record.withToken(token, now));
            // A finished prefill on a PREFILL instance has already left it (TRANSFERRING): nothing to cancel.
            if (!l.schedule.state().isFinished() && l.schedule.state() != RequestState.TRANSFERRING) {
                instance.cancel(l.schedule, RequestState.FINISHED_OK, now);
            }
            out.collect(new TokenEvent(l.id, index, token, "", true, FinishReason.EOS, null, at));
            end(l, FinishReason.EOS, null, now, ctx, out);
            return;
        }
        String text = text(l.record, token);
        update(l, l.record.withToken(token, now));
        if (l.schedule.state() == RequestState.FINISHED_OK) {
            out.collect(new TokenEvent(l.id, index, token, text, true, FinishReason.LENGTH, null, at));
            end(l, FinishReason.LENGTH, null, now, ctx, out);
        } else {
            out.collect(new TokenEvent(l.id, index, token, text, false, null, null, at));
        }
    }

    /**
     * The text {@code token} adds to the request's generated text: a character split over byte-fallback tokens comes
     * whole with the token that completes it (decoded from the tokens so far, so no decoder state crosses a handoff).
     */
    private String text(RequestRecord record, int token) {
        if (tokenizer == null) {
            return "";
        }
        int next = record.knownTokens();
        return tokenizer.streamText(i -> i < next ? record.knownToken(i) : token, record.request.promptTokens.length,
                next);
    }

    // ---- arrivals, restores, expiries, ends ----

    /** Why an admitted request cannot be served by this model, or null. */
    private String check(AdmittedRequest r) {
        if (r.requestId == null || r.requestId.isEmpty()) {
            return "request has no id";
        }
        if (r.promptTokens == null || r.promptTokens.length == 0) {
            return "empty prompt";
        }
        for (int t : r.promptTokens) {
            if (t < 0 || t >= model.vocabSize()) {
                return "prompt token " + t + " is outside the model's vocabulary [0, " + model.vocabSize() + ")";
            }
        }
        if (r.maxNewTokens < 1) {
            return "max_new_tokens must be >= 1, got " + r.maxNewTokens;
        }
        // The last generated token is never fed back, so prompt + output - 1 positions must fit.
        if ((long) r.promptTokens.length + r.maxNewTokens - 1 > model.seqLen()) {
            return "prompt (" + r.promptTokens.length + " tokens) + max_new_tokens (" + r.maxNewTokens
                    + ") exceed the model's context of " + model.seqLen();
        }
        if (!(r.weight > 0) || Double.isInfinite(r.weight)) {
            return "priority weight must be > 0, got " + r.weight;
        }
        if (r.ttftSloMs < 0 || r.tpotSloMs < 0 || r.deadlineMs < 0) {
            return "SLOs must be >= 0 (0 = none)";
        }
        if (!(r.temperature >= 0) || Float.isInfinite(r.temperature) || !(r.topP > 0 && r.topP <= 1)) {
            return "sampling needs temperature >= 0 and top_p in (0, 1], got " + r.temperature + ", " + r.topP;
        }
        return null;
    }

    /**
     * Queues a request, new or restored with tokens already generated: the scheduler then sees prompt + generated
     * as its prompt and the rest as its output, so the whole known sequence is prefilled before the next token.
     *
     * <p>After a failure, a request restored from the checkpoint, or one submitted before this run came back (the
     * source replays what it read since the checkpoint), may have run after the checkpoint and sent its tokens,
     * all of them or some. Its client has those tokens, so it is served again, late, to the same tokens (they
     * depend on seed and position only), and never expired for not having started: an EXPIRED event at an index
     * the client already has a token for would contradict it. Its metrics count from its submission, so it misses
     * its TTFT target.
     */
    private void serve(Lane lane, RequestRecord record, boolean restored, long now, Context ctx,
                       Collector<TokenEvent> out) {
        AdmittedRequest r = record.request;
        int generated = record.generated.length;
        long arrival = r.arrivalMs(now);
        boolean started = record.startedAtMs > 0;
        boolean mayHaveRunBefore = restored || (recoveredAtMs != NONE && arrival < recoveredAtMs);
        long expiresAt = NONE;
        if (!started && !mayHaveRunBefore && r.ttftSloMs > 0) {
            expiresAt = arrival + r.ttftSloMs;
        } else if (!started && !mayHaveRunBefore && r.deadlineMs > 0) {
            expiresAt = r.deadlineMs;
        }
        Live l = new Live(r.requestId, lane.key, null, null, null, expiresAt, record);
        if (r.deadlineMs > 0 && r.deadlineMs <= arrival) {
            endUnserved(l, FinishReason.EXPIRED, "its deadline passed before it reached the instance", now, ctx, out);
            return;
        }
        if (expiresAt != NONE && expiresAt <= now) {
            endUnserved(l, FinishReason.EXPIRED, expiryDetail(r), now, ctx, out);
            return;
        }
        // A TTFT target is for the first token only: a restored request that had one keeps its TPOT target.
        Slo slo = new Slo(r.ttftSloMs > 0 && generated == 0 ? r.ttftSloMs : Double.NaN,
                r.tpotSloMs > 0 ? r.tpotSloMs : Double.NaN,
                r.deadlineMs > 0 ? (double) (r.deadlineMs - arrival) : Double.NaN);
        Request schedule = new Request(r.requestId, r.tenant, r.priorityClass, r.weight, slo,
                r.promptTokens.length + generated, r.maxNewTokens - generated, arrival);
        l = new Live(r.requestId, lane.key, schedule, new BlockTable(nextSequenceId++),
                new SamplingParams(r.temperature, r.topP, r.seed), expiresAt, record);
        if (!instance.enqueue(schedule, now)) {
            endUnserved(l, FinishReason.REJECTED, "prompt + max_new_tokens need "
                    + instance.blocks().blocksFor((long) schedule.promptTokens() + schedule.maxNewTokens())
                    + " KV blocks; the instance has " + instance.blocks().totalBlocks(), now, ctx, out);
            return;
        }
        live.put(l.id, l);
        bySchedule.put(schedule, l);
        lane.liveCount++;
        if (expiresAt != NONE) {
            expiries.add(l);
            if (lane.deadlineTimers.merge(expiresAt, 1, Integer::sum) == 1) {
                ctx.timerService().registerProcessingTimeTimer(expiresAt);
            }
        }
    }

    private static String expiryDetail(AdmittedRequest r) {
        return r.ttftSloMs > 0 ? "not started within its TTFT SLO of " + r.ttftSloMs + " ms"
                : "not started before its deadline";
    }

    /** Expires every request whose start deadline has passed and that has not started. */
    private void expireDue(long now, Context ctx, Collector<TokenEvent> out) {
        while (!expiries.isEmpty() && expiries.peek().expiresAtMs <= now) {
            Live l = expiries.poll();
            if (live.get(l.id) != l || l.record.startedAtMs > 0) {
                continue;
            }
            instance.cancel(l.schedule, RequestState.EXPIRED, now);
            out.collect(finalEvent(l.id, l.record.generated.length, FinishReason.EXPIRED, expiryDetail(l.record.request), now));
            end(l, FinishReason.EXPIRED, null, now, ctx, out);
        }
    }

    /** Ends a served request whose final token event (if any) is out: metrics, engine blocks, state. */
    private void end(Live l, FinishReason reason, String rejectionDetail, long now, Context ctx,
                     Collector<TokenEvent> out) {
        if (rejectionDetail != null) {
            out.collect(finalEvent(l.id, l.record.generated.length, reason, rejectionDetail, now));
        }
        executor.release(l.table);
        l.hostKv = null;
        live.remove(l.id);
        bySchedule.remove(l.schedule);
        Lane lane = lanes.get(l.key);
        lane.liveCount--;
        lane.pendingWrites.add(new PendingWrite(l.id, null));
        releaseDeadline(l, ctx.getCurrentKey(), ctx.timerService());
        ctx.output(METRICS, requestMetrics(l.record, reason, now));
    }

    /** Ends a request that never entered the scheduler (invalid, too long, or already late). */
    private void endUnserved(AdmittedRequest r, FinishReason reason, String detail, long now, Context ctx,
                             Collector<TokenEvent> out) {
        out.collect(finalEvent(r.requestId == null ? "" : r.requestId, 0, reason, detail, now));
        ctx.output(METRICS, requestMetrics(RequestRecord.of(r), reason, now));
    }

    /** The same for a restored request: its state entry goes too. */
    private void endUnserved(Live l, FinishReason reason, String detail, long now, Context ctx,
                             Collector<TokenEvent> out) {
        out.collect(finalEvent(l.id, l.record.generated.length, reason, detail, now));
        ctx.output(METRICS, requestMetrics(l.record, reason, now));
        lanes.get(l.key).pendingWrites.add(new PendingWrite(l.id, null));
    }

    private static TokenEvent finalEvent(String id, int index, FinishReason reason, String detail, long now) {
        return TokenEvent.newBuilder()
                .setRequestId(id)
                .setIndex(index)
                .setFinal$(true)
                .setFinishReason(reason)
                .setReasonDetail(detail)
                .setEmittedAt(Instant.ofEpochMilli(now))
                .build();
    }

    /** Metrics with {@link Request#sloMet()}'s meaning, from the record (which survives restores). */
    private RequestMetrics requestMetrics(RequestRecord rec, FinishReason reason, long now) {
        AdmittedRequest r = rec.request;
        int n = rec.generated.length;
        double ttft = n == 0 ? Double.NaN : rec.firstTokenAtMs - r.submittedAtMs;
        double tpot = n < 2 ? Double.NaN : (double) (rec.lastTokenAtMs - rec.firstTokenAtMs) / (n - 1);
        boolean ok = reason == FinishReason.LENGTH || reason == FinishReason.EOS;
        boolean met = ok
                && (r.deadlineMs <= 0 || now <= r.deadlineMs)
                && (r.ttftSloMs <= 0 || ttft <= r.ttftSloMs)
                && (r.tpotSloMs <= 0 || n < 2 || tpot <= r.tpotSloMs);
        metrics.finished(met, ttft, tpot);
        return RequestMetrics.newBuilder()
                .setRequestId(r.requestId == null ? "" : r.requestId)
                .setTenant(r.tenant == null ? "" : r.tenant)
                .setPriorityClass(r.priorityClass == null ? "" : r.priorityClass)
                .setPriorityWeight(r.weight)
                .setPromptTokens(r.promptTokens == null ? 0 : r.promptTokens.length)
                .setGeneratedTokens(n)
                .setTtftMs(Double.isNaN(ttft) ? null : ttft)
                .setTpotMs(Double.isNaN(tpot) ? null : tpot)
                .setE2eMs(Math.max(0, now - r.submittedAtMs))
                .setQueueMs(rec.startedAtMs > 0 ? Math.max(0, rec.startedAtMs - r.submittedAtMs) : 0.0)
                .setSloMet(met)
                .setFinishReason(reason)
                .setPrefillInstance(rec.prefillInstance >= 0 ? rec.prefillInstance : instanceId)
                .setDecodeInstance(n > 1 ? instanceId : -1)
                .setPreemptions(rec.preemptions)
                .setFinishedAt(Instant.ofEpochMilli(now))
                .build();
    }

    private InstanceStatus status(long now) {
        double seconds = lastStatusAtMs == NONE ? 0 : (now - lastStatusAtMs) / 1000.0;
        double rate = seconds > 0 ? tokensSinceStatus / seconds : 0.0;
        lastStatusAtMs = now;
        tokensSinceStatus = 0;
        return InstanceStatus.newBuilder()
                .setInstance(instanceId)
                .setRole(InstanceRole.valueOf(role.name()))
                .setQueuedRequests(instance.waiting().size())
                .setRunningSequences(instance.running().size())
                .setBacklogMs(instance.backlogMs())
                .setFreeKvBlocks(instance.blocks().freeBlocks())
                .setTotalKvBlocks(instance.blocks().totalBlocks())
                .setInboundKvBlocks(instance.inboundBlocks())
                .setKvBlockTokens(instance.blocks().blockTokens())
                .setHostKvBlocks(instance.blocks().hostCapacityBlocks() - instance.blocks().hostFreeBlocks())
                .setEstimatedTpotMs(instance.decodeStepMs())
                .setTightestTpotMs(DecodeLoad.tpotOnWire(instance.tightestTpotMs()))
                .setTokensPerSecond(rate)
                .setReportedAt(Instant.ofEpochMilli(now))
                .build();
    }

    // ---- keys, state and timers ----

    /**
     * The lane of the callback's key: on its first callback, every request in its state (a restore) is queued
     * again; then the writes other keys' callbacks left for it are applied.
     */
    private Lane enter(int key, long now, Context ctx, Collector<TokenEvent> out) throws Exception {
        if (recovering && recoveredAtMs == NONE) {
            recoveredAtMs = now;
        }
        Lane lane = lanes.computeIfAbsent(key, Lane::new);
        if (!lane.loaded) {
            lane.loaded = true;
            List<UnflushedWrite> unflushed = restoredWrites.remove(key);
            if (unflushed != null) {
                for (UnflushedWrite w : unflushed) {
                    write(w.id, w.record);
                }
            }
            List<RequestRecord> restored = new ArrayList<>();
            for (RequestRecord record : requests.values()) {
                if (!live.containsKey(record.request.requestId)) {
                    restored.add(record);
                }
            }
            if (!restored.isEmpty()) {
                LOG.info("instance {}: re-queueing {} restored requests of key {}", instanceId, restored.size(), key);
            }
            for (RequestRecord record : restored) {
                // A savepoint may be restored into a job with another model: what this one cannot serve ends
                // here, where the engine refusing it would fail the job and every restart after it.
                String problem = check(record.request);
                for (int i = 0; problem == null && i < record.generated.length; i++) {
                    if (record.generated[i] >= model.vocabSize()) {
                        problem = "generated token " + record.generated[i] + " is outside the model's vocabulary [0, "
                                + model.vocabSize() + ")";
                    }
                }
                if (problem != null) {
                    endUnserved(new Live(record.request.requestId, key, null, null, null, NONE, record),
                            FinishReason.REJECTED, problem, now, ctx, out);
                } else {
                    serve(lane, record, true, now, ctx, out);
                }
            }
        }
        flush(lane);
        return lane;
    }

    /** Applies the lane's pending writes; must run in the lane's key context. */
    private void flush(Lane lane) throws Exception {
        if (lane.pendingWrites.isEmpty()) {
            return;
        }
        for (PendingWrite w : lane.pendingWrites) {
            write(w.id(), w.record());
        }
        lane.pendingWrites.clear();
        if (lane.liveCount == 0) {
            requests.clear();
        }
    }

    /** Puts a request's record into the current key's state, or removes it ({@code record} null). */
    private void write(String id, RequestRecord record) throws Exception {
        if (record == null) {
            requests.remove(id);
        } else {
            requests.put(id, record);
        }
    }

    private void update(Live l, RequestRecord record) {
        l.record = record;
        lanes.get(l.key).pendingWrites.add(new PendingWrite(l.id, record));
    }

    /** Drops {@code l}'s claim on its expiry timer; deletes the timer when no one else needs it. */
    private void releaseDeadline(Live l, int currentKey, TimerService timers) {
        if (l.expiresAtMs == NONE || l.deadlineReleased || l.key != currentKey) {
            return; // another key's timer cannot be deleted from here; it fires and finds nothing to do
        }
        // A request that started gave its claim up then; giving it up again at its end would delete a timer that
        // an unstarted request of the same expiry time still needs.
        l.deadlineReleased = true;
        Lane lane = lanes.get(l.key);
        Integer count = lane.deadlineTimers.get(l.expiresAtMs);
        if (count == null) {
            return;
        }
        if (count > 1) {
            lane.deadlineTimers.put(l.expiresAtMs, count - 1);
            return;
        }
        lane.deadlineTimers.remove(l.expiresAtMs);
        if (lane.chainTimerAt != l.expiresAtMs) {
            timers.deleteProcessingTimeTimer(l.expiresAtMs);
        }
    }

    private void setChainTimer(Lane lane, TimerService timers, long at, boolean heartbeat) {
        if (lane.chainTimerAt != NONE && lane.chainTimerAt != at
                && !lane.deadlineTimers.containsKey(lane.chainTimerAt)) {
            timers.deleteProcessingTimeTimer(lane.chainTimerAt);
        }
        setChainTimerAt(lane, timers, at, heartbeat);
    }

    private static void setChainTimerAt(Lane lane, TimerService timers, long at, boolean heartbeat) {
        lane.chainTimerAt = at;
        lane.chainIsHeartbeat = heartbeat;
        timers.registerProcessingTimeTimer(at);
    }
}
