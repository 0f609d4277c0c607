package io.sluice.job.pipeline;

import static org.assertj.core.api.Assertions.assertThat;

import io.sluice.gpu.model.SyntheticCheckpoint;
import io.sluice.operators.InstanceInput;
import io.sluice.operators.ingest.RequestFormat;
import io.sluice.scheduling.PolicyOptions;
import io.sluice.scheduling.RouterOptions;
import io.sluice.schemas.InstanceRole;
import io.sluice.schemas.InstanceStatus;
import java.net.URI;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.stream.IntStream;
import org.apache.flink.api.common.functions.FlatMapFunction;
import org.apache.flink.api.common.functions.util.ListCollector;
import org.apache.flink.api.java.functions.KeySelector;
import org.apache.flink.configuration.CheckpointingOptions;
import org.apache.flink.configuration.Configuration;
import org.apache.flink.configuration.CoreOptions;
import org.apache.flink.core.execution.CheckpointingMode;
import org.apache.flink.configuration.PipelineOptions;
import org.apache.flink.streaming.api.environment.StreamExecutionEnvironment;
import org.apache.flink.streaming.api.graph.StreamEdge;
import org.apache.flink.streaming.api.graph.StreamGraph;
import org.apache.flink.streaming.api.graph.StreamNode;
import org.apache.flink.streaming.api.operators.SimpleUdfStreamOperatorFactory;
import org.apache.flink.streaming.runtime.partitioner.KeyGroupStreamPartitioner;
import org.apache.flink.runtime.state.KeyGroupRangeAssignment;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The job's graph in each PD mode, built without running it: the pools' parallelism, and every exchange typed
 * without Kryo (the graph is built with generic types disabled, so a generic type fails the build).
 */
class InferenceJobTest {

    @TempDir
    static Path dir;

    private static StreamGraph streamGraph(int instances, PdMode pd, int decode) {
        Configuration conf = new Configuration();
        conf.set(PipelineOptions.GENERIC_TYPES, false);
        return built(instances, pd, decode, conf).getStreamGraph();
    }

    /** An environment of {@code conf} with the job built on it. */
    private static StreamExecutionEnvironment built(int instances, PdMode pd, int decode, Configuration conf) {
        Path model = dir.resolve("m.bin");
        if (!model.toFile().exists()) {
            SyntheticCheckpoint.write(SyntheticCheckpoint.Shape.of("260k").config(), 1, model);
        }
        JobSettings settings = new JobSettings("localhost:1", Topics.DEFAULT, RequestFormat.AVRO, new Properties(),
                "g", model.toString(), model.toString(), instances, 1, 64, "slidebatching", PolicyOptions.defaults(),
                new double[] {1, 0.01, 0, 0, 0, 0.5, 0.02, 0.0001}, "", 100, 1000, 0).withPd(pd, decode);
        StreamExecutionEnvironment env = StreamExecutionEnvironment.getExecutionEnvironment(conf);
        env.setParallelism(instances);
        InferenceJob.build(env, settings);
        return env;
    }

    @Test
    void theJobCheckpointsExactlyOnceWhereTheEnvironmentDoesNotAlready() {
        // `sluice run` run directly and `sluice local` start the job on an environment of their own, without a
        // cluster's config.yaml: without checkpoints a failure fails the job (Flink restarts none), the queued and
        // running requests are lost, and the request source never commits an offset to resume from.
        for (PdMode mode : PdMode.values()) {
            StreamExecutionEnvironment env = built(mode.separated() ? 3 : 2, mode, mode.separated() ? 1 : 0,
                    new Configuration());
            assertThat(env.getCheckpointConfig().isCheckpointingEnabled()).as("%s: checkpointing", mode).isTrue();
            assertThat(env.getCheckpointConfig().getCheckpointingConsistencyMode()).as("%s", mode)
                    .isEqualTo(CheckpointingMode.EXACTLY_ONCE);
            assertThat(env.getCheckpointInterval()).isEqualTo(InferenceJob.CHECKPOINT_INTERVAL.toMillis());
        }
        // A cluster's own setting (flink-conf/config.yaml under `flink run`) is kept.
        Configuration cluster = new Configuration();
        cluster.set(CheckpointingOptions.CHECKPOINTING_INTERVAL, Duration.ofSeconds(3));
        cluster.set(CheckpointingOptions.CHECKPOINTING_CONSISTENCY_MODE, CheckpointingMode.AT_LEAST_ONCE);
        StreamExecutionEnvironment env = built(2, PdMode.COLOCATED, 0, cluster);
        assertThat(env.getCheckpointInterval()).isEqualTo(3000);
        assertThat(env.getCheckpointConfig().getCheckpointingConsistencyMode())
                .isEqualTo(CheckpointingMode.AT_LEAST_ONCE);
        assertThat(env.getConfiguration().getOptional(CheckpointingOptions.CHECKPOINT_STORAGE)).isEmpty();
    }

    @Test
    void aJobOnItsOwnLocalClusterCheckpointsToFilesNotTheJobManagersMemory() {
        // The JobManager's memory takes 5 MB of state per instance: an instance's queue of a few thousand
        // requests outgrows it, and a checkpoint that fails fails the job over (none is tolerated by default).
        StreamExecutionEnvironment env = built(2, PdMode.COLOCATED, 0, new Configuration());
        assertThat(env.getConfiguration().get(CheckpointingOptions.CHECKPOINT_STORAGE)).isEqualTo("filesystem");
        // Without a temporary folder of the cluster's: a folder of this JVM's own (removed when it exits), not a
        // shared one that every run leaves its emptied job folders in.
        String folder = env.getConfiguration().get(CheckpointingOptions.CHECKPOINTS_DIRECTORY);
        assertThat(Path.of(URI.create(folder))).isDirectory();
        assertThat(built(2, PdMode.COLOCATED, 0, new Configuration()).getConfiguration()
                .get(CheckpointingOptions.CHECKPOINTS_DIRECTORY)).isNotEqualTo(folder);
        // Local mode's cluster keeps its files in its work folder, removed at its end: the checkpoints too.
        Configuration local = new Configuration();
        local.set(CoreOptions.TMP_DIRS, dir.resolve("work").toString());
        StreamExecutionEnvironment inLocalMode = built(2, PdMode.COLOCATED, 0, local);
        assertThat(inLocalMode.getConfiguration().get(CheckpointingOptions.CHECKPOINTS_DIRECTORY)).isEqualTo(
                dir.resolve("work").resolve("sluice-checkpoints").toUri().toString());
    }

    private static Map<String, Integer> graph(int instances, PdMode pd, int decode) {
        StreamGraph g = streamGraph(instances, pd, decode);
        Map<String, Integer> parallelism = new HashMap<>();
        for (StreamNode n : g.getStreamNodes()) {
            parallelism.put(n.getOperatorName(), n.getParallelism());
        }
        return parallelism;
    }

    @Test
    void colocatedJobHasOneInstancePool() {
        assertThat(graph(2, PdMode.COLOCATED, 0)).containsEntry("Instance: slidebatching + engine", 2)
                .doesNotContainKey("Decode instance: slidebatching + engine");
    }

    @Test
    void separateAndHybridJobsHaveAPrefillAndADecodePool() {
        for (PdMode mode : new PdMode[] {PdMode.SEPARATE, PdMode.HYBRID}) {
            assertThat(graph(5, mode, 3)).as("%s", mode)
                    .containsEntry("Prefill instance: slidebatching + engine", 2)
                    .containsEntry("Decode instance: slidebatching + engine", 3)
                    .containsEntry("KV handoff", 2)
                    .doesNotContainKey("Instance: slidebatching + engine");
        }
    }

    @Test
    void onlyHybridJobsRoutePrefillsToDecodeInstances() {
        assertThat(graph(5, PdMode.SEPARATE, 3)).doesNotContainKey("Hybrid prefills");
        assertThat(graph(5, PdMode.HYBRID, 3)).containsKey("Hybrid prefills");
    }

    @Test
    void aRequestsTokensReachOneSinkSubtaskInPdModes() {
        for (PdMode mode : PdMode.values()) {
            StreamGraph g = streamGraph(mode.separated() ? 5 : 2, mode, mode.separated() ? 3 : 0);
            List<String> partitioners = new ArrayList<>();
            for (StreamNode n : g.getStreamNodes()) {
                if (n.getOperatorName().equals("Kafka: " + Topics.DEFAULT.tokens() + ": Writer")) {
                    for (StreamEdge e : n.getInEdges()) {
                        partitioners.add(e.getPartitioner().getClass().getSimpleName());
                    }
                }
            }
            // Two pools write one request's tokens: keyed by request id, one producer writes them all, in order.
            // Colocated, an instance's tokens stay chained to its own sink subtask.
            assertThat(partitioners).as("%s: exchanges into the tokens sink", mode).isNotEmpty()
                    .allMatch(p -> p.equals(mode.separated() ? "KeyGroupStreamPartitioner" : "ForwardPartitioner"));
        }
    }

    @Test
    void everyDecodeStatusReachesEveryPrefillSubtaskThroughTheJobsFanOutAndKeys() throws Exception {
        int[][] layouts = {{2, 1}, {5, 3}, {6, 2}, {9, 1}};
        for (PdMode mode : new PdMode[] {PdMode.SEPARATE, PdMode.HYBRID}) {
            for (int[] layout : layouts) {
                int prefill = layout[0] - layout[1];
                int decode = layout[1];
                StreamGraph g = streamGraph(layout[0], mode, decode);
                StreamNode fanOut = node(g, "Decode load to every prefill instance");
                StreamNode prefillPool = node(g, "Prefill instance: slidebatching + engine");
                assertThat(fanOut.getParallelism()).isEqualTo(1);
                assertThat(fanOut.getInEdges()).singleElement()
                        .satisfies(e -> assertThat(g.getStreamNode(e.getSourceId()).getOperatorName())
                                .isEqualTo("Source: Kafka: " + Topics.DEFAULT.status()));
                assertThat(fanOut.getOutEdges()).as("%s %d:%d", mode, prefill, decode).singleElement().satisfies(e -> {
                    assertThat(e.getTargetId()).isEqualTo(prefillPool.getId());
                    assertThat(e.getPartitioner()).isInstanceOf(KeyGroupStreamPartitioner.class);
                });
                // The job's own fan-out function and the prefill pool's own key selector: each decode instance's
                // report lands once on every prefill subtask.
                @SuppressWarnings("unchecked")
                FlatMapFunction<InstanceStatus, InstanceInput> function = (FlatMapFunction<InstanceStatus, InstanceInput>)
                        ((SimpleUdfStreamOperatorFactory<?>) fanOut.getOperatorFactory()).getUserFunction();
                @SuppressWarnings("unchecked")
                KeySelector<InstanceInput, ?> keys = (KeySelector<InstanceInput, ?>) prefillPool.getStatePartitioners()[0];
                for (int d = 0; d < decode; d++) {
                    List<InstanceInput> out = new ArrayList<>();
                    function.flatMap(InstanceStatus.newBuilder().setInstance(prefill + d).setRole(InstanceRole.DECODE)
                            .setQueuedRequests(0).setRunningSequences(1).setBacklogMs(0).setFreeKvBlocks(10)
                            .setTotalKvBlocks(64).setInboundKvBlocks(3).setReportedAt(Instant.ofEpochMilli(7))
                            .build(), new ListCollector<>(out));
                    List<Integer> subtasks = new ArrayList<>();
                    for (InstanceInput in : out) {
                        assertThat(in.load.decodeInstance).isEqualTo(d);
                        assertThat(in.load.inboundBlocks).isEqualTo(3);
                        subtasks.add(KeyGroupRangeAssignment.assignKeyToParallelOperator(keys.getKey(in),
                                InferenceJob.MAX_PARALLELISM, prefillPool.getParallelism()));
                    }
                    assertThat(subtasks).as("%s %d:%d: prefill subtasks decode instance %d's report reaches", mode,
                            prefill, decode, d).containsExactlyInAnyOrderElementsOf(
                                    IntStream.range(0, prefill).boxed().toList());
                }
            }
        }
    }

    private static StreamNode node(StreamGraph g, String name) {
        return g.getStreamNodes().stream().filter(n -> n.getOperatorName().equals(name)).findFirst()
                .orElseThrow(() -> new AssertionError("no operator named " + name));
    }

    @Test
    void oneSetOfRouterOptionsRoutesTheJobAndHybridFollowsThePdMode() {
        JobSettings settings = new JobSettings("localhost:1", Topics.DEFAULT, RequestFormat.AVRO, new Properties(),
                "g", "m.bin", null, 3, 1, 64, "slidebatching", PolicyOptions.defaults(),
                new double[] {1, 0.01, 0, 0, 0, 0.5, 0.02, 0.0001}, "", 100, 1000, 0);
        assertThat(settings.router()).isEqualTo(RouterOptions.defaults());
        assertThat(settings.routing().hybrid()).as("colocated").isFalse();
        JobSettings tight = settings.withRouter(RouterOptions.defaults().withAdmission(0.2, 0.4));
        assertThat(tight.withPd(PdMode.SEPARATE, 1).routing().hybrid()).isFalse();
        RouterOptions hybrid = tight.withPd(PdMode.HYBRID, 1).withHostKvBlocks(8).routing();
        assertThat(hybrid.hybrid()).isTrue();
        assertThat(hybrid.freeStop()).as("kept through the other withers").isEqualTo(0.2);
        assertThat(hybrid.freeResume()).isEqualTo(0.4);
    }
}
