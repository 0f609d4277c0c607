package io.sluice.job.cli;

import com.fasterxml.jackson.databind.ObjectMapper;
import io.sluice.scheduling.Policies;
import io.sluice.scheduling.PolicyOptions;
import io.sluice.scheduling.SchedulingBenchmark;
import java.io.PrintWriter;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/** {@code sluice bench scheduling}: the time of one scheduling round per policy over a large queue. */
@Command(name = "scheduling", mixinStandardHelpOptions = true,
        description = "Time of one scheduling round (a policy planning one batch) per policy, over an instance with"
                + " --queued requests: a fifth decoding, the rest waiting prefills of three classes. The queue stays"
                + " as it is, so every round plans over the same backlog.")
public final class BenchSchedulingCommand implements Callable<Integer> {

    @Spec
    CommandSpec spec;

    @Option(names = "--queued", defaultValue = "1000", description = "Requests on the instance (default: ${DEFAULT-VALUE}).")
    int queued;

    @Option(names = "--rounds", defaultValue = "20000",
            description = "Timed rounds per policy, after as many untimed ones (default: ${DEFAULT-VALUE}).")
    int rounds;

    @Option(names = "--policy", split = ",", description = "Policies (default: all: ${DEFAULT-VALUE}).")
    List<String> policies = new ArrayList<>(Policies.names());

    @Option(names = "--json", description = "One JSON object per line instead of a table (policy, queued, rounds,"
            + " mean_us, p50_us, p99_us, max_us, batch_sequences).")
    boolean json;

    @Override
    public Integer call() throws Exception {
        OptionChecks.atLeast("--queued", queued, 1);
        OptionChecks.atLeast("--rounds", rounds, 1);
        for (String p : policies) {
            Policies.create(p, PolicyOptions.defaults()); // an unknown name fails before any output
        }
        PrintWriter out = spec.commandLine().getOut();
        ProgressLine progress = new ProgressLine(spec.commandLine().getErr());
        ObjectMapper mapper = new ObjectMapper();
        if (!json) {
            out.printf(Locale.ROOT, "one scheduling round, %d queued requests, %d timed rounds (after as many untimed)%n",
                    queued, rounds);
            out.printf(Locale.ROOT, "%-14s %10s %10s %10s %10s %8s%n", "policy", "mean_us", "p50_us", "p99_us", "max_us",
                    "batch");
        }
        for (String policy : policies) {
            progress.show(String.format(Locale.ROOT, "%s: %d rounds...", policy, 2 * rounds));
            SchedulingBenchmark.Result r = SchedulingBenchmark.run(policy, queued, rounds);
            progress.clear();
            if (json) {
                out.println(mapper.writeValueAsString(mapper.createObjectNode().put("policy", r.policy())
                        .put("queued", r.queued()).put("rounds", r.rounds()).put("mean_us", r.meanUs())
                        .put("p50_us", r.p50Us()).put("p99_us", r.p99Us()).put("max_us", r.maxUs())
                        .put("batch_sequences", r.batchSequences())));
            } else {
                out.printf(Locale.ROOT, "%-14s %10.1f %10.1f %10.1f %10.1f %8d%n", r.policy(), r.meanUs(), r.p50Us(),
                        r.p99Us(), r.maxUs(), r.batchSequences());
            }
            out.flush();
        }
        return 0;
    }
}
