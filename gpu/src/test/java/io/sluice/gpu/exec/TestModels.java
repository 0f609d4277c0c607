package io.sluice.gpu.exec;

import io.sluice.gpu.model.CheckpointLoader;
import io.sluice.gpu.model.ModelConfig;
import io.sluice.gpu.model.SyntheticCheckpoint;
import io.sluice.gpu.model.Weights;
import java.nio.file.Path;

/** Small synthetic models for engine tests. */
final class TestModels {

    /**
     * Grouped-query attention with a head size the vector path takes (32), and a hidden size and vocabulary that
     * are not multiples of the vector length (partial panels); weights large enough that greedy output varies.
     */
    static final ModelConfig ODD_GQA = new ModelConfig(128, 200, 2, 4, 2, 300, 128, true);

    private TestModels() {
    }

    static Weights write(Path dir, ModelConfig config, double scale) {
        Path file = dir.resolve("model-" + config.dim() + "-" + scale + ".bin");
        SyntheticCheckpoint.write(config, 42, scale, file, p -> { });
        return CheckpointLoader.load(file);
    }

    static CpuExecutor executor(Weights w, int threads, int blocks) {
        return new CpuExecutor(w, CpuExecutor.Options.defaults(w.config()).withThreads(threads).withKvBlocks(blocks)
                .withMaxBatchTokens(256));
    }
}
