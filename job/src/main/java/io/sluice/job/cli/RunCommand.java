package io.sluice.job.cli;

import io.sluice.job.kafka.BrokerCheck;
import io.sluice.job.local.Folders;
import io.sluice.job.pipeline.InferenceJob;
import io.sluice.job.pipeline.JobSettings;
import java.time.Duration;
import java.util.concurrent.Callable;
import org.apache.flink.configuration.Configuration;
import org.apache.flink.configuration.CoreOptions;
import org.apache.flink.streaming.api.environment.LocalStreamEnvironment;
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
        if (env instanceof LocalStreamEnvironment) {
            // Not under `flink run`: the job runs in this JVM, on this machine's network. A wrong --bootstrap or
            // topics not created would otherwise be an endless stream of client warnings, not an error.
            BrokerCheck.check(bootstrap, kafka.properties(), kafka.topics().all(), Duration.ofSeconds(10),
                    "create them first (as many partitions as instances), or pass the --topics-prefix they have");
            System.err.println("sluice run: job '" + jobName + "' on an embedded local Flink cluster (no web UI; "
                    + "`flink run` with job/target/sluice-job-flink.jar submits it to a cluster); Ctrl-C stops it");
            env = localEnvironment();
        }
        InferenceJob.build(env, settings);
        env.execute(jobName);
        return 0;
    }

    /**
     * An embedded cluster that keeps its files (its working folder, the RPC system's 20 MB jar, blobs, the job's
     * checkpoints) in a temporary folder of this JVM's own, removed when it exits. Ctrl-C, the only way such a
     * job ends, exits without closing the cluster, which left them all in the system's temporary folder.
     */
    static StreamExecutionEnvironment localEnvironment() {
        Configuration conf = new Configuration();
        conf.set(CoreOptions.TMP_DIRS, Folders.temporaryUntilExit("sluice-run-").toString());
        return StreamExecutionEnvironment.createLocalEnvironment(conf);
    }
}
