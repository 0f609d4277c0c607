package io.sluice.job.cli;

import picocli.CommandLine;
import picocli.CommandLine.Command;

/** The {@code sluice} command line: one entry point, a subcommand per task. */
@Command(
        name = "sluice",
        mixinStandardHelpOptions = true,
        version = "sluice 0.1.0",
        description = "SLO-aware LLM inference on Apache Flink and Kafka.",
        subcommands = {
            CommandLine.HelpCommand.class,
            LocalCommand.class,
            RunCommand.class,
            LoadgenCommand.class,
            ProfileCommand.class,
            SimulateCommand.class,
            GenModelCommand.class,
            GenerateCommand.class,
            BenchCommand.class,
        })
public final class SluiceCli implements Runnable {

    @CommandLine.Spec CommandLine.Model.CommandSpec spec;

    @Override
    public void run() {
        // No subcommand: show what there is.
        spec.commandLine().usage(System.out);
    }

    /** Builds the command line; tests call this to run commands in-process. */
    public static CommandLine commandLine() {
        CommandLine cli = new CommandLine(new SluiceCli());
        // A bad value a user can fix is a message and exit code 2 (as for a bad flag), not a stack trace.
        cli.setExecutionExceptionHandler((e, commandLine, parseResult) -> {
            if (e instanceof IllegalArgumentException) { // CheckpointException (a bad model file) included
                commandLine.getErr().println("sluice " + commandLine.getCommandName() + ": " + e.getMessage());
                return 2;
            }
            throw e;
        });
        return cli;
    }

    public static void main(String[] args) {
        System.exit(commandLine().execute(args));
    }
}
