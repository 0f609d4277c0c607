package io.sluice.job.cli;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The engine commands run in-process: gen-model, generate, bench engine. */
class EngineCommandsTest {

    @TempDir
    Path dir;

    private static CliRun sluice(String... args) {
        return CliRun.of(args);
    }

    private static Path shared(String relative) {
        String root = System.getProperty("sluice.shared");
        assumeTrue(root != null, "sluice.shared not set");
        Path p = Path.of(root, relative);
        assumeTrue(Files.isRegularFile(p), "absent: " + p);
        return p;
    }

    /** A byte-level tokenizer of the 260k shape's vocabulary (512). */
    private Path tokenizer260k() throws Exception {
        Path file = dir.resolve("tok512.bin");
        io.sluice.job.local.ByteTokenizer.write(file, 512);
        return file;
    }

    /** A synthetic 260k checkpoint written by {@code sluice gen-model}. */
    private Path tinyModel(String name) {
        Path model = dir.resolve(name);
        CliRun gen = sluice("gen-model", "--shape", "260k", "--out", model.toString());
        assertThat(gen.exit()).as(gen.err()).isZero();
        return model;
    }

    @Test
    void generatePrintsTheIdsRunCPrintsForStories260k() throws Exception {
        Path model = shared("models/stories260K.bin");
        String expected = Files.readString(shared("models/reference/stories260K_noprompt.ids")).trim();
        CliRun run = sluice("generate", "--model", model.toString(), "--steps", "256", "--temperature", "0",
                "--print-ids", "--threads", "2");
        assertThat(run.exit()).as(run.err()).isZero();
        assertThat(run.out().trim().split("\\s+")).containsExactly(expected.split("\\s+"));
        assertThat(run.err()).contains("tok/s");
    }

    @Test
    void genModelThenGenerateTextWithAPrompt() throws Exception {
        Path tokenizer = shared("models/tokenizer.bin");
        Path model = dir.resolve("m.bin");
        CliRun gen = sluice("gen-model", "--shape", "15m", "--seed", "1234", "--out", model.toString());
        assertThat(gen.exit()).as(gen.err()).isZero();
        assertThat(Files.size(model)).isEqualTo(60_816_028L);
        CliRun run = sluice("generate", "--model", model.toString(), "--tokenizer", tokenizer.toString(),
                "--prompt", "Once upon a time", "--steps", "12", "--temperature", "0.8", "--seed", "3");
        assertThat(run.exit()).as(run.err()).isZero();
        assertThat(run.out()).startsWith("Once upon a time");
        CliRun ids = sluice("generate", "--model", model.toString(), "--tokenizer", tokenizer.toString(),
                "--prompt", "Once upon a time", "--steps", "12", "--temperature", "0.8", "--seed", "3",
                "--print-ids");
        String[] line = ids.out().trim().split(" ");
        assertThat(line).hasSize(12).startsWith("9038", "2501", "263", "931");
        CliRun replay = sluice("generate", "--model", model.toString(), "--tokenizer", tokenizer.toString(),
                "--prompt", "Once upon a time", "--steps", "12", "--temperature", "0.8", "--seed", "3",
                "--print-ids");
        assertThat(replay.out()).as("same seed, same tokens").isEqualTo(ids.out());
    }

    @Test
    void benchEnginePrintsOneJsonObjectPerBatch() throws Exception {
        Path model = tinyModel("tiny.bin");
        CliRun run = sluice("bench", "engine", "--model", model.toString(), "--batch", "1,3", "--prompt-len", "8",
                "--gen", "4", "--repeat", "1", "--threads", "2", "--warmup", "0", "--json");
        assertThat(run.exit()).as(run.err()).isZero();
        List<String> lines = run.out().lines().toList();
        assertThat(lines).hasSize(2);
        ObjectMapper mapper = new ObjectMapper();
        for (int i = 0; i < 2; i++) {
            JsonNode o = mapper.readTree(lines.get(i));
            assertThat(o.get("batch").asInt()).isEqualTo(i == 0 ? 1 : 3);
            assertThat(o.get("prefill_tok_s").asDouble()).isPositive();
            assertThat(o.get("decode_tok_s").asDouble()).isPositive();
            // the step's arithmetic and bytes over its time: tokens/s x work per token
            assertThat(o.get("decode_gflop_s").asDouble()).isPositive();
            assertThat(o.get("decode_gb_s").asDouble()).isPositive();
        }
        JsonNode first = mapper.readTree(lines.get(0));
        JsonNode second = mapper.readTree(lines.get(1));
        assertThat(first.has("decode_x_batch1")).as("batch 1 against itself").isFalse();
        assertThat(second.get("decode_x_batch1").asDouble()).as("batch 3 against batch 1 of the same run")
                .isCloseTo(second.get("decode_tok_s").asDouble() / first.get("decode_tok_s").asDouble(),
                        org.assertj.core.api.Assertions.within(0.02));
    }

    @Test
    void benchEngineJsonWithPhasesIsStillOneJsonObjectPerBatch() throws Exception {
        Path model = tinyModel("phases.bin");
        // The phases were printed as text lines between the JSON objects: a script reading --json failed on them.
        CliRun run = sluice("bench", "engine", "--model", model.toString(), "--batch", "1,2", "--prompt-len", "8",
                "--gen", "4", "--repeat", "1", "--threads", "1", "--warmup", "0", "--json", "--phases");
        assertThat(run.exit()).as(run.err()).isZero();
        List<String> lines = run.out().lines().toList();
        assertThat(lines).as(run.out()).hasSize(2);
        ObjectMapper mapper = new ObjectMapper();
        for (String line : lines) {
            JsonNode phases = mapper.readTree(line).get("decode_phases_ms");
            assertThat(phases).as(line).isNotNull();
            assertThat(phases.get("attention").asDouble()).as(line).isPositive();
            assertThat(phases.get("total").asDouble()).as(line).isGreaterThanOrEqualTo(phases.get("attention").asDouble());
        }
    }

    @Test
    void benchEngineRunsBatch1FirstSoThatEveryOtherBatchIsComparedWithIt() throws Exception {
        Path model = tinyModel("tiny.bin");
        CliRun run = sluice("bench", "engine", "--model", model.toString(), "--batch", "2,1", "--prompt-len", "4",
                "--gen", "2", "--repeat", "1", "--threads", "1", "--warmup", "0", "--json");
        assertThat(run.exit()).as(run.err()).isZero();
        List<JsonNode> lines = new ArrayList<>();
        for (String line : run.out().lines().toList()) {
            lines.add(new ObjectMapper().readTree(line));
        }
        assertThat(lines).extracting(o -> o.get("batch").asInt()).containsExactly(1, 2);
        assertThat(lines.get(1).has("decode_x_batch1")).isTrue();
    }

    @Test
    void benchEngineRefusesABatchNoKvCacheHoldsBeforeItStarts() throws Exception {
        Path model = tinyModel("tiny.bin");
        CliRun run = sluice("bench", "engine", "--model", model.toString(), "--batch", "1,1500000000",
                "--prompt-len", "8", "--gen", "8", "--warmup", "0");
        assertThat(run.exit()).isEqualTo(2);
        assertThat(run.err()).contains("--batch 1500000000 does not fit one KV cache");
        assertThat(run.out()).as("nothing measured, not even the header").isEmpty();
    }

    @Test
    void badInputGivesAUsageErrorOrAClearMessage() {
        CliRun noTokenizer = sluice("generate", "--model", "x.bin", "--prompt", "hi");
        assertThat(noTokenizer.exit()).isEqualTo(2);
        assertThat(noTokenizer.err()).contains("--tokenizer is required");
        CliRun missing = sluice("generate", "--model", dir.resolve("none.bin").toString(), "--print-ids");
        assertThat(missing.exit()).isNotZero();
        assertThat(missing.err()).contains("none.bin").contains("no such file");
        CliRun shape = sluice("gen-model", "--shape", "7b", "--out", dir.resolve("a.bin").toString());
        assertThat(shape.exit()).isNotZero();
        assertThat(shape.err()).contains("260k, 15m, 42m, 110m");
    }

    @Test
    void pdFlagsThatDoNotFitGiveOneLineMessages() {
        CliRun noPools = sluice("run", "--bootstrap", "localhost:1", "--pd", "separate", "--instances", "2");
        assertThat(noPools.exit()).isEqualTo(2);
        assertThat(noPools.err()).contains("--pd separate needs a prefill and a decode pool: --instances P:D");
        CliRun split = sluice("run", "--bootstrap", "localhost:1", "--instances", "1:1");
        assertThat(split.exit()).isEqualTo(2);
        assertThat(split.err()).contains("add --pd separate or --pd hybrid");
        CliRun unknown = sluice("local", "--pd", "split");
        assertThat(unknown.exit()).isEqualTo(2);
        assertThat(unknown.err()).contains("--pd must be colocated, separate or hybrid");
        CliRun emptyPool = sluice("run", "--bootstrap", "localhost:1", "--pd", "hybrid", "--instances", "2:0");
        assertThat(emptyPool.exit()).isEqualTo(2);
        assertThat(emptyPool.err()).contains("one of each pool");
        CliRun admission = sluice("run", "--bootstrap", "localhost:1", "--pd", "separate", "--instances", "1:1",
                "--admission", "0.2:0.1");
        assertThat(admission.exit()).isEqualTo(2);
        assertThat(admission.err()).contains("--admission must be STOP:RESUME").contains("'0.2:0.1'");
        for (CliRun r : List.of(noPools, split, unknown, emptyPool, admission)) {
            assertThat(r.err().strip().lines()).as("one line: %s", r.err()).hasSize(1);
        }
    }

    @Test
    void admissionThresholdsReachTheJobsRouterOptions() throws Exception {
        Path model = tinyModel("admission.bin");
        EngineOptions options = picocli.CommandLine.populateCommand(new EngineOptions(), "--model", model.toString(),
                "--tokenizer", tokenizer260k().toString(), "--pd", "separate", "--instances", "1:1", "--admission", "0.1:0.3");
        var settings = options.settings("localhost:1", io.sluice.job.pipeline.Topics.DEFAULT,
                io.sluice.operators.ingest.RequestFormat.AVRO, new java.util.Properties(), "g");
        assertThat(settings.routing().freeStop()).isEqualTo(0.1);
        assertThat(settings.routing().freeResume()).isEqualTo(0.3);
        EngineOptions defaults = picocli.CommandLine.populateCommand(new EngineOptions());
        assertThat(defaults.admissionThresholds()).containsExactly(0.05, 0.15);
    }

    @Test
    void aTokenizerOfAnotherVocabularyIsRefusedBeforeAnythingRuns() throws Exception {
        Path model = tinyModel("v512.bin"); // 260k: vocab_size 512
        Path tokenizer = dir.resolve("tok600.bin");
        io.sluice.job.local.ByteTokenizer.write(tokenizer, 600);
        String m = model.toString();
        String t = tokenizer.toString();
        List<List<String>> commands = List.of(
                List.of("generate", "--model", m, "--tokenizer", t, "--prompt", "hi", "--steps", "4", "--seed", "1"),
                List.of("run", "--bootstrap", "localhost:1", "--model", m, "--tokenizer", t),
                List.of("local", "--model", m, "--tokenizer", t, "--kafka-port", "0", "--web-port",
                        String.valueOf(io.sluice.job.local.Ports.free())));
        for (List<String> command : commands) {
            CliRun run = sluice(command.toArray(String[]::new));
            assertThat(run.exit()).as("%s: %s", command.get(0), run.err()).isEqualTo(2);
            assertThat(run.err()).as(command.get(0)).contains("--tokenizer " + t).contains("--model " + m)
                    .contains("600 pieces").contains("vocab_size 512").doesNotContain("Kafka at");
            assertThat(run.err().strip().lines()).as("one line: %s", run.err()).hasSize(1);
            assertThat(run.out()).as(command.get(0)).isEmpty();
        }
    }

    @Test
    void runAndLocalNameTheOptionAndTheValueTheyRefuse() throws Exception {
        Path model = tinyModel("r.bin");
        List<List<String>> bad = List.of(
                List.of("--status-interval-ms", "0", "--status-interval-ms must be >= 10, got 0"),
                List.of("--slo-window-ms", "50", "--slo-window-ms must be >= 100, got 50"),
                List.of("--buffer-timeout-ms", "-1", "--buffer-timeout-ms must be >= 0, got -1"),
                List.of("--threads", "0", "--threads must be at least 1, got 0"),
                List.of("--kv-blocks", "-1", "--kv-blocks must be >= 0"));
        for (List<String> flag : bad) {
            for (List<String> command : List.of(List.of("run", "--bootstrap", "localhost:1"),
                    List.of("local", "--kafka-port", "0", "--web-port", String.valueOf(io.sluice.job.local.Ports.free())))) {
                List<String> args = new java.util.ArrayList<>(command);
                args.addAll(List.of("--model", model.toString(), "--tokenizer", tokenizer260k().toString(),
                        flag.get(0), flag.get(1)));
                CliRun run = sluice(args.toArray(String[]::new));
                assertThat(run.exit()).as("%s %s: %s", command.get(0), flag, run.err()).isEqualTo(2);
                assertThat(run.err()).as("%s %s", command.get(0), flag).contains(flag.get(2)).doesNotContain("Kafka at");
                assertThat(run.err().strip().lines()).as("one line: %s", run.err()).hasSize(1);
            }
        }
    }

    @Test
    void aFolderGivenForAFileIsCalledAFolder() throws Exception {
        Path model = tinyModel("f.bin");
        // "no such file" sent the user looking for a file that was not missing: the path was a folder.
        for (List<String> flag : List.of(List.of("--tokenizer", dir.toString()),
                List.of("--tokenizer", tokenizer260k().toString(), "--profile", dir.toString()))) {
            List<String> args = new java.util.ArrayList<>(List.of("run", "--bootstrap", "localhost:1", "--model",
                    model.toString()));
            args.addAll(flag);
            CliRun run = sluice(args.toArray(String[]::new));
            assertThat(run.exit()).as("%s: %s", flag, run.err()).isEqualTo(2);
            assertThat(run.err()).as("%s", flag).contains(flag.get(flag.size() - 2) + ": " + dir + ": is a folder")
                    .doesNotContain("no such file");
        }
    }

    @Test
    void localChecksItsFlagsAndFilesBeforeStartingAnything() throws Exception {
        Path model = tinyModel("m.bin");
        String[] base = {"local", "--model", model.toString(), "--tokenizer", tokenizer260k().toString(), "--kafka-port", "0",
            "--web-port", String.valueOf(io.sluice.job.local.Ports.free())};
        List<List<String>> bad = List.of(
                List.of("--format", "xml"),
                List.of("--kv-blocks", "-1"),
                List.of("--threads", "0"),
                List.of("--drain-timeout-s", "-1"),
                List.of("--min-new-tokens", "0"),
                List.of("--profile", dir.resolve("none.json").toString()),
                List.of("--tenants", "@" + dir.resolve("none.txt")),
                List.of("--tenants", "a:foo=1"),
                List.of("--kafka-port", "70000"));
        for (List<String> flags : bad) {
            List<String> args = new java.util.ArrayList<>(List.of(base));
            args.addAll(flags);
            if (flags.get(0).equals("--kafka-port")) {
                args.subList(5, 7).clear(); // the base's --kafka-port 0
            }
            long start = System.nanoTime();
            CliRun run = sluice(args.toArray(String[]::new));
            assertThat(run.exit()).as("%s: %s", flags, run.err()).isEqualTo(2);
            assertThat(run.err().strip().lines()).as("one line: %s", run.err()).hasSize(1);
            assertThat(run.err()).as("%s", flags).doesNotContain("Kafka at");
            assertThat(System.nanoTime() - start).as("%s fails before a broker starts", flags).isLessThan(5_000_000_000L);
        }
    }

    @Test
    void profileChecksItsOutputBeforeMeasuring() throws Exception {
        Path model = tinyModel("p.bin");
        long start = System.nanoTime();
        CliRun run = sluice("profile", "--model", model.toString(), "--repeats", "1", "--out",
                dir.resolve("missing").resolve("p.json").toString());
        assertThat(run.exit()).as(run.err()).isEqualTo(2);
        assertThat(run.err()).contains("--out").contains("p.json");
        assertThat(run.err().strip().lines()).as("one line: %s", run.err()).hasSize(1);
        assertThat(System.nanoTime() - start).as("fails before profiling").isLessThan(5_000_000_000L);
    }

    @Test
    void profileNamesTheOptionAndTheValueItRefuses() throws Exception {
        Path model = tinyModel("q.bin");
        for (String[] flag : new String[][] {
            {"--repeats", "0", "--repeats must be at least 1, got 0"},
            {"--holdout", "1", "--holdout must be a share in (0, 1), got 1.0"},
            {"--holdout", "NaN", "--holdout must be a share in (0, 1), got NaN"},
            {"--threads", "0", "--threads must be at least 1, got 0"}}) {
            CliRun run = sluice("profile", "--model", model.toString(), "--out", dir.resolve("p.json").toString(),
                    flag[0], flag[1]);
            assertThat(run.exit()).as("%s: %s", flag[0], run.err()).isEqualTo(2);
            assertThat(run.err().strip()).isEqualTo("sluice profile: " + flag[2]);
            assertThat(dir.resolve("p.json")).doesNotExist();
        }
    }

    @Test
    void genModelProgressIsPlainLinesWhenStderrIsNoTerminal() {
        // No terminal here (as in a file or a CI log): a line per step, no carriage returns between them.
        CliRun run = sluice("gen-model", "--shape", "260k", "--out", dir.resolve("p.bin").toString());
        assertThat(run.exit()).as(run.err()).isZero();
        assertThat(run.err()).doesNotContain("\r").contains("writing p.bin: 100%\n");
    }

    @Test
    void genModelNamesABadScale() {
        for (String scale : List.of("0", "-1", "NaN", "Infinity")) {
            Path out = dir.resolve("s.bin");
            CliRun run = sluice("gen-model", "--shape", "260k", "--scale", scale, "--out", out.toString());
            assertThat(run.exit()).as("%s: %s", scale, run.err()).isEqualTo(2);
            assertThat(run.err().strip()).startsWith("sluice gen-model: --scale must be a positive number, got ");
            assertThat(out).doesNotExist();
        }
    }

    @Test
    void genModelIntoAPlaceItCannotWriteIsAUsageError() throws Exception {
        Path file = Files.writeString(dir.resolve("file.txt"), "not a folder");
        for (Path out : List.of(file.resolve("x.bin"), dir)) {
            CliRun run = sluice("gen-model", "--shape", "260k", "--out", out.toString());
            assertThat(run.exit()).as("%s: %s", out, run.err()).isEqualTo(2);
            assertThat(run.err()).contains("--out").doesNotContain("Exception");
            assertThat(run.err().strip().lines()).as("one line: %s", run.err()).hasSize(1);
        }
    }

    @Test
    void genModelWritesAFileWithTheUmasksPermissionsLikeAnyOther() throws Exception {
        assumeTrue(java.nio.file.FileSystems.getDefault().supportedFileAttributeViews().contains("posix"),
                "no POSIX permissions here");
        Path model = tinyModel("perm.bin");
        Path plain = dir.resolve("plain.bin");
        try (var out = Files.newOutputStream(plain)) {
            out.write(1);
        }
        assertThat(java.nio.file.attribute.PosixFilePermissions.toString(Files.getPosixFilePermissions(model)))
                .as("a checkpoint gets what the umask gives a new file, not owner-only")
                .isEqualTo(java.nio.file.attribute.PosixFilePermissions.toString(Files.getPosixFilePermissions(plain)));
        try (var files = Files.list(dir)) {
            assertThat(files.map(p -> p.getFileName().toString())).as("no temporary file left")
                    .containsExactlyInAnyOrder("perm.bin", "plain.bin");
        }
    }

    @Test
    void benchEngineSaysWhenItWarmsUp() throws Exception {
        Path model = tinyModel("w.bin");
        CliRun run = sluice("bench", "engine", "--model", model.toString(), "--batch", "1,2", "--prompt-len", "8",
                "--gen", "2", "--repeat", "1", "--threads", "1", "--warmup", "0.2");
        assertThat(run.exit()).as(run.err()).isZero();
        assertThat(run.err()).contains("batch 1: warming up (0.2 s)").contains("batch 2: warming up (0.2 s)")
                .contains("batch 2: run 1 of 1");
        // No terminal here (as in a file or a CI log): plain lines, no cursor codes between them.
        assertThat(run.err()).doesNotContain("\r").doesNotContain("\033");
    }

    @Test
    void benchEngineWithAnUnknownShapeWritesNoTemporaryCheckpoint() throws Exception {
        CliRun run = sluice("bench", "engine", "--shape", "7b");
        assertThat(run.exit()).isEqualTo(2);
        assertThat(run.err()).contains("unknown shape '7b'").doesNotContain("writing a synthetic");
        assertThat(run.err().strip().lines()).as("one line: %s", run.err()).hasSize(1);
    }

    @Test
    void benchEngineStoppedMidRunLeavesNoTemporaryCheckpoint() throws Exception {
        // Ctrl-C (or a kill) during a benchmark, minutes long, ends the JVM without its finally blocks: the
        // synthetic checkpoint it wrote (60 MB for 15m, 438 MB for 110m) stayed in the temporary folder each time.
        Path tmp = Files.createDirectories(dir.resolve("tmp"));
        Process p = new ProcessBuilder(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                "--add-modules=jdk.incubator.vector", "-Djava.io.tmpdir=" + tmp,
                "-cp", System.getProperty("java.class.path"), SluiceCli.class.getName(),
                "bench", "engine", "--shape", "260k", "--batch", "1", "--threads", "1", "--warmup", "600")
                .redirectErrorStream(true).start();
        try (java.io.BufferedReader out = new java.io.BufferedReader(new java.io.InputStreamReader(p.getInputStream()))) {
            String line;
            while ((line = out.readLine()) != null && !line.contains("warming up")) {
                // the checkpoint is written and loaded once the warm-up begins
            }
            assertThat(line).as("the benchmark reached its warm-up").isNotNull();
            try (var files = Files.list(tmp)) {
                assertThat(files.map(f -> f.getFileName().toString())).as("while it runs").hasSize(1);
            }
            p.destroy(); // SIGTERM: the JVM exits as on Ctrl-C
            assertThat(p.waitFor(60, java.util.concurrent.TimeUnit.SECONDS)).isTrue();
        } finally {
            p.destroyForcibly();
        }
        try (var files = Files.list(tmp)) {
            assertThat(files.map(f -> f.getFileName().toString())).as("left behind").isEmpty();
        }
    }

    @Test
    void aBatchTooLargeForTheHeapIsAMessageNotAStackTrace() throws Exception {
        Path model = tinyModel("oom.bin");
        // The KV cache of a million 16-token sequences: 2 GB a layer, beyond the tests' heap (-Xmx2g) as a
        // batch sweep (--batch ...,2048,4096) on a larger model is beyond a default heap. It threw
        // OutOfMemoryError out of the command line: a stack trace.
        CliRun run = sluice("bench", "engine", "--model", model.toString(), "--batch", "1000000", "--prompt-len", "8",
                "--gen", "8", "--repeat", "1", "--warmup", "0", "--threads", "1");
        assertThat(run.exit()).as(run.err()).isEqualTo(1);
        assertThat(run.err()).contains("sluice bench engine: out of memory").contains("SLUICE_JAVA_OPTS=-Xmx")
                .doesNotContain("\tat ");
        assertThat(run.err().strip().lines()).as("one line: %s", run.err()).hasSize(1);
    }

    @Test
    void genModelStoppedWhileWritingLeavesNoPartFile() throws Exception {
        // Ctrl-C while the checkpoint was written left its temporary FILE.HEX.part beside --out (up to 438 MB for
        // 110m; local mode writes its demo model the same way into the cache folder).
        Path out = dir.resolve("stopped.bin");
        Process p = new ProcessBuilder(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                "--add-modules=jdk.incubator.vector", "-cp", System.getProperty("java.class.path"),
                SluiceCli.class.getName(), "gen-model", "--shape", "110m", "--out", out.toString())
                .redirectErrorStream(true).redirectOutput(ProcessBuilder.Redirect.DISCARD).start();
        boolean seen = false;
        try {
            long until = System.nanoTime() + 60_000_000_000L;
            while (!seen && p.isAlive() && System.nanoTime() < until) {
                try (var files = Files.list(dir)) {
                    seen = files.anyMatch(f -> f.getFileName().toString().endsWith(".part"));
                }
                Thread.sleep(seen ? 0 : 5);
            }
            p.destroy(); // SIGTERM: the JVM exits as on Ctrl-C
            assertThat(p.waitFor(60, java.util.concurrent.TimeUnit.SECONDS)).isTrue();
        } finally {
            p.destroyForcibly();
        }
        assertThat(seen).as("stopped while it wrote").isTrue();
        try (var files = Files.list(dir)) {
            assertThat(files.map(f -> f.getFileName().toString()).filter(n -> n.endsWith(".part"))).as("left behind")
                    .isEmpty();
        }
    }

    @Test
    void aCheckpointThatCannotBeWrittenWholeIsOneLineNotAStackTrace() throws Exception {
        // A disk that fills up while gen-model writes (or bench engine --shape writes its temporary checkpoint):
        // a file-size limit fails the write the same way. The user saw UncheckedIOException and its stack trace.
        String javaBin = Path.of(System.getProperty("java.home"), "bin", "java").toString();
        for (List<String> command : List.of(List.of("gen-model", "--shape", "15m", "--out", dir.resolve("full.bin").toString()),
                List.of("bench", "engine", "--shape", "15m", "--batch", "1", "--prompt-len", "8", "--gen", "1",
                        "--repeat", "1", "--warmup", "0"))) {
            List<String> args = new java.util.ArrayList<>(List.of("bash", "-c", "ulimit -f 1000 && exec \"$@\"", "cli",
                    javaBin, "--add-modules=jdk.incubator.vector", "-Djava.io.tmpdir=" + dir,
                    "-cp", System.getProperty("java.class.path"), SluiceCli.class.getName()));
            args.addAll(command);
            Process p = new ProcessBuilder(args).redirectOutput(ProcessBuilder.Redirect.DISCARD).start();
            String err = new String(p.getErrorStream().readAllBytes(), java.nio.charset.StandardCharsets.UTF_8);
            assertThat(p.waitFor(120, java.util.concurrent.TimeUnit.SECONDS)).isTrue();
            assertThat(p.exitValue()).as("%s: %s", command, err).isEqualTo(1);
            assertThat(err).as("%s", command).doesNotContain("\tat ").doesNotContain("Exception");
            List<String> lines = err.strip().lines().toList();
            assertThat(lines.get(lines.size() - 1)).as("%s: %s", command, err).startsWith("sluice " + command.get(0))
                    .contains("cannot write").contains("File too large");
        }
    }

    @Test
    void benchEngineChecksEveryOptionBeforeItPrintsAnything() throws Exception {
        Path model = tinyModel("b.bin");
        // Each bad value, the option its message names, and the value it quotes; seq_len of 260k is 512.
        List<List<String>> bad = List.of(
                List.of("--prompt-len", "1000", "--prompt-len 1000"),
                List.of("--prompt-len", "0", "--prompt-len must be at least 1, got 0"),
                List.of("--gen", "-1", "--gen must be >= 0"),
                List.of("--gen", "600", "--gen 600"),
                List.of("--max-batch-tokens", "0", "--max-batch-tokens must be at least 1, got 0"),
                List.of("--warmup", "-1", "--warmup must be a number of seconds >= 0, got -1.0"),
                List.of("--warmup", "NaN", "got NaN"),
                List.of("--warmup", "Infinity", "got Infinity"),
                List.of("--batch", "1,0", "every --batch must be at least 1, got 0"),
                List.of("--threads", "0", "--threads must be at least 1, got 0"),
                List.of("--repeat", "0", "--repeat must be at least 1, got 0"));
        for (List<String> flag : bad) {
            for (String source : List.of("--model", "--shape")) {
                java.util.Map<String, String> options = new java.util.LinkedHashMap<>(java.util.Map.of(
                        "--batch", "1", "--prompt-len", "8", "--gen", "4", "--repeat", "1", "--warmup", "0"));
                options.put(source, source.equals("--model") ? model.toString() : "260k");
                options.put(flag.get(0), flag.get(1));
                List<String> args = new java.util.ArrayList<>(List.of("bench", "engine"));
                options.forEach((k, v) -> args.addAll(List.of(k, v)));
                CliRun run = sluice(args.toArray(String[]::new));
                assertThat(run.exit()).as("%s %s: %s", flag, source, run.err()).isEqualTo(2);
                assertThat(run.out()).as("%s %s: nothing printed before the check", flag, source).isEmpty();
                assertThat(run.err().lines().findFirst().orElse("")).as("%s %s", flag, source).contains(flag.get(2));
                assertThat(run.err()).as("%s %s", flag, source).doesNotContain("writing a synthetic")
                        .doesNotContain("run 1 of");
            }
        }
    }

    @Test
    void generateRefusesBadNumbersBeforeItPrintsASeed() throws Exception {
        Path model = tinyModel("g.bin");
        for (String[] flag : new String[][] {
            {"--threads", "0", "--threads must be at least 1, got 0"},
            {"--temperature", "NaN", "--temperature must be a finite number >= 0 (0 = greedy), got NaN"},
            {"--temperature", "-1", "got -1.0"},
            {"--top-p", "0", "--top-p must be in (0, 1], got 0.0"},
            {"--top-p", "NaN", "--top-p must be in (0, 1], got NaN"}}) {
            CliRun run = sluice("generate", "--model", model.toString(), "--print-ids", "--steps", "4", flag[0], flag[1]);
            assertThat(run.exit()).as("%s: %s", flag[0], run.err()).isEqualTo(2);
            assertThat(run.err().lines().findFirst().orElse("")).as("%s %s", flag[0], flag[1]).contains(flag[2]);
            assertThat(run.err()).as("no seed for a run that never happens").doesNotContain("--seed ");
            assertThat(run.out()).isEmpty();
        }
    }

    @Test
    void generateWithAPromptLongerThanTheContextIsAUsageError() throws Exception {
        Path tokenizer = shared("models/tokenizer.bin");
        Path model = dir.resolve("m15.bin");
        assertThat(sluice("gen-model", "--shape", "15m", "--out", model.toString()).exit()).isZero();
        String prompt = "hello world ".repeat(200); // 401 tokens with BOS; seq_len 256
        CliRun run = sluice("generate", "--model", model.toString(), "--tokenizer", tokenizer.toString(),
                "--prompt", prompt, "--temperature", "0", "--print-ids");
        assertThat(run.exit()).as(run.err()).isEqualTo(2);
        assertThat(run.err()).contains("--prompt").contains("256");
        assertThat(run.out()).isEmpty();
    }
}
