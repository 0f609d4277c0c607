package io.sluice.job.cli;

import io.sluice.job.pipeline.InferenceJob;
import io.sluice.job.pipeline.JobSettings;
import java.util.concurrent.Callable;
import org.apache.flink.streaming.api.environment.StreamExecutionEnvironment;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/**
 * {@code sluice run}: the inference job itself. Under {@code flink run} (or the REST API's jar
 * run) it is submitted to that cluster; run directly, it runs on an embedded local cluster.
 */
@Command(name = "run", mixinStandardHelpOptions = true,
        description = "Runs the inference job against a Kafka broker: requests in, tokens, metrics, SLO reports "
                + "and instance status out. Submitted to the cluster when started by `flink run`, else runs locally.")
public final class RunCommand implements Callable<Integer> {

    @Option(names = "--bootstrap", required = true, description = "Kafka bootstrap servers, HOST:PORT[,HOST:PORT].")
    String bootstrap;

    @Option(names = "--group-id", defaultValue = "sluice", description = "Consumer group of the request source (default: ${DEFAULT-VALUE}).")
    String groupId;

    @Option(names = "--job-name", defaultValue = "sluice", description = "Name of the Flink job (default: ${DEFAULT-VALUE}).")
    String jobName;

    @Mixin KafkaOptions kafka;
    @Mixin EngineOptions engine;

    @Override
    public Integer call() throws Exception {
        JobSettings settings = engine.settings(bootstrap, kafka.topics(), kafka.format(), kafka.properties(), groupId);
        StreamExecutionEnvironment env = StreamExecutionEnvironment.getExecutionEnvironment();
        InferenceJob.build(env, settings);
        env.execute(jobName);
        return 0;
    }
}
