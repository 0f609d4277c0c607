package io.sluice.operators;

import io.sluice.gpu.exec.CpuExecutor;
import io.sluice.gpu.exec.Generator;
import io.sluice.gpu.model.CheckpointLoader;
import io.sluice.gpu.model.SyntheticCheckpoint;
import io.sluice.gpu.model.Weights;
import io.sluice.gpu.sampling.SamplingParams;
import io.sluice.gpu.tokenizer.Tokenizer;
import io.sluice.operators.ingest.AdmittedRequest;
import io.sluice.scheduling.PolicyOptions;
import io.sluice.schemas.InstanceStatus;
import io.sluice.schemas.RequestMetrics;
import io.sluice.schemas.TokenEvent;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import org.apache.flink.api.common.typeinfo.Types;
import org.apache.flink.api.java.functions.KeySelector;
import org.apache.flink.runtime.checkpoint.OperatorSubtaskState;
import org.apache.flink.streaming.api.operators.KeyedProcessOperator;
import org.apache.flink.streaming.runtime.streamrecord.StreamRecord;
import org.apache.flink.streaming.util.AbstractStreamOperatorTestHarness;
import org.apache.flink.streaming.util.KeyedOneInputStreamOperatorTestHarness;

/**
 * An {@link InstanceFunction} in Flink's keyed operator harness, on the shared stories260K checkpoint, with
 * processing time advanced by hand; plus the fixtures the tests build requests from and the reference generation
 * they compare with.
 */
final class InstanceHarness implements AutoCloseable {

    static final int MAX_PARALLELISM = 128;
    /** A latency model of the right order for stories260K on a CPU core: ~1 ms per batch, tiny per token. */
    static final double[] LATENCY = {1.0, 0.01, 0.0, 0.0, 0.0, 0.5, 0.02, 0.0001};

    final KeyedOneInputStreamOperatorTestHarness<Integer, InstanceInput, TokenEvent> harness;
    long now;

    private InstanceHarness(InstanceConfig config, KeySelector<AdmittedRequest, Integer> keys,
                            OperatorSubtaskState restoreFrom, long startMs) throws Exception {
        this(config, keys, restoreFrom, startMs, 1, 0);
    }

    private InstanceHarness(InstanceConfig config, KeySelector<AdmittedRequest, Integer> keys,
                            OperatorSubtaskState restoreFrom, long startMs, int parallelism, int subtask)
            throws Exception {
        int home = InstanceKeys.keyFor(subtask, parallelism, MAX_PARALLELISM);
        KeySelector<InstanceInput, Integer> inputKeys = in -> in.request != null ? keys.getKey(in.request) : home;
        harness = new KeyedOneInputStreamOperatorTestHarness<>(new KeyedProcessOperator<>(new InstanceFunction(config)),
                inputKeys, Types.INT, MAX_PARALLELISM, parallelism, subtask);
        now = startMs;
        harness.setProcessingTime(now);
        if (restoreFrom != null) {
            harness.initializeState(restoreFrom);
        }
        harness.open();
    }

    /** Every request keyed to instance 0 of 1. */
    static InstanceHarness start(InstanceConfig config) throws Exception {
        return new InstanceHarness(config, homeKey(), null, 1_000_000L);
    }

    static InstanceHarness start(InstanceConfig config, KeySelector<AdmittedRequest, Integer> keys) throws Exception {
        return new InstanceHarness(config, keys, null, 1_000_000L);
    }

    static InstanceHarness restore(InstanceConfig config, OperatorSubtaskState state, long startMs) throws Exception {
        return new InstanceHarness(config, homeKey(), state, startMs);
    }

    /**
     * Subtask {@code subtask} of {@code parallelism} restored from the state of a single subtask (a rescale): it
     * gets the key groups it holds now, and the union of the operator state.
     */
    static InstanceHarness restoreRescaled(InstanceConfig config, OperatorSubtaskState state, long startMs,
                                           int parallelism, int subtask) throws Exception {
        OperatorSubtaskState part = AbstractStreamOperatorTestHarness.repartitionOperatorState(state,
                MAX_PARALLELISM, 1, parallelism, subtask);
        int home = InstanceKeys.keyFor(subtask, parallelism, MAX_PARALLELISM);
        return new InstanceHarness(config, r -> home, part, startMs, parallelism, subtask);
    }

    private static KeySelector<AdmittedRequest, Integer> homeKey() {
        int key = InstanceKeys.keyFor(0, 1, MAX_PARALLELISM);
        return r -> key;
    }

    /**
     * The shared stories260K checkpoint, or where the shared folder is absent (a fresh clone) a synthetic checkpoint
     * of its shape: these tests compare the operator with the engine's own {@link Generator}, which any weights serve.
     */
    static Path model() {
        Path shared = sharedModel();
        return shared != null ? shared : SyntheticModel.FILE;
    }

    /** The shared stories260K checkpoint, or null when the shared folder is absent. */
    static Path sharedModel() {
        String root = System.getProperty("sluice.shared");
        Path file = root == null ? null : Path.of(root, "models", "stories260K.bin");
        return file != null && Files.isRegularFile(file) ? file : null;
    }

    /** Written once per test JVM, on first use; weights large enough that sampled and greedy output vary. */
    private static final class SyntheticModel {
        static final Path FILE = write();

        private static Path write() {
            try {
                Path file = Files.createTempFile("sluice-instance-harness-", ".bin");
                file.toFile().deleteOnExit();
                SyntheticCheckpoint.write(SyntheticCheckpoint.Shape.S260K.config(), 260, 0.3, file, p -> { });
                return file;
            } catch (java.io.IOException e) {
                throw new java.io.UncheckedIOException(e);
            }
        }
    }

    /** One engine thread, a small KV pool, a status every 10 ms, no idle heartbeat (so timers can drain to zero). */
    static InstanceConfig config(String policy, PolicyOptions options) {
        return new InstanceConfig(model().toString(), null, 1, 256, policy, options, LATENCY, 10, 0, InstanceConfig.Engine.CPU);
    }

    static AdmittedRequest request(String id, int[] prompt, int maxNewTokens, float temperature, long seed, long nowMs) {
        AdmittedRequest r = new AdmittedRequest();
        r.requestId = id;
        r.tenant = "t";
        r.priorityClass = "interactive";
        r.weight = 1.0;
        r.promptTokens = prompt;
        r.maxNewTokens = maxNewTokens;
        r.temperature = temperature;
        r.topP = 0.9f;
        r.seed = seed;
        r.submittedAtMs = nowMs;
        return r;
    }

    /** A prompt of BOS then {@code length - 1} ids from a seeded stream over stories260K's 512-token vocabulary. */
    static int[] prompt(int length, long seed) {
        java.util.SplittableRandom rnd = new java.util.SplittableRandom(seed);
        int[] p = new int[length];
        p[0] = Tokenizer.BOS;
        for (int i = 1; i < length; i++) {
            p[i] = 3 + rnd.nextInt(509);
        }
        return p;
    }

    /**
     * What {@link Generator} (= {@code sluice generate}, llama2.c's run.c) produces after the prompt: up to
     * {@code maxNewTokens} tokens, ended early by BOS (run.c's stop) or, as the instance does, by EOS.
     */
    static int[] reference(AdmittedRequest r) {
        Weights weights = CheckpointLoader.load(model());
        try (CpuExecutor ex = new CpuExecutor(weights, CpuExecutor.Options.defaults(weights.config())
                .withThreads(1).withKvBlocks(64))) {
            int[] ids = Generator.generate(ex, r.promptTokens, r.promptTokens.length - 1 + r.maxNewTokens,
                    new SamplingParams(r.temperature, r.topP, r.seed), t -> { }).ids();
            int[] generated = Arrays.copyOfRange(ids, r.promptTokens.length - 1, ids.length);
            for (int i = 0; i < generated.length; i++) {
                if (generated[i] == Tokenizer.EOS) {
                    return Arrays.copyOf(generated, i);
                }
            }
            return generated;
        }
    }

    void add(AdmittedRequest r) throws Exception {
        harness.processElement(InstanceInput.of(r), now);
    }

    /**
     * Adds four requests of 150 new tokens over 20-token prompts, greedy and sampled in turn: together more KV than
     * a 20-block pool holds, so they preempt each other. Returns them in order.
     */
    List<AdmittedRequest> addOutgrowingRequests() throws Exception {
        List<AdmittedRequest> sent = new ArrayList<>();
        for (int i = 0; i < 4; i++) {
            AdmittedRequest r = request("p" + i, prompt(20, 50 + i), 150, i % 2 == 0 ? 0f : 0.7f, 50 + i, now);
            sent.add(r);
            add(r);
        }
        return sent;
    }

    /** A sequence handed over by a prefill instance (a decode instance's input). */
    void add(KvHandoff h) throws Exception {
        harness.processElement(InstanceInput.of(h), now);
    }

    /** A decode instance's load as its status reports it (a prefill instance's input). */
    void add(DecodeLoad load) throws Exception {
        harness.processElement(InstanceInput.of(0, load), now);
    }

    List<KvHandoff> handoffs() {
        var out = harness.getSideOutput(InstanceFunction.HANDOFFS);
        return out == null ? List.of() : out.stream().map(StreamRecord::getValue).toList();
    }

    /** Advances processing time 1 ms at a time until no timer is left (or {@code maxMs} passed). */
    void runUntilIdle(long maxMs) throws Exception {
        long until = now + maxMs;
        do {
            harness.setProcessingTime(now);
            if (harness.numProcessingTimeTimers() == 0) {
                return;
            }
            now++;
        } while (now <= until);
    }

    /** Advances processing time by {@code ms}, 1 ms at a time. */
    void advance(long ms) throws Exception {
        for (long i = 0; i < ms; i++) {
            now++;
            harness.setProcessingTime(now);
        }
    }

    List<TokenEvent> events() {
        return new ArrayList<>(harness.extractOutputValues());
    }

    List<TokenEvent> events(String id) {
        return events().stream().filter(e -> e.getRequestId().equals(id)).toList();
    }

    List<RequestMetrics> metrics() {
        var out = harness.getSideOutput(InstanceFunction.METRICS);
        return out == null ? List.of() : out.stream().map(StreamRecord::getValue).toList();
    }

    List<InstanceStatus> statuses() {
        var out = harness.getSideOutput(InstanceFunction.STATUS);
        return out == null ? List.of() : out.stream().map(StreamRecord::getValue).toList();
    }

    /** Token ids of a request's events that carry text, i.e. all but a stop token. */
    static int[] tokens(List<TokenEvent> events) {
        return events.stream()
                .filter(e -> !(Boolean.TRUE.equals(e.getFinal$()) && e.getFinishReason() == io.sluice.schemas.FinishReason.EOS))
                .filter(e -> e.getTokenId() >= 0)
                .mapToInt(TokenEvent::getTokenId).toArray();
    }

    @Override
    public void close() throws Exception {
        harness.close();
    }
}
