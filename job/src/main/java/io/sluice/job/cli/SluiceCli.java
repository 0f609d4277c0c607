package io.sluice.job.cli;

import java.util.List;
import java.util.Locale;
import java.util.concurrent.atomic.AtomicReference;
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
        spec.commandLine().usage(spec.commandLine().getOut());
    }

    /** Builds the command line; tests call this to run commands in-process. */
    public static CommandLine commandLine() {
        CommandLine cli = new CommandLine(new SluiceCli());
        // A bad value a user can fix is a message and exit code 2 (as for a bad flag), not a stack trace.
        cli.setExecutionExceptionHandler((e, commandLine, parseResult) -> {
            if (e instanceof IllegalArgumentException) { // CheckpointException (a bad model file) included
                // The full name ("sluice bench engine"), so a message from a subcommand's subcommand says whose it is.
                commandLine.getErr().println(commandLine.getCommandSpec().qualifiedName() + ": " + e.getMessage());
                return 2;
            }
            throw e;
        });
        cli.setExecutionStrategy(SluiceCli::execute);
        return cli;
    }

    /**
     * Runs the command the arguments name. Running out of heap is a message and exit 1, not a stack trace: what
     * was asked for (a model, a --batch, a KV cache) is too large for the heap, which the user can change.
     */
    private static int execute(CommandLine.ParseResult parseResult) {
        try {
            return new CommandLine.RunLast().execute(parseResult);
        } catch (OutOfMemoryError e) {
            List<CommandLine> commands = parseResult.asCommandLineList();
            CommandLine command = commands.get(commands.size() - 1);
            command.getErr().printf(Locale.ROOT, "%s: out of memory (%s) with a heap of at most %.1f GB: ask for less "
                    + "(a smaller model, --batch or cache), or give the JVM more, e.g. SLUICE_JAVA_OPTS=-Xmx%dg%n",
                    command.getCommandSpec().qualifiedName(), e.getMessage(), Runtime.getRuntime().maxMemory() / 1e9,
                    Math.max(2, 2 * (Runtime.getRuntime().maxMemory() >> 30)));
            return 1;
        }
    }

    public static void main(String[] args) {
        if (SluiceCli.class.getClassLoader() != ClassLoader.getSystemClassLoader()) {
            // Loaded from a job jar by Flink (`flink run`, a REST jar run): the JVM is Flink's
            // client or JobManager, not ours to exit; Flink reports a failure it sees thrown.
            AtomicReference<Exception> failure = new AtomicReference<>();
            int code = commandLine()
                    .setExecutionExceptionHandler((e, commandLine, parseResult) -> {
                        failure.set(e);
                        return commandLine.getCommandSpec().exitCodeOnExecutionException();
                    })
                    .execute(args);
            if (failure.get() != null) {
                throw new IllegalStateException("sluice " + String.join(" ", args) + ": " + failure.get().getMessage(),
                        failure.get());
            }
            if (code != 0) {
                throw new IllegalArgumentException("sluice " + String.join(" ", args) + " failed with exit code " + code);
            }
            return;
        }
        System.exit(commandLine().execute(args));
    }
}
