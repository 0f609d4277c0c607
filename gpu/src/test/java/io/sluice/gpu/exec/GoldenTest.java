package io.sluice.gpu.exec;

import static org.assertj.core.api.Assertions.assertThat;

import io.sluice.gpu.TestData;
import io.sluice.gpu.model.CheckpointLoader;
import io.sluice.gpu.model.SyntheticCheckpoint;
import io.sluice.gpu.model.Weights;
import io.sluice.gpu.sampling.SamplingParams;
import io.sluice.gpu.tokenizer.Tokenizer;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Greedy outputs equal llama2.c run.c's, all 256 positions (the shared reference files). */
class GoldenTest {

    @TempDir
    Path dir;

    private int[] greedy(Weights weights, int[] prompt, int steps) {
        try (CpuExecutor ex = new CpuExecutor(weights, CpuExecutor.Options.defaults(weights.config())
                .withThreads(2).withKvBlocks(64))) {
            return Generator.generate(ex, prompt, steps, SamplingParams.GREEDY, t -> { }).ids();
        }
    }

    private void syntheticMatches(SyntheticCheckpoint.Shape shape, String reference) {
        Path ids = TestData.shared("models/reference/" + reference);
        Tokenizer tokenizer = Tokenizer.load(TestData.shared("models/tokenizer.bin"), 32000);
        Path model = dir.resolve(shape.label() + ".bin");
        SyntheticCheckpoint.write(shape.config(), 1234, model);
        int[] got = greedy(CheckpointLoader.load(model), tokenizer.encode("Once upon a time"), 256);
        assertThat(got).as("greedy ids of synthetic %s, seed 1234", shape).containsExactly(TestData.ids(ids));
    }

    @Test
    void synthetic15mMatchesRunC() {
        syntheticMatches(SyntheticCheckpoint.Shape.S15M, "rand15M_prompt.ids");
    }

    @Test
    void synthetic42mMatchesRunC() {
        syntheticMatches(SyntheticCheckpoint.Shape.S42M, "rand42M_prompt.ids");
    }

    @Test
    void stories260kFromBosMatchesRunC() {
        Weights w = CheckpointLoader.load(TestData.shared("models/stories260K.bin"));
        int[] expected = TestData.ids(TestData.shared("models/reference/stories260K_noprompt.ids"));
        assertThat(greedy(w, new int[] {Tokenizer.BOS}, 256)).containsExactly(expected);
    }
}
