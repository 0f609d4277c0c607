package io.sluice.job.cli;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** {@code sluice loadgen} refuses bad numbers before it looks for a broker. */
class LoadgenCommandTest {

    @TempDir
    Path dir;

    @Test
    void badNumbersAreUsageErrorsNamingTheOptionAndTheValue() throws Exception {
        Path trace = Files.writeString(dir.resolve("lengths.csv"), "num_prefill_tokens,num_decode_tokens\n20,5\n30,6\n");
        List<List<String>> bad = List.of(
                List.of("--drain-timeout-s", "-1", "--drain-timeout-s must be >= 0, got -1"),
                List.of("--requests", "0", "--requests must be at least 1, got 0"),
                List.of("--rate-scale", "NaN", "--rate-scale must be a positive number, got NaN"),
                List.of("--rate-scale", "Infinity", "--rate-scale must be a positive number, got Infinity"),
                List.of("--min-new-tokens", "0", "--min-new-tokens must be at least 1, got 0"),
                List.of("--max-new-tokens", "8", "--max-new-tokens must be at least --min-new-tokens (16), got 8"),
                List.of("--max-context", "0", "--max-context must be at least 2"),
                List.of("--vocab-size", "0", "--vocab-size must be at least 4"));
        for (List<String> flag : bad) {
            // With a trace, as a replay reads --requests, --rate-scale, --max-context and --vocab-size.
            List<String> args = new ArrayList<>(List.of("loadgen", "--bootstrap", "localhost:1", "--trace",
                    trace.toString(), flag.get(0), flag.get(1)));
            CliRun run = CliRun.of(args.toArray(String[]::new));
            assertThat(run.exit()).as("%s: %s", flag, run.err()).isEqualTo(2);
            assertThat(run.err()).as("%s", flag).contains(flag.get(2)).doesNotContain("no Kafka broker");
            assertThat(run.err().strip().lines()).as("one line: %s", run.err()).hasSize(1);
        }
    }
}
