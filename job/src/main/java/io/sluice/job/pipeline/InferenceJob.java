package io.sluice.job.pipeline;

import io.sluice.gpu.model.CheckpointLoader;
import io.sluice.gpu.model.ModelConfig;
import io.sluice.job.kafka.KafkaIo;
import io.sluice.job.local.Folders;
import io.sluice.operators.InstanceConfig;
import io.sluice.operators.InstanceFunction;
import io.sluice.operators.InstanceInput;
import io.sluice.operators.InstanceKeys;
import io.sluice.operators.ingest.Admission;
import io.sluice.operators.ingest.AdmittedRequest;
import io.sluice.operators.ingest.IngestFunction;
import io.sluice.operators.ingest.TenantTable;
import io.sluice.operators.metrics.SloReportFunction;
import io.sluice.operators.route.DecodeLoadFanOut;
import io.sluice.operators.route.RouterFunction;
import io.sluice.scheduling.Role;
import io.sluice.schemas.DeadLetter;
import io.sluice.schemas.InstanceStatus;
import io.sluice.schemas.RequestMetrics;
import io.sluice.schemas.SloReport;
import io.sluice.schemas.TokenEvent;
import java.io.File;
import java.nio.file.Path;
import java.time.Duration;
import org.apache.flink.api.common.eventtime.WatermarkStrategy;
import org.apache.flink.configuration.CheckpointingOptions;
import org.apache.flink.configuration.Configuration;
import org.apache.flink.configuration.CoreOptions;
import org.apache.flink.configuration.PipelineOptions;
import org.apache.flink.core.execution.CheckpointingMode;
import org.apache.flink.connector.kafka.source.KafkaSource;
import org.apache.flink.connector.kafka.source.enumerator.initializer.OffsetsInitializer;
import org.apache.flink.streaming.api.datastream.DataStream;
import org.apache.flink.streaming.api.datastream.SingleOutputStreamOperator;
import org.apache.flink.streaming.api.environment.LocalStreamEnvironment;
import org.apache.flink.streaming.api.environment.StreamExecutionEnvironment;
import org.apache.flink.streaming.api.windowing.assigners.TumblingProcessingTimeWindows;

/**
 * Builds the inference pipeline (DESIGN §2) on an environment:
 *
 * <pre>
 * Kafka requests -> decode, validate, admit, tokenize -----------------> dead letters, rejections
 *                -> route (least predicted load; statuses read back from Kafka, broadcast)
 *                -> keyBy(instance) -> instance: SlideBatching + engine --> tokens, metrics, status
 * metrics -> keyBy(tenant, class) -> 10 s windows -> SLO reports
 * </pre>
 *
 * Under PD separation ({@code --pd separate|hybrid}, {@code --instances P:D}) the router places new requests on
 * the P prefill instances only, and one more exchange carries finished prefills with their KV:
 *
 * <pre>
 * routed + decode statuses (one copy per prefill instance)
 *   -> keyBy(prefill instance) -> PREFILL instances: prefill-only batches --> first tokens
 *        -> KV handoffs (side output; decode instance chosen by free blocks, dual thresholds)
 *   -> keyBy(decode instance)  -> DECODE instances: continuous batching --> tokens, metrics, status
 * </pre>
 *
 * Both pools are the same instance function in different roles; global instance ids are 0..P-1 for prefill and
 * P..P+D-1 for decode (statuses, metrics).
 *
 * Every operator is named as the pipeline reads and has a stable uid, so savepoints survive
 * changes around it.
 */
public final class InferenceJob {

    /** Flink's default, fixed here because instance keys are computed for it. */
    public static final int MAX_PARALLELISM = 128;
    /** Where the environment sets none: flink-conf/config.yaml's interval. */
    public static final Duration CHECKPOINT_INTERVAL = Duration.ofSeconds(10);

    private InferenceJob() {}

    /** Adds the pipeline to {@code env}; the caller executes it. */
    public static void build(StreamExecutionEnvironment env, JobSettings settings) {
        ModelConfig model = CheckpointLoader.load(Path.of(settings.modelPath())).config();
        Topics topics = settings.topics();
        KafkaIo kafka = new KafkaIo(settings.bootstrap(), settings.format(), settings.kafkaProperties());
        configure(env, settings.bufferTimeoutMs());
        // Nothing is lost on a failure only with checkpoints: without them Flink restarts nothing (the queued and
        // running requests are gone) and the request source never commits an offset, so a job started again reads
        // the topic from its beginning. A cluster's own setting (flink-conf/config.yaml) is kept.
        if (!env.getCheckpointConfig().isCheckpointingEnabled()) {
            env.enableCheckpointing(CHECKPOINT_INTERVAL.toMillis(), CheckpointingMode.EXACTLY_ONCE);
            if (env instanceof LocalStreamEnvironment) {
                // On files, not in the JobManager's memory: that holds at most 5 MB of state per instance, about
                // 3,000 queued requests of 400 tokens, and a checkpoint over it fails, which fails the job over
                // (no failed checkpoint is tolerated), again each time the restored queue grows back. One JVM
                // here, so a local folder serves; Flink deletes a job's checkpoints but not their emptied folders:
                // below the cluster's temporary folder (local mode's work folder, removed at its end), else in a
                // folder of this JVM's own, removed when it exits.
                Path dir = env.getConfiguration().getOptional(CoreOptions.TMP_DIRS)
                        .map(dirs -> Path.of(dirs.split(",|" + File.pathSeparator)[0], "sluice-checkpoints"))
                        .orElseGet(() -> Folders.temporaryUntilExit("sluice-checkpoints"));
                Configuration storage = new Configuration();
                storage.set(CheckpointingOptions.CHECKPOINT_STORAGE, "filesystem");
                storage.set(CheckpointingOptions.CHECKPOINTS_DIRECTORY, dir.toUri().toString());
                env.configure(storage);
            }
        }

        Admission admission = new Admission(TenantTable.parse(settings.tenantSpec()), model.seqLen());
        SingleOutputStreamOperator<AdmittedRequest> admitted = env
                .fromSource(kafka.requestSource(topics.requests(), settings.groupId(), false),
                        WatermarkStrategy.noWatermarks(), "Kafka: " + topics.requests())
                .uid("requests-source")
                .process(new IngestFunction(settings.format(), admission,
                        new TokenizerEncoder(settings.tokenizerPath(), model.vocabSize())))
                .name("Decode, validate, admit, tokenize")
                .uid("ingest");

        DataStream<InstanceStatus> statusFeedback = env
                .fromSource(statusSource(settings), WatermarkStrategy.noWatermarks(), "Kafka: " + topics.status())
                .uid("status-source")
                .setParallelism(1);
        // New requests go to the instances that prefill: all of them, or the prefill pool.
        int instances = settings.prefillInstances();
        SingleOutputStreamOperator<AdmittedRequest> routed = admitted
                .connect(statusFeedback.broadcast(RouterFunction.STATUS))
                .process(new RouterFunction(instances, settings.decodeInstances(), settings.latency(),
                        settings.routing()))
                .name("Route to an instance")
                .uid("router");

        InstanceConfig instanceConfig = new InstanceConfig(settings.modelPath(), settings.tokenizerPath(),
                settings.threadsPerInstance(), settings.kvBlocks(), settings.policy(), settings.policyOptions(),
                settings.latency(), settings.statusIntervalMs())
                .withEngine(settings.engine())
                .withHostKvBlocks(settings.hostKvBlocks())
                .withRouter(settings.routing());
        DataStream<TokenEvent> tokens;
        DataStream<RequestMetrics> instanceMetrics;
        DataStream<InstanceStatus> statuses;
        if (!settings.pd().separated()) {
            SingleOutputStreamOperator<TokenEvent> colocated = instances(routed, instanceConfig, instances);
            tokens = colocated;
            instanceMetrics = colocated.getSideOutput(InstanceFunction.METRICS);
            statuses = colocated.getSideOutput(InstanceFunction.STATUS);
        } else {
            // Hybrid routing may place a short prefill on a decode instance (ids P..P+D-1); the rest go to the
            // pool that prefills.
            DataStream<InstanceInput> requestsIn = routed
                    .filter(r -> r.instance < instances).name("To prefilling instances").uid("to-prefill")
                    .map(InstanceInput::of).returns(InstanceInput.class)
                    .name("Instance input").uid("instance-input");
            int decode = settings.decodeInstances();
            boolean hybrid = settings.pd() == PdMode.HYBRID;
            DataStream<InstanceInput> decodeLoads = statusFeedback
                    .flatMap(new DecodeLoadFanOut(instances, decode))
                    .name("Decode load to every prefill instance").uid("decode-load")
                    .setParallelism(1);
            SingleOutputStreamOperator<TokenEvent> prefill = requestsIn.union(decodeLoads)
                    .keyBy(in -> InstanceKeys.keyFor(in.instance, instances, MAX_PARALLELISM))
                    .process(new InstanceFunction(instanceConfig.withRole(Role.PREFILL, 0, decode, hybrid)))
                    .name("Prefill instance: " + settings.policy() + " + engine")
                    .uid("prefill-instance")
                    .setParallelism(instances);
            DataStream<InstanceInput> decodeIn = prefill.getSideOutput(InstanceFunction.HANDOFFS)
                    .map(InstanceInput::of).returns(InstanceInput.class)
                    .name("KV handoff").uid("kv-handoff")
                    .setParallelism(instances);
            if (hybrid) {
                // Only hybrid routing places prefills on decode instances: separate mode has no such branch (an
                // always-empty filter would read in the web UI as if it did).
                decodeIn = decodeIn.union(routed
                        .filter(r -> r.instance >= instances).name("Hybrid prefills").uid("to-decode")
                        .map(r -> InstanceInput.of(r, r.instance - instances)).returns(InstanceInput.class)
                        .name("Decode instance input").uid("decode-instance-input"));
            }
            SingleOutputStreamOperator<TokenEvent> decoding = decodeIn
                    .keyBy(in -> InstanceKeys.keyFor(in.instance, decode, MAX_PARALLELISM))
                    .process(new InstanceFunction(instanceConfig.withRole(Role.DECODE, instances, 0, false)))
                    .name("Decode instance: " + settings.policy() + " + engine")
                    .uid("decode-instance")
                    .setParallelism(decode);
            tokens = prefill.union(decoding);
            instanceMetrics = prefill.getSideOutput(InstanceFunction.METRICS)
                    .union(decoding.getSideOutput(InstanceFunction.METRICS));
            statuses = prefill.getSideOutput(InstanceFunction.STATUS)
                    .union(decoding.getSideOutput(InstanceFunction.STATUS));
        }

        DataStream<TokenEvent> tokensOut = tokens.union(admitted.getSideOutput(IngestFunction.REJECTIONS));
        if (settings.pd().separated()) {
            // Two pools write a request's tokens (the prefill instance its first, a decode instance the rest), and
            // the sink's parallelism differs from each pool's, so without this every token would go to the next
            // sink subtask in turn: Kafka keeps order per producer only, and a request's tokens would reach its
            // partition out of order (measured: 61 of 823 events in a 1:1 run). By request id, one sink subtask and
            // one producer write all of a request's tokens, so a decode instance's reach Kafka in order; the first
            // comes from another task and can still land after the second (measured: 1 request of 60 in a hybrid
            // run), so consumers order by index. Colocated instances keep their chained sink.
            tokensOut = tokensOut.keyBy(TokenEvent::getRequestId);
        }
        tokensOut
                .sinkTo(kafka.sink(topics.tokens(), TokenEvent.class, TokenEvent::getRequestId))
                .name("Kafka: " + topics.tokens()).uid("tokens-sink");

        DataStream<RequestMetrics> metrics = instanceMetrics
                .union(admitted.getSideOutput(IngestFunction.REJECTION_METRICS));
        metrics.sinkTo(kafka.sink(topics.metrics(), RequestMetrics.class, RequestMetrics::getRequestId))
                .name("Kafka: " + topics.metrics()).uid("metrics-sink");
        metrics.keyBy(SloReportFunction::groupKey)
                .window(TumblingProcessingTimeWindows.of(Duration.ofMillis(settings.sloWindowMs())))
                .process(new SloReportFunction())
                .name("SLO report per tenant and class").uid("slo-report")
                .sinkTo(kafka.sink(topics.slo(), SloReport.class, null))
                .name("Kafka: " + topics.slo()).uid("slo-sink");

        statuses
                .sinkTo(kafka.sink(topics.status(), InstanceStatus.class, null))
                .name("Kafka: " + topics.status()).uid("status-sink");
        admitted.getSideOutput(IngestFunction.DEAD_LETTERS)
                .sinkTo(kafka.sink(topics.dlq(), DeadLetter.class, null))
                .name("Kafka: " + topics.dlq()).uid("dlq-sink");
    }

    /**
     * The environment settings the pipeline relies on: the max parallelism its instance keys are computed for,
     * the exchanges' buffer timeout, and object reuse. Reuse spares a deep copy of every record passed between
     * chained operators (each token to its Kafka sink; measured: ~8% of the instance thread's time in Avro
     * copies). It is safe because every function here emits objects it has just created (or, the router, the
     * one it received, once) and keeps no reference to what it received from a chained operator; a new function
     * must keep to that. Generic types are off: every record and state type is a POJO or Avro, and a type that
     * would fall back to Kryo (slow, and not schema-evolvable) fails the job's build instead.
     */
    public static void configure(StreamExecutionEnvironment env, long bufferTimeoutMs) {
        Configuration types = new Configuration();
        types.set(PipelineOptions.GENERIC_TYPES, false);
        env.configure(types); // first: it applies only the options it holds, but leaves nothing to chance
        env.setMaxParallelism(MAX_PARALLELISM);
        env.setBufferTimeout(bufferTimeoutMs);
        env.getConfig().enableObjectReuse();
    }

    /**
     * The instance operator on a stream of routed requests: keyBy(instance), then one instance per subtask.
     * Tokens come out; {@link InstanceFunction#METRICS} and {@link InstanceFunction#STATUS} are its side
     * outputs. The environment's max parallelism must be {@link #MAX_PARALLELISM} (the keys are computed for it).
     */
    public static SingleOutputStreamOperator<TokenEvent> instances(DataStream<AdmittedRequest> routed,
            InstanceConfig config, int instances) {
        return routed
                .map(InstanceInput::of).returns(InstanceInput.class)
                .name("Instance input").uid("instance-input")
                .keyBy(in -> InstanceKeys.keyFor(in.instance, instances, MAX_PARALLELISM))
                .process(new InstanceFunction(config))
                .name(instanceName(config.policy()))
                .uid("instance")
                .setParallelism(instances);
    }

    /** The instance operator's name, with which its task threads' names start. */
    public static String instanceName(String policy) {
        return "Instance: " + policy + " + engine";
    }

    /**
     * Instance statuses read back for the router, from the latest offset: only fresh load matters.
     */
    private static KafkaSource<InstanceStatus> statusSource(JobSettings settings) {
        return KafkaSource.<InstanceStatus>builder()
                .setBootstrapServers(settings.bootstrap())
                .setTopics(settings.topics().status())
                .setGroupId(settings.groupId() + "-status")
                .setProperties(settings.kafkaProperties())
                .setStartingOffsets(OffsetsInitializer.latest())
                .setValueOnlyDeserializer(new StatusDeserializer(settings.format()))
                .build();
    }
}
