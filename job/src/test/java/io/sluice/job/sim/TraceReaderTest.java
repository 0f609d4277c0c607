package io.sluice.job.sim;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.within;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class TraceReaderTest {

    @TempDir Path dir;

    private Path file(String name, String text) throws Exception {
        Path f = dir.resolve(name);
        Files.writeString(f, text);
        return f;
    }

    /** A lengths CSV of {@code n} requests of 100 prompt and 10 output tokens: arrivals are all that varies. */
    private Path sameLengths(int n) throws Exception {
        return file("l.csv", "prompt_tokens,output_tokens\n" + "100,10\n".repeat(n));
    }

    @Test
    void readsAzureCsvRelativeToFirstRequest() throws Exception {
        Path f = file("azure.csv", """
                TIMESTAMP,ContextTokens,GeneratedTokens
                2023-11-16 18:15:46.6805900,374,44
                2023-11-16 18:15:50.9951690,396,109
                2023-11-16 18:15:51,879,0
                """);
        List<TraceRecord> t = TraceReader.read(f, TraceFormat.AZURE, 0, 1);
        assertThat(t).hasSize(3);
        assertThat(t.get(0).arrivalMs()).isZero();
        assertThat(t.get(1).arrivalMs()).isCloseTo(4314.579, within(1e-3));
        assertThat(t.get(2).arrivalMs()).isCloseTo(4319.41, within(1e-3));
        assertThat(t.get(1).promptTokens()).isEqualTo(396);
        assertThat(t.get(1).outputTokens()).isEqualTo(109);
        assertThat(t.get(2).outputTokens()).as("a prefill always samples one token").isEqualTo(1);
    }

    @Test
    void readsAzure2024TimestampsWithOffset() throws Exception {
        Path f = file("azure2024.csv", """
                TIMESTAMP,ContextTokens,GeneratedTokens
                2024-05-10 00:00:00.009930+00:00,2162,5
                2024-05-10 02:00:01.5+02:00,100,7
                """);
        List<TraceRecord> t = TraceReader.read(f, TraceFormat.AZURE, 0, 1);
        assertThat(t.get(1).arrivalMs()).as("02:00:01.5 at +02:00 is 00:00:01.5 UTC").isCloseTo(1490.07, within(1e-3));
    }

    @Test
    void readsBurstGptCsvAsATimedTrace() throws Exception {
        // BurstGPT: seconds since its start, its own column names, and failed requests with 0 response tokens.
        Path f = file("BurstGPT_1.csv", """
                Timestamp,Model,Request tokens,Response tokens,Total tokens,Log Type
                5,ChatGPT,472,18,490,Conversation log
                45,ChatGPT,1087,0,1087,Conversation log
                118.5,GPT-4,417,276,693,API log
                """);
        List<TraceRecord> t = TraceReader.read(f, TraceFormat.AZURE, 0, 1);
        assertThat(t).extracting(TraceRecord::arrivalMs).containsExactly(0.0, 40_000.0, 113_500.0);
        assertThat(t).extracting(TraceRecord::promptTokens).containsExactly(472, 1087, 417);
        assertThat(t).extracting(TraceRecord::outputTokens).containsExactly(18, 1, 276);
    }

    @Test
    void readsMooncakeJsonLines() throws Exception {
        Path f = file("m.jsonl", """
                {"timestamp": 0, "input_length": 1024, "output_length": 6, "hash_ids": [0, 1]}
                {"timestamp": 40, "input_length": 600, "output_length": 3, "hash_ids": [0, 2]}
                """);
        List<TraceRecord> t = TraceReader.read(f, TraceFormat.MOONCAKE, 0, 1);
        assertThat(t).extracting(TraceRecord::arrivalMs).containsExactly(0.0, 40.0);
        assertThat(t.get(1).hashIds()).containsExactly(0, 2);
        assertThat(t.get(0).promptTokens()).isEqualTo(1024);
    }

    @Test
    void readsMooncakeWithByteOrderMarkAndCrlf() throws Exception {
        // Windows tools (Notepad, PowerShell's Out-File) save JSON lines with a UTF-8 BOM and CRLF.
        Path f = file("bom.jsonl", "\uFEFF{\"timestamp\": 5, \"input_length\": 10, \"output_length\": 2}\r\n"
                + "{\"timestamp\": 7, \"input_length\": 12, \"output_length\": 3}\r\n");
        List<TraceRecord> t = TraceReader.read(f, TraceFormat.MOONCAKE, 0, 1);
        assertThat(t).extracting(TraceRecord::arrivalMs).containsExactly(0.0, 2.0);
        assertThat(t.get(1).promptTokens()).isEqualTo(12);
    }

    @Test
    void aTraceThatIsNotUtf8SaysSoAndNamesTheFile() throws Exception {
        Path f = dir.resolve("latin1.csv");
        Files.write(f, "prompt_len,output_len\n12,5\n# caf\u00e9\n".getBytes(java.nio.charset.StandardCharsets.ISO_8859_1));
        assertThatThrownBy(() -> TraceReader.read(f, TraceFormat.LENGTHS, 1, 1))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("latin1.csv").hasMessageContaining("not UTF-8");
    }

    @Test
    void quotedFieldsMayHoldCommas() throws Exception {
        // A lengths CSV exported with the prompt text beside its token counts: the text is quoted
        // and holds commas (and doubled quotes); the counts after it must still be found.
        Path f = file("text.csv", """
                id,"prompt",prompt_tokens,output_tokens
                1,"Hello, world",5,7
                2,"Say ""hi"", then stop",9,"3"
                """);
        List<TraceRecord> t = TraceReader.read(f, TraceFormat.LENGTHS, 1.0, 1);
        assertThat(t).extracting(TraceRecord::promptTokens).containsExactly(5, 9);
        assertThat(t).extracting(TraceRecord::outputTokens).containsExactly(7, 3);
    }

    @Test
    void lengthsGetSeededPoissonArrivals() throws Exception {
        StringBuilder sb = new StringBuilder("num_prefill_tokens,num_decode_tokens,num_total_tokens,pd_ratio\n");
        for (int i = 0; i < 20_000; i++) {
            sb.append(100 + i % 7).append(',').append(10).append(",0,0\n");
        }
        Path f = file("l.csv", sb.toString());
        List<TraceRecord> a = TraceReader.read(f, TraceFormat.LENGTHS, 5.0, 42);
        List<TraceRecord> b = TraceReader.read(f, TraceFormat.LENGTHS, 5.0, 42);
        List<TraceRecord> c = TraceReader.read(f, TraceFormat.LENGTHS, 5.0, 43);
        assertThat(a.get(0).arrivalMs()).isZero();
        assertThat(a.get(999).arrivalMs()).isEqualTo(b.get(999).arrivalMs());
        assertThat(a.get(999).arrivalMs()).isNotEqualTo(c.get(999).arrivalMs());
        double meanRate = (a.size() - 1) / (a.get(a.size() - 1).arrivalMs() / 1000);
        assertThat(meanRate).isCloseTo(5.0, within(0.15));
        for (int i = 1; i < a.size(); i++) {
            assertThat(a.get(i).arrivalMs()).isGreaterThanOrEqualTo(a.get(i - 1).arrivalMs());
        }
    }

    @Test
    void lengthsGetBurstyGammaArrivalsWithTheAskedVariation() throws Exception {
        Path f = sameLengths(50_000);
        for (double cv : new double[] {0.5, 3.0}) {
            List<TraceRecord> t = TraceReader.read(f, TraceFormat.LENGTHS, 4.0, 7, cv);
            double sum = 0;
            double sumSq = 0;
            for (int i = 1; i < t.size(); i++) {
                double gap = t.get(i).arrivalMs() - t.get(i - 1).arrivalMs();
                assertThat(gap).isGreaterThanOrEqualTo(0);
                sum += gap;
                sumSq += gap * gap;
            }
            int n = t.size() - 1;
            double mean = sum / n;
            double sd = Math.sqrt(sumSq / n - mean * mean);
            assertThat(mean).as("mean gap at 4/s, cv %s", cv).isCloseTo(250, within(250 * 0.05));
            assertThat(sd / mean).as("coefficient of variation").isCloseTo(cv, within(cv * 0.1));
            assertThat(TraceReader.read(f, TraceFormat.LENGTHS, 4.0, 7, cv)).as("same seed, same arrivals")
                    .extracting(TraceRecord::arrivalMs).isEqualTo(t.stream().map(TraceRecord::arrivalMs).toList());
        }
        assertThat(TraceReader.read(f, TraceFormat.LENGTHS, 4.0, 7, 1.0)).as("cv 1 is the Poisson process")
                .isEqualTo(TraceReader.read(f, TraceFormat.LENGTHS, 4.0, 7));
        assertThatThrownBy(() -> TraceReader.read(f, TraceFormat.LENGTHS, 4.0, 7, 0))
                .hasMessageContaining("--arrival-cv");
    }

    @Test
    void lengthsArrivalsAreIndependentOfTheClassDrawnWithTheSameSeed() throws Exception {
        // `sluice simulate` seeds both the Poisson arrivals and Mix.assign with --seed: the gap after
        // a request must not depend on its class.
        Path f = sameLengths(50_000);
        List<TraceRecord> t = TraceReader.read(f, TraceFormat.LENGTHS, 1.0, 1);
        int[] cls = Mix.parse(Mix.DEFAULT).assign(t.size(), 1);
        double[] sum = new double[3];
        int[] n = new int[3];
        for (int i = 0; i + 1 < t.size(); i++) {
            sum[cls[i]] += t.get(i + 1).arrivalMs() - t.get(i).arrivalMs();
            n[cls[i]]++;
        }
        for (int c = 0; c < 3; c++) {
            assertThat(sum[c] / n[c]).as("mean gap (ms) after a request of class %d, at 1 req/s", c)
                    .isCloseTo(1000.0, within(60.0));
        }
    }

    @Test
    void badTracesFailWithTheLine() throws Exception {
        assertThatThrownBy(() -> TraceReader.read(file("a.csv", "TIMESTAMP,ContextTokens,GeneratedTokens\n"
                        + "2023-11-16 18:15:46,12,3\nyesterday,1,1\n"), TraceFormat.AZURE, 0, 1))
                .hasMessageContaining("line 3").hasMessageContaining("TIMESTAMP");
        assertThatThrownBy(() -> TraceReader.read(file("b.csv", "time,prompt\n1,2\n"), TraceFormat.AZURE, 0, 1))
                .hasMessageContaining("no column");
        assertThatThrownBy(() -> TraceReader.read(file("c.jsonl", "{\"timestamp\":1,\"input_length\":5}\n"),
                        TraceFormat.MOONCAKE, 0, 1))
                .hasMessageContaining("line 1").hasMessageContaining("output_length");
        assertThatThrownBy(() -> TraceReader.read(file("d.jsonl", "[1,2]\n"), TraceFormat.MOONCAKE, 0, 1))
                .hasMessageContaining("not a JSON object");
        assertThatThrownBy(() -> TraceReader.read(file("e.csv", "num_prefill_tokens,num_decode_tokens\n0,5\n"),
                        TraceFormat.LENGTHS, 1, 1))
                .hasMessageContaining("line 2").hasMessageContaining("> 0");
        assertThatThrownBy(() -> TraceReader.read(file("f.csv", "num_prefill_tokens,num_decode_tokens\n5,5\n"),
                        TraceFormat.LENGTHS, 0, 1))
                .hasMessageContaining("--rate");
        assertThatThrownBy(() -> TraceReader.read(file("g.csv", "num_prefill_tokens,num_decode_tokens\n"),
                        TraceFormat.LENGTHS, 1, 1))
                .hasMessageContaining("no requests");
        assertThatThrownBy(() -> TraceReader.read(dir.resolve("nope.csv"), TraceFormat.LENGTHS, 1, 1))
                .hasMessageContaining("does not exist");
        assertThatThrownBy(() -> TraceFormat.parse("sharegpt")).hasMessageContaining("azure, mooncake or lengths");
    }

    private static Path shared(String name) {
        String root = System.getProperty("sluice.shared");
        Assumptions.assumeTrue(root != null, "sluice.shared not set");
        Path f = Path.of(root, "traces", name);
        Assumptions.assumeTrue(Files.isRegularFile(f), "shared trace absent: " + name);
        return f;
    }

    @Test
    void readsSharedMooncakeTrace() throws Exception {
        List<TraceRecord> t = TraceReader.read(shared("mooncake_synthetic_trace.jsonl"), TraceFormat.MOONCAKE, 0, 1);
        assertThat(t).hasSize(3993);
        assertThat(t.get(t.size() - 1).arrivalMs()).isEqualTo(1_022_025.0);
        double meanIn = t.stream().mapToInt(TraceRecord::promptTokens).average().orElseThrow();
        assertThat(meanIn).isCloseTo(15_325.5, within(1.0));
    }

    @Test
    void readsSharedVidurLengths() throws Exception {
        List<TraceRecord> t = TraceReader.read(
                shared("vidur_arxiv_summarization_lengths_llama2.csv"), TraceFormat.LENGTHS, 2.0, 7);
        assertThat(t).hasSize(28_257);
        double meanOut = t.stream().mapToInt(TraceRecord::outputTokens).average().orElseThrow();
        assertThat(meanOut).isCloseTo(291.4, within(0.1));
    }
}
