package io.sluice.job.cli;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.PrintWriter;
import java.io.StringWriter;
import org.junit.jupiter.api.Test;
import picocli.CommandLine;

/** {@code sluice bench operator} runs a real job in-process and reports what it counted. */
class BenchOperatorCommandTest {

    private record Run(int exit, String out, String err) {
    }

    private static Run sluice(String... args) {
        CommandLine cli = SluiceCli.commandLine();
        StringWriter out = new StringWriter();
        StringWriter err = new StringWriter();
        cli.setOut(new PrintWriter(out, true));
        cli.setErr(new PrintWriter(err, true));
        int exit = cli.execute(args);
        return new Run(exit, out.toString(), err.toString());
    }

    @Test
    void everyRequestFinishesWithItsTokensAndARateComesOut() throws Exception {
        Run run = sluice("bench", "operator", "--requests", "3001", "--instances", "2", "--gen", "3", "--json");
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
        Run run = sluice("bench", "operator", "--requests", "600", "--rate", "300", "--json");
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
        Run policy = sluice("bench", "operator", "--policy", "lottery");
        assertThat(policy.exit()).isEqualTo(2);
        assertThat(policy.err()).contains("unknown --policy 'lottery'");
        Run few = sluice("bench", "operator", "--requests", "1");
        assertThat(few.exit()).isEqualTo(2);
        assertThat(few.err()).contains("--requests must be at least 2");
        Run rate = sluice("bench", "operator", "--rate", "-5");
        assertThat(rate.exit()).isEqualTo(2);
        assertThat(rate.err()).contains("--rate must be >= 0");
    }
}
