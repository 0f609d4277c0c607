package io.sluice.job.cli;

import io.sluice.job.kafka.BrokerCheck;
import io.sluice.job.loadgen.LoadRunner;
import io.sluice.job.loadgen.PlannedRequest;
import java.io.PrintWriter;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/** {@code sluice loadgen}: load against an external broker and job, with the SLO report at the end. */
@Command(name = "loadgen", mixinStandardHelpOptions = true,
        description = "Sends requests (synthetic, or a replayed trace) to a running Sluice job through Kafka, shows "
                + "progress, and prints an SLO report per class. Exit code 0 when every request ended and its "
                + "metrics arrived, 1 when some did not within the drain timeout (the report would leave them out).")
public final class LoadgenCommand implements Callable<Integer> {

    @Option(names = "--bootstrap", required = true, description = "Kafka bootstrap servers, HOST:PORT[,HOST:PORT].")
    String bootstrap;

    @Option(names = "--max-context", defaultValue = "256",
            description = "Model context for trace replay: prompt and output are capped to fit (default: ${DEFAULT-VALUE}).")
    int maxContext;

    @Option(names = "--vocab-size", defaultValue = "32000", description = "Model vocabulary for trace replay's random prompt ids (default: ${DEFAULT-VALUE}).")
    int vocabSize;

    @Mixin KafkaOptions kafka;
    @Mixin LoadOptions load;

    @Override
    public Integer call() throws Exception {
        // Read by a trace replay only, but a bad value is a typo either way.
        if (maxContext < 2) {
            throw new IllegalArgumentException("--max-context must be at least 2 (a prompt token and an output "
                    + "token), got " + maxContext);
        }
        if (vocabSize < 4) {
            throw new IllegalArgumentException("--vocab-size must be at least 4 (prompt ids skip <unk>, BOS and "
                    + "EOS), got " + vocabSize);
        }
        List<PlannedRequest> plan = load.plan(maxContext, vocabSize);
        var topics = kafka.topics();
        BrokerCheck.check(bootstrap, kafka.properties(),
                List.of(topics.requests(), topics.tokens(), topics.metrics()), Duration.ofSeconds(10));
        System.err.printf("loadgen: %d requests to %s%n", plan.size(), bootstrap);
        return runAndReport("loadgen", new LoadRunner(bootstrap, kafka.topics(), kafka.format(), kafka.properties()), plan,
                load);
    }

    /**
     * Runs the plan, prints the report (and writes it as JSON when asked); 0 when every request ended and its
     * metrics, which the report is built from, arrived. {@code command} names the command in its messages.
     */
    static int runAndReport(String command, LoadRunner runner, List<PlannedRequest> plan, LoadOptions load)
            throws Exception {
        ProgressLine progress = new ProgressLine(new PrintWriter(System.err, true));
        LoadRunner.Outcome outcome = runner.run(plan, load.classNames(), Duration.ofSeconds(load.drainTimeoutS),
                progress::show);
        progress.keep();
        outcome.report().print(System.out);
        if (load.report != null) {
            outcome.report().writeJson(load.report);
        }
        long missing = plan.size() - outcome.results().finished.size();
        if (missing > 0) {
            System.err.printf("%s: %d of %d requests did not end within %d s of the last send%n",
                    command, missing, plan.size(), load.drainTimeoutS);
            outcome.results().deadLetterNote(runner.deadLetterTopic())
                    .ifPresent(note -> System.err.println(command + ": " + note));
            return 1;
        }
        long unmeasured = outcome.results().finished.stream()
                .filter(id -> !outcome.results().metrics.containsKey(id)).count();
        if (unmeasured > 0) {
            System.err.printf("%s: %d of %d requests ended but their metrics did not arrive within %d s of the "
                    + "last send: the report leaves them out%n", command, unmeasured, plan.size(), load.drainTimeoutS);
            return 1;
        }
        return 0;
    }
}
