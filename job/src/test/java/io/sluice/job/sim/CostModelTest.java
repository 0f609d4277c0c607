package io.sluice.job.sim;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.within;
import static org.assertj.core.data.Percentage.withPercentage;

import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class CostModelTest {

    private static double prefill(CostModel m, int tokens) {
        return m.stepMs(new BatchShape().addChunk(tokens, 0, true));
    }

    private static double decode(CostModel m, int batch, int ctxEach) {
        BatchShape s = new BatchShape();
        for (int i = 0; i < batch; i++) {
            s.addDecode(ctxEach);
        }
        return m.stepMs(s);
    }

    @Test
    void a100Llama2MatchesPublicProfile() {
        CostModel m = CostModels.parse("a100-llama2-7b");
        assertThat(prefill(m, 1)).as("1-token step").isCloseTo(9.4, withPercentage(10));
        assertThat(prefill(m, 64)).as("flat to 64 tokens").isCloseTo(prefill(m, 1), withPercentage(2));
        assertThat(prefill(m, 128)).as("flat to 128 tokens").isCloseTo(prefill(m, 1), withPercentage(5));
        double slope = (prefill(m, 1024) - prefill(m, 512)) / 512;
        assertThat(slope).as("ms per prefill token past the knee").isCloseTo(0.065, withPercentage(12));
        double perCachedTokenUs = (decode(m, 8, 2048) - decode(m, 8, 1024)) / (8 * 1024) * 1000;
        assertThat(perCachedTokenUs).as("decode us per cached token").isBetween(0.35 * 0.9, 0.40 * 1.1);
        assertThat(m.kvBytesPerToken()).isEqualTo(512 * 1024);
        assertThat(m.maxContext()).isEqualTo(4096);
    }

    @Test
    void h100Llama2MatchesPublicProfile() {
        CostModel m = CostModels.parse("h100-llama2-7b");
        assertThat(prefill(m, 1)).as("1-token step").isCloseTo(5.6, withPercentage(10));
        double slope = (prefill(m, 1024) - prefill(m, 512)) / 512;
        assertThat(slope).as("ms per prefill token past the knee").isCloseTo(0.021, withPercentage(12));
    }

    @Test
    void llama3UsesGqaAndLongContext() {
        RooflineCostModel m = (RooflineCostModel) CostModels.parse("h100-llama3-8b");
        assertThat(m.kvBytesPerToken()).as("8 KV heads: a quarter of MHA").isEqualTo(128 * 1024);
        assertThat(m.maxContext()).isEqualTo(131072);
        assertThat(m.model().totalParams()).isCloseTo(8.03e9, withPercentage(1));
        // 80 GiB x 0.9 - 16.1 GB of weights - 2 GiB reserve, at 2 MiB per 16-token block.
        assertThat(m.kvBlocks()).isBetween(27_000, 29_500);
    }

    @Test
    void attentionIsQuadraticInPrefillAndLinearInDecode() {
        CostModel m = CostModels.parse("h100-llama3-8b");
        double t16k = prefill(m, 16_384);
        double t32k = prefill(m, 32_768);
        assertThat(t32k / t16k).as("long prefill grows faster than linear").isGreaterThan(2.05);
        double d1 = decode(m, 32, 1000);
        double d2 = decode(m, 32, 2000);
        double d3 = decode(m, 32, 3000);
        assertThat(d3 - d2).isCloseTo(d2 - d1, within(1e-9));
    }

    @Test
    void emptyStepIsFreeAndStepsAreMonotone() {
        CostModel m = CostModels.parse("a100-llama2-7b");
        assertThat(m.stepMs(new BatchShape())).isZero();
        double prev = 0;
        for (int n = 1; n < 5000; n += 97) {
            double t = prefill(m, n);
            assertThat(t).isGreaterThanOrEqualTo(prev);
            prev = t;
        }
    }

    @Test
    void readsProfileJson(@TempDir Path dir) throws Exception {
        Path f = dir.resolve("p.json");
        Files.writeString(f, """
                {"name":"cpu","prefill":[2,0.5,0.001,0.0001,0.01],"decode":[3,0.2,0.002],
                 "kv_blocks":100,"block_size":16,"max_context":2048}""");
        CostModel m = CostModels.parse("profile:" + f);
        assertThat(m.name()).isEqualTo("cpu");
        assertThat(m.kvBlocks()).isEqualTo(100);
        BatchShape s = new BatchShape().addChunk(100, 50, true).addDecode(10).addDecode(30);
        // A mixed step pays the prefill overhead c0 once, not b0 as well.
        double expected = 2 + 0.5 * 100 + 0.001 * 100 * 100 + 0.0001 * 100 * 50 + 0.01 * 50 + 0.2 * 2 + 0.002 * 40;
        assertThat(m.stepMs(s)).isCloseTo(expected, within(1e-9));
        assertThat(m.stepMs(new BatchShape().addDecode(10))).isCloseTo(3 + 0.2 + 0.002 * 10, within(1e-9));
    }

    @Test
    void badSpecsFailClearly(@TempDir Path dir) throws Exception {
        assertThatThrownBy(() -> CostModels.parse("v100-gpt3")).hasMessageContaining("unknown cost model");
        assertThatThrownBy(() -> CostModels.parse("profile:" + dir.resolve("missing.json")))
                .hasMessageContaining("does not exist");
        Path f = dir.resolve("bad.json");
        Files.writeString(f, "{\"prefill\":[1,2],\"decode\":[1,1,1],\"kv_blocks\":1,\"max_context\":8}");
        assertThatThrownBy(() -> CostModels.parse("profile:" + f)).hasMessageContaining("5 coefficients");
        Files.writeString(f, "{\"prefill\":[1,2,0,0,-1],\"decode\":[1,1,1],\"kv_blocks\":1,\"max_context\":8}");
        assertThatThrownBy(() -> CostModels.parse("profile:" + f)).hasMessageContaining(">= 0");
        Files.writeString(f, "{\"prefill\":[1,2,0,0,0],\"decode\":[1,1,1],\"max_context\":8}");
        assertThatThrownBy(() -> CostModels.parse("profile:" + f)).hasMessageContaining("kv_blocks");
        Files.writeString(f, "not json");
        assertThatThrownBy(() -> CostModels.parse("profile:" + f)).hasMessageContaining("not valid JSON");
    }
}
