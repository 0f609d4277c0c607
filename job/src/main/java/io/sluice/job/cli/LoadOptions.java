package io.sluice.job.cli;

import io.sluice.job.loadgen.PlannedRequest;
import io.sluice.job.loadgen.Workload;
import io.sluice.job.sim.Mix;
import io.sluice.job.sim.ServiceClass;
import io.sluice.job.sim.TraceFormat;
import io.sluice.job.sim.TraceReader;
import java.io.IOException;
import java.nio.file.Path;
import java.util.List;
import picocli.CommandLine.Option;

/** The load a run generates: options shared by {@code loadgen} and {@code local}. */
public final class LoadOptions {

    @Option(names = "--requests", defaultValue = "100", description = "Requests to send (default: ${DEFAULT-VALUE}).")
    int requests;

    @Option(names = "--rate", defaultValue = "4", description = "Poisson arrival rate, requests per second (default: ${DEFAULT-VALUE}).")
    double rate;

    @Option(names = "--mix", defaultValue = Mix.DEFAULT,
            description = "Classes, shares, weights and SLOs: name:share[:w=W][:ttft=MS][:tpot=MS][:deadline=MS],... "
                    + "(default: ${DEFAULT-VALUE}).")
    String mix;

    @Option(names = "--min-new-tokens", defaultValue = "16", description = "Shortest output of a synthetic request (default: ${DEFAULT-VALUE}).")
    int minNewTokens;

    @Option(names = "--max-new-tokens", defaultValue = "64", description = "Longest output of a synthetic request (default: ${DEFAULT-VALUE}).")
    int maxNewTokens;

    @Option(names = "--trace", description = "Replay a trace instead of synthetic load (lengths capped to the model's "
            + "context; a lengths trace arrives at --rate).")
    Path trace;

    @Option(names = "--trace-format", description = "azure, mooncake or lengths (default: from the file, as "
            + "`simulate --format`: .jsonl is mooncake, a CSV with a TIMESTAMP column azure, else lengths).")
    String traceFormat;

    @Option(names = "--rate-scale", defaultValue = "1", description = "Divide the trace's inter-arrival times by this (default: ${DEFAULT-VALUE}).")
    double rateScale;

    @Option(names = "--seed", defaultValue = "1", description = "Seed of classes, prompts and arrivals (default: ${DEFAULT-VALUE}).")
    long seed;

    @Option(names = "--report", description = "Also write the report as JSON to this file.")
    Path report;

    @Option(names = "--drain-timeout-s", defaultValue = "120", description = "How long to wait for outstanding requests after the last send (default: ${DEFAULT-VALUE}).")
    long drainTimeoutS;

    /**
     * Checks the numbers before anything starts (local mode calls it before its broker): each message names its
     * option and the value given. A trace replay takes --requests as its limit, so 0 would send nothing.
     */
    void validate() {
        OptionChecks.atLeast("--requests", requests, 1);
        if (!(rate > 0) || Double.isInfinite(rate)) {
            throw new IllegalArgumentException("--rate must be a positive number of requests per second, got " + rate);
        }
        OptionChecks.positive("--rate-scale", rateScale);
        OptionChecks.atLeast("--min-new-tokens", minNewTokens, 1);
        if (maxNewTokens < minNewTokens) {
            throw new IllegalArgumentException("--max-new-tokens must be at least --min-new-tokens (" + minNewTokens
                    + "), got " + maxNewTokens);
        }
        OptionChecks.notNegative("--drain-timeout-s", drainTimeoutS);
        mix();
    }

    Mix mix() {
        return Mix.parse(mix);
    }

    List<String> classNames() {
        return mix().classes().stream().map(ServiceClass::name).toList();
    }

    List<PlannedRequest> plan(int modelContext, int vocabSize) throws IOException {
        validate();
        if (trace == null) {
            return Workload.synthetic(requests, rate, mix(), minNewTokens, maxNewTokens, seed);
        }
        TraceFormat format = traceFormat != null ? TraceFormat.parse(traceFormat) : SimulateCommand.guessFormat(trace);
        return Workload.replay(TraceReader.read(trace, format, rate, seed), requests, rateScale, mix(),
                modelContext, vocabSize, seed);
    }
}
