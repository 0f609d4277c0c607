package io.sluice.job.cli;

import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Spec;

/** {@code sluice bench}: benchmarks that print numbers; one subcommand per component. */
@Command(name = "bench", mixinStandardHelpOptions = true,
        description = "Benchmarks that print numbers.",
        subcommands = {BenchEngineCommand.class, BenchOperatorCommand.class, BenchSchedulingCommand.class})
public final class BenchCommand implements Runnable {

    @Spec
    CommandSpec spec;

    @Override
    public void run() {
        spec.commandLine().usage(spec.commandLine().getOut());
    }
}
