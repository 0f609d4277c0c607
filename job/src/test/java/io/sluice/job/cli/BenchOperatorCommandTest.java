package io.sluice.job.cli;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import org.junit.jupiter.api.Test;

/** {@code sluice bench operator} runs a real job in-process and reports what it counted. */
class BenchOperatorCommandTest {

    private static CliRun sluice(String... args) {
        return CliRun.of(args);
    }

    @Test
    void everyRequestFinishesWithItsTokensAndARateComesOut() throws Exception {
        CliRun run = sluice("bench", "operator", "--requests", "3001", "--instances", "2", "--gen", "3", "--json");
        assertThat(run.exit()).as(run.err()).isZero();
        JsonNode o = new ObjectMapper().readTree(run.out());
        assertThat(o.get("requests").asLong()).isEqualTo(3001);
        assertThat(o.get("tokens").asLong()).as("3 tokens for each request, none lost or doubled").isEqualTo(9003);
        assertThat(o.get("requests_per_s").asDouble()).isPositive();
        assertThat(o.get("tokens_per_s").asDouble()).isPositive();
        assertThat(o.get("seconds").asDouble()).isLessThanOrEqualTo(o.get("wall_seconds").asDouble());
        assertThat(o.get("instance_cpu_us_per_request").asDouble()).isPositive();
    }

    @Test
    void atAFixedRateTheRequestsAreSpreadOverTime() throws Exception {
        CliRun run = sluice("bench", "operator", "--requests", "600", "--rate", "300", "--json");
        assertThat(run.exit()).as(run.err()).isZero();
        JsonNode o = new ObjectMapper().readTree(run.out());
        assertThat(o.get("tokens").asLong()).isEqualTo(1200);
        // Made over 2 s, they finish over nearly as long (less the time the instance takes to start after the
        // source: requests made before then finish together); a flood of 600 finishes within a few ms.
        assertThat(o.get("seconds").asDouble()).as("first to last finish").isGreaterThan(1.0);
        assertThat(o.get("requests_per_s").asDouble()).isPositive();
        assertThat(o.get("e2e_mean_ms").asDouble()).isPositive();
    }

    @Test
    void badOptionsAreUsageErrors() {
        CliRun policy = sluice("bench", "operator", "--policy", "lottery");
        assertThat(policy.exit()).isEqualTo(2);
        assertThat(policy.err()).contains("unknown --policy 'lottery'");
        CliRun few = sluice("bench", "operator", "--requests", "1");
        assertThat(few.exit()).isEqualTo(2);
        assertThat(few.err()).contains("--requests must be at least 2");
        CliRun rate = sluice("bench", "operator", "--rate", "-5");
        assertThat(rate.exit()).isEqualTo(2);
        assertThat(rate.err()).contains("--rate must be >= 0");
    }

    @Test
    void everyOptionIsCheckedBeforeThePlanIsPrinted() {
        for (String[] flag : new String[][] {
            {"--prompt-len", "1000", "--prompt-len 1000 + --gen 2 must fit the benchmark model's context of 512"},
            {"--timeout-s", "0", "--timeout-s must be at least 1, got 0"},
            {"--gen", "0", "--prompt-len and --gen must be at least 1, got 3 and 0"}}) {
            CliRun run = sluice("bench", "operator", "--requests", "10", flag[0], flag[1]);
            assertThat(run.exit()).as("%s: %s", flag[0], run.err()).isEqualTo(2);
            assertThat(run.err().strip()).as("only the message, with the command's full name")
                    .isEqualTo("sluice bench operator: " + flag[2]);
            assertThat(run.err().strip().lines()).as("one line: %s", run.err()).hasSize(1);
        }
    }
}
