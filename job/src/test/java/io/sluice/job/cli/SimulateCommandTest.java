package io.sluice.job.cli;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class SimulateCommandTest {

    @TempDir Path dir;

    private static CliRun run(String... args) {
        return CliRun.of(args);
    }

    private Path lengths(int rows) throws Exception {
        StringBuilder sb = new StringBuilder("num_prefill_tokens,num_decode_tokens,num_total_tokens,pd_ratio\n");
        for (int i = 0; i < rows; i++) {
            int p = 200 + (i * 37) % 1800;
            int d = 5 + (i * 13) % 200;
            sb.append(p).append(',').append(d).append(',').append(p + d).append(",1\n");
        }
        Path f = dir.resolve("lengths.csv");
        Files.writeString(f, sb.toString());
        return f;
    }

    @Test
    void jsonHasOneEntryPerPolicy() throws Exception {
        CliRun r = run("simulate", "--trace", lengths(300).toString(), "--policy", "slidebatching,fcfs",
                "--instances", "2", "--rate", "4", "--json");
        assertThat(r.exit()).as(r.err()).isZero();
        JsonNode root = new ObjectMapper().readTree(r.out());
        assertThat(root.get("policies")).hasSize(2);
        JsonNode first = root.get("policies").get(0);
        assertThat(first.get("policy").asText()).isEqualTo("slidebatching");
        assertThat(first.get("attainment").asDouble()).isBetween(0.0, 1.0);
        assertThat(first.has("goodput")).isTrue();
        assertThat(first.has("gain")).isTrue();
        assertThat(first.get("classes")).hasSize(3);
        assertThat(first.has("capacity")).as("only when swept").isFalse();
    }

    @Test
    void sweepFindsCapacityAndPlots() throws Exception {
        Path png = dir.resolve("out/plot.png");
        CliRun r = run("simulate", "--trace", lengths(200).toString(), "--policy", "fcfs,priority", "--instances", "1",
                "--rate", "1", "--sweep", "--json", "--plot", png.toString());
        assertThat(r.exit()).as(r.err()).isZero();
        JsonNode root = new ObjectMapper().readTree(r.out());
        for (JsonNode p : root.get("policies")) {
            assertThat(p.get("capacity").asDouble()).isPositive();
            assertThat(p.get("at_reference").get("attainment").asDouble()).isBetween(0.0, 1.0);
        }
        assertThat(root.get("reference").get("rate_scale").asDouble()).isPositive();
        byte[] bytes = Files.readAllBytes(png);
        assertThat(bytes).hasSizeGreaterThan(10_000);
        assertThat(new String(bytes, 1, 3, java.nio.charset.StandardCharsets.US_ASCII)).isEqualTo("PNG");
        assertThat(r.err()).contains("capacity");
    }

    @Test
    void aClassNoRequestFellIntoIsNullInJsonAndADashInTheTable() throws Exception {
        // Two requests, three classes in the default mix: at least one class is empty.
        CliRun r = run("simulate", "--trace", lengths(2).toString(), "--policy", "fcfs", "--instances", "1", "--json");
        assertThat(r.exit()).as(r.err()).isZero();
        JsonNode classes = new ObjectMapper().readTree(r.out()).get("policies").get(0).get("classes");
        assertThat(classes).anySatisfy(c -> {
            assertThat(c.get("requests").asInt()).isZero();
            assertThat(c.get("attainment").isNull()).as("attainment of an empty class: %s", c).isTrue();
        });
        assertThat(r.out()).doesNotContain("NaN");
        CliRun table = run("simulate", "--trace", lengths(2).toString(), "--policy", "fcfs", "--instances", "1");
        assertThat(table.exit()).as(table.err()).isZero();
        assertThat(table.out()).doesNotContain("NaN");
    }

    @Test
    void requestsLongerThanTheModelsContextAreCountedOnTheFirstLine() throws Exception {
        Path f = dir.resolve("long.csv");
        java.nio.file.Files.writeString(f, "prompt_tokens,output_tokens\n5000,10\n100,10\n100,4000\n");
        CliRun r = run("simulate", "--trace", f.toString(), "--policy", "fcfs", "--cost-model", "a100-llama2-7b");
        assertThat(r.exit()).as(r.err()).isZero();
        assertThat(r.err()).contains("2 of 3 requests are longer than the model's context (4096 tokens)")
                .doesNotContain("NaN");
    }

    @Test
    void jsonLinesAreMooncakeWhateverTheFileIsCalled() throws Exception {
        Path f = dir.resolve("mooncake.txt");
        java.nio.file.Files.writeString(f, "{\"timestamp\": 0, \"input_length\": 10, \"output_length\": 2}\n");
        assertThat(SimulateCommand.guessFormat(f)).isEqualTo(io.sluice.job.sim.TraceFormat.MOONCAKE);
        Path burst = dir.resolve("BurstGPT_1.csv");
        java.nio.file.Files.writeString(burst, "Timestamp,Model,Request tokens,Response tokens,Total tokens,Log Type\n");
        assertThat(SimulateCommand.guessFormat(burst)).isEqualTo(io.sluice.job.sim.TraceFormat.AZURE);
        Path latin1 = dir.resolve("latin1.csv");
        java.nio.file.Files.write(latin1, "caf\u00e9,1\n".getBytes(java.nio.charset.StandardCharsets.ISO_8859_1));
        CliRun r = run("simulate", "--trace", latin1.toString());
        assertThat(r.exit()).isEqualTo(2);
        assertThat(r.err()).contains("latin1.csv").contains("not UTF-8");
    }

    @Test
    void theTablesPrintTheNumbersOfTheJson() throws Exception {
        String[] args = {"simulate", "--trace", lengths(200).toString(), "--policy", "slidebatching,fcfs",
            "--instances", "1", "--rate", "1", "--sweep"};
        CliRun table = run(args);
        String[] withJson = java.util.Arrays.copyOf(args, args.length + 1);
        withJson[args.length] = "--json";
        CliRun json = run(withJson);
        assertThat(table.exit()).as(table.err()).isZero();
        assertThat(json.exit()).as(json.err()).isZero();
        JsonNode root = new ObjectMapper().readTree(json.out());
        for (JsonNode p : root.get("policies")) {
            String policy = p.get("policy").asText();
            assertThat(table.out()).as(policy).contains(summary(p) + String.format(java.util.Locale.ROOT, " %9.4g",
                    p.get("capacity").asDouble()));
            assertThat(table.out()).as("%s at the reference load", policy).contains(summary(p.get("at_reference")));
            for (JsonNode c : p.get("classes")) {
                assertThat(table.out()).as("%s %s latency", policy, c.get("name").asText()).contains(
                        String.format(java.util.Locale.ROOT, "%-14s %-12s %9.1f %9.1f %9.1f | %7.1f %7.1f %7.1f", policy,
                                c.get("name").asText(), c.get("ttftP50").asDouble(), c.get("ttftP90").asDouble(),
                                c.get("ttftP99").asDouble(), c.get("tpotP50").asDouble(), c.get("tpotP90").asDouble(),
                                c.get("tpotP99").asDouble()));
            }
        }
        assertThat(table.out()).contains(String.format(java.util.Locale.ROOT, "at the reference load x%.4g",
                root.get("reference").get("rate_scale").asDouble()));
    }

    /** A summary row as the table prints it, from a policy's JSON (every class has requests here). */
    private static String summary(JsonNode p) {
        StringBuilder row = new StringBuilder(String.format(java.util.Locale.ROOT, "%-14s %6.1f%%",
                p.get("policy").asText(), 100 * p.get("attainment").asDouble()));
        for (JsonNode c : p.get("classes")) {
            row.append(String.format(java.util.Locale.ROOT, " %11.1f%%", 100 * c.get("attainment").asDouble()));
        }
        return row.append(String.format(java.util.Locale.ROOT, " %9.2f %9.1f %5.1f%% %9.0f %8d %8d %10d",
                p.get("goodput").asDouble(), p.get("gain").asDouble(), 100 * p.get("gainShare").asDouble(),
                p.get("tokensPerSecond").asDouble(), p.get("preemptions").asLong(), p.get("rejections").asLong(),
                p.get("infeasible").asLong())).toString();
    }

    @Test
    void repeatedPassesGiveTheSameResultsAndEachPassItsSpeed() throws Exception {
        CliRun r = run("simulate", "--trace", lengths(200).toString(), "--policy", "slidebatching,fcfs", "--instances",
                "1", "--rate", "1", "--sweep", "--repeat", "3", "--json");
        assertThat(r.exit()).as(r.err()).isZero();
        assertThat(r.err()).contains("pass 1: simulated").contains("pass 3: simulated")
                .contains("every pass gave the same results");
        JsonNode root = new ObjectMapper().readTree(r.out());
        assertThat(root.get("passes")).hasSize(3);
        for (JsonNode pass : root.get("passes")) {
            assertThat(pass.get("requests_per_second").asDouble()).isPositive();
        }
        assertThat(root.get("requests_per_second").asDouble())
                .isEqualTo(root.get("passes").get(2).get("requests_per_second").asDouble());
        CliRun once = run("simulate", "--trace", lengths(200).toString(), "--policy", "slidebatching,fcfs",
                "--instances", "1", "--rate", "1", "--sweep", "--json");
        JsonNode single = new ObjectMapper().readTree(once.out());
        assertThat(single.has("passes")).isFalse();
        assertThat(single.get("policies")).as("the report is a pass's, whichever").isEqualTo(root.get("policies"));
    }

    @Test
    void twoPassesReportTheWarmPassAloneNotAMedianOfOne() throws Exception {
        CliRun r = run("simulate", "--trace", lengths(50).toString(), "--policy", "fcfs", "--instances", "1",
                "--repeat", "2");
        assertThat(r.exit()).as(r.err()).isZero();
        assertThat(r.err()).containsPattern("requests/s wall: pass 1 [0-9]+ \\(cold\\); pass 2 [0-9]+; every pass")
                .doesNotContain("passes 2-2");
    }

    @Test
    void tablesByDefault() throws Exception {
        CliRun r = run("simulate", "--trace", lengths(100).toString(), "--policy", "edf", "--instances", "1:1");
        assertThat(r.exit()).as(r.err()).isZero();
        assertThat(r.out()).contains("policy").contains("edf").contains("interactive").contains("TTFT");
    }

    @Test
    void badNumbersFailBeforeAnyProgressNamingTheOptionAndTheValue() throws Exception {
        String trace = lengths(10).toString();
        java.util.List<java.util.List<String>> bad = java.util.List.of(
                java.util.List.of("--rate", "NaN", "--rate must be a positive number, got NaN"),
                java.util.List.of("--host-kv-gib", "NaN", "--host-kv-gib must be a number >= 0 (0 = no host tier), got NaN"),
                java.util.List.of("--link-gbytes", "Infinity", "--link-gbytes must be a positive number, got Infinity"),
                java.util.List.of("--rate-scale", "Infinity", "--rate-scale must be a positive number, got Infinity"),
                java.util.List.of("--max-new-tokens", "-5", "--max-new-tokens must be >= 1, or 0 for the trace's true lengths, got -5"),
                java.util.List.of("--max-batch-tokens", "0", "--max-batch-tokens must be at least 1, got 0"),
                java.util.List.of("--max-seqs", "0", "--max-seqs must be at least 1, got 0"),
                java.util.List.of("--target", "1.5", "--target must be in (0, 1], got 1.5"),
                java.util.List.of("--limit", "0", "--limit must be at least 1, got 0"),
                java.util.List.of("--repeat", "0", "--repeat must be at least 1, got 0"));
        for (java.util.List<String> flag : bad) {
            CliRun r = run("simulate", "--trace", trace, "--policy", "fcfs", flag.get(0), flag.get(1));
            assertThat(r.exit()).as("%s: %s", flag, r.err()).isEqualTo(2);
            assertThat(r.err().strip()).as("%s: only the message, no progress before it", flag)
                    .isEqualTo("sluice simulate: " + flag.get(2));
            assertThat(r.out()).as("%s", flag).isEmpty();
        }
    }

    @Test
    void badInputFailsWithAMessage() throws Exception {
        CliRun r = run("simulate", "--trace", dir.resolve("none.csv").toString());
        assertThat(r.exit()).isEqualTo(2);
        assertThat(r.err()).contains("does not exist");
        r = run("simulate", "--trace", lengths(10).toString(), "--policy", "magic");
        assertThat(r.exit()).isEqualTo(2);
        assertThat(r.err()).contains("unknown policy");
        r = run("simulate", "--trace", lengths(10).toString(), "--mix", "a:1:w=2");
        assertThat(r.exit()).isEqualTo(2);
        assertThat(r.err()).contains("give it an SLO");
        r = run("simulate", "--trace", lengths(10).toString(), "--cost-model", "tpu");
        assertThat(r.err()).contains("unknown cost model");
        r = run("simulate", "--help");
        assertThat(r.exit()).isZero();
        assertThat(r.out()).contains("--sweep").contains("--plot");
    }
}
