package io.sluice.job.cli;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import picocli.CommandLine;

/** The command line as a whole: usage without a command, and --help on every command. */
class SluiceCliTest {

    @Test
    void withoutACommandItPrintsTheUsageToItsOwnOutput() {
        CliRun run = CliRun.of();
        assertThat(run.exit()).isZero();
        assertThat(run.out()).startsWith("Usage: sluice").contains("simulate").contains("gen-model").contains("bench");
    }

    @Test
    void everyCommandHasHelp() {
        List<List<String>> commands = new ArrayList<>();
        collect(SluiceCli.commandLine(), new ArrayList<>(), commands);
        assertThat(commands).as("every command and subcommand").hasSizeGreaterThanOrEqualTo(11);
        for (List<String> command : commands) {
            List<String> args = new ArrayList<>(command);
            args.add("--help");
            CliRun run = CliRun.of(args.toArray(String[]::new));
            assertThat(run.exit()).as("%s --help: %s", command, run.err()).isZero();
            assertThat(run.out()).as("%s --help", command).startsWith("Usage: sluice" + (command.isEmpty() ? "" : " "
                    + String.join(" ", command)));
        }
    }

    private static void collect(CommandLine cli, List<String> path, List<List<String>> into) {
        into.add(List.copyOf(path));
        cli.getSubcommands().forEach((name, sub) -> {
            if (!name.equals("help")) {
                path.add(name);
                collect(sub, path, into);
                path.remove(path.size() - 1);
            }
        });
    }
}
