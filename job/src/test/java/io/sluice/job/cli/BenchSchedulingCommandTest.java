package io.sluice.job.cli;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import org.junit.jupiter.api.Test;

class BenchSchedulingCommandTest {

    @Test
    void printsOneRoundsTimesPerPolicy() throws Exception {
        CliRun r = CliRun.of("bench", "scheduling", "--queued", "300", "--rounds", "200", "--policy",
                "slidebatching,fcfs", "--json");
        assertThat(r.exit()).as(r.err()).isZero();
        String[] lines = r.out().strip().split("\n");
        assertThat(lines).hasSize(2);
        ObjectMapper mapper = new ObjectMapper();
        JsonNode sb = mapper.readTree(lines[0]);
        assertThat(sb.get("policy").asText()).isEqualTo("slidebatching");
        assertThat(sb.get("queued").asInt()).isEqualTo(300);
        assertThat(sb.get("rounds").asInt()).isEqualTo(200);
        assertThat(sb.get("p50_us").asDouble()).isPositive().isLessThanOrEqualTo(sb.get("p99_us").asDouble());
        assertThat(sb.get("p99_us").asDouble()).isLessThanOrEqualTo(sb.get("max_us").asDouble());
        assertThat(sb.get("batch_sequences").asInt()).isPositive();
        assertThat(mapper.readTree(lines[1]).get("policy").asText()).isEqualTo("fcfs");

        CliRun table = CliRun.of("bench", "scheduling", "--queued", "50", "--rounds", "10", "--policy", "edf");
        assertThat(table.exit()).as(table.err()).isZero();
        assertThat(table.out()).contains("50 queued requests").contains("p50_us").containsPattern("\\nedf +[0-9.]+ ");
    }

    @Test
    void badOptionsFailBeforeAnyOutput() {
        CliRun r = CliRun.of("bench", "scheduling", "--queued", "0");
        assertThat(r.exit()).isEqualTo(2);
        assertThat(r.err()).contains("--queued must be at least 1, got 0");
        assertThat(r.out()).isEmpty();
        r = CliRun.of("bench", "scheduling", "--policy", "magic");
        assertThat(r.exit()).isEqualTo(2);
        assertThat(r.err()).contains("unknown policy");
        assertThat(r.out()).isEmpty();
    }

    @Test
    void progressIsPlainLinesWhenStderrIsNoTerminal() {
        // Redirected to a file or a CI log (no console, as here), cursor codes are junk between the lines.
        CliRun r = CliRun.of("bench", "scheduling", "--queued", "50", "--rounds", "10", "--policy", "edf,fcfs");
        assertThat(r.exit()).as(r.err()).isZero();
        assertThat(r.err()).doesNotContain("\r").doesNotContain("\033")
                .contains("edf: 20 rounds...\n").contains("fcfs: 20 rounds...\n");
    }
}
