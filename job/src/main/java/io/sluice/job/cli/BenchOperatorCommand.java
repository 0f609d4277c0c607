package io.sluice.job.cli;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.sluice.job.bench.OperatorBenchmark;
import io.sluice.scheduling.Policies;
import java.io.PrintWriter;
import java.util.Locale;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/** {@code sluice bench operator}: requests/s through the instance operator with the no-op engine. */
@Command(name = "operator", mixinStandardHelpOptions = true,
        description = "Requests/s and tokens/s of the instance operator (batch policy + state + timers) with the "
                + "no-op engine, in a real Flink job on a local MiniCluster fed by generated requests (no Kafka: "
                + "`sluice local --engine noop` measures that). Measured from the first finished request to the last.")
public final class BenchOperatorCommand implements Callable<Integer> {

    @Spec
    CommandSpec spec;

    @Option(names = "--requests", defaultValue = "100000", description = "Requests to run (default: ${DEFAULT-VALUE}).")
    long requests;

    @Option(names = "--instances", defaultValue = "1", description = "Instances, one subtask each (default: ${DEFAULT-VALUE}).")
    int instances;

    @Option(names = "--policy", defaultValue = "slidebatching",
            description = "Batch policy: ${COMPLETION-CANDIDATES} (default: ${DEFAULT-VALUE}).",
            completionCandidates = EngineOptions.PolicyNames.class)
    String policy;

    @Option(names = "--prompt-len", defaultValue = "3", description = "Prompt tokens per request (default: ${DEFAULT-VALUE}).")
    int promptLength;

    @Option(names = "--gen", defaultValue = "2", description = "Output tokens per request (default: ${DEFAULT-VALUE}).")
    int generate;

    @Option(names = "--rate", defaultValue = "0",
            description = "Requests made per second; 0 floods the instances (default: ${DEFAULT-VALUE}). A flood "
                    + "queues nearly every request at once, so each round plans over a queue of that size; at a rate "
                    + "the operator sustains the queue stays short and the end-to-end time low.")
    double rate;

    @Option(names = "--buffer-timeout-ms", defaultValue = "0",
            description = "Network buffer timeout of the exchange into the instances, as the job's option of that "
                    + "name (default: ${DEFAULT-VALUE}, the job's default).")
    long bufferTimeoutMs;

    @Option(names = "--no-object-reuse", negatable = false,
            description = "Turn off the job's object reuse, to see what the copies between chained operators cost.")
    boolean noObjectReuse;

    @Option(names = "--timeout-s", defaultValue = "600", description = "Give up after this many seconds (default: ${DEFAULT-VALUE}).")
    long timeoutSeconds;

    @Option(names = "--json", description = "One JSON object instead of text.")
    boolean json;

    @Override
    public Integer call() throws Exception {
        if (!Policies.names().contains(policy)) {
            throw new IllegalArgumentException("unknown --policy '" + policy + "'; one of " + Policies.names());
        }
        OperatorBenchmark.Options options = new OperatorBenchmark.Options(requests, instances, policy, promptLength,
                generate, rate, bufferTimeoutMs, !noObjectReuse, timeoutSeconds);
        PrintWriter out = spec.commandLine().getOut();
        PrintWriter err = spec.commandLine().getErr();
        err.printf(Locale.ROOT, "bench operator: %d requests (%d prompt + %d output tokens), %d instance(s), %s, "
                + "no-op engine, %s%n", requests, promptLength, generate, instances, policy,
                rate > 0 ? String.format(Locale.ROOT, "%.0f requests/s offered", rate) : "all at once");
        err.flush();
        OperatorBenchmark.Result r;
        try {
            r = OperatorBenchmark.run(options, err);
        } catch (IllegalStateException e) {
            err.println("bench operator: " + e.getMessage());
            return 1;
        }
        if (json) {
            ObjectNode o = new ObjectMapper().createObjectNode();
            o.put("requests", r.requests());
            o.put("instances", instances);
            o.put("policy", policy);
            o.put("prompt_len", promptLength);
            o.put("gen", generate);
            o.put("rate", rate);
            o.put("buffer_timeout_ms", bufferTimeoutMs);
            o.put("object_reuse", !noObjectReuse);
            o.put("requests_per_s", Math.round(r.requestsPerSecond()));
            o.put("tokens_per_s", Math.round(r.tokensPerSecond()));
            o.put("seconds", r.seconds());
            o.put("wall_seconds", r.wallSeconds());
            o.put("tokens", r.tokens());
            o.put("cpu_share", Math.round(r.cpuShare() * 100) / 100.0);
            o.put("instance_cpu_us_per_request", Math.round(r.instanceCpuMicrosPerRequest() * 10) / 10.0);
            o.put("e2e_mean_ms", Math.round(r.e2eMeanMs() * 10) / 10.0);
            o.put("e2e_max_ms", r.e2eMaxMs());
            out.println(o);
        } else {
            out.printf(Locale.ROOT, "%.0f requests/s, %.0f tokens/s (%d requests, %d tokens in %.2f s from the first "
                            + "finish to the last; %.1f s with start-up; this process used %.0f%% of %d cores)%n"
                            + "instance threads: %.1f us CPU per request; end to end: mean %.1f ms, max %.0f ms%n",
                    r.requestsPerSecond(), r.tokensPerSecond(), r.finished(), r.tokens(), r.seconds(), r.wallSeconds(),
                    100 * r.cpuShare(), Runtime.getRuntime().availableProcessors(), r.instanceCpuMicrosPerRequest(),
                    r.e2eMeanMs(), r.e2eMaxMs());
        }
        out.flush();
        return 0;
    }
}
