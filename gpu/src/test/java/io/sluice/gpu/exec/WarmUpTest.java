package io.sluice.gpu.exec;

import static org.assertj.core.api.Assertions.assertThat;

import io.sluice.gpu.model.CheckpointLoader;
import io.sluice.gpu.model.SyntheticCheckpoint;
import io.sluice.gpu.model.Weights;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Warming the engine up leaves nothing behind. */
class WarmUpTest {

    @Test
    void runsAtLeastOnceAndGivesEveryBlockBack(@TempDir Path dir) {
        Path file = dir.resolve("m.bin");
        SyntheticCheckpoint.write(SyntheticCheckpoint.Shape.of("260k").config(), 3, file);
        Weights weights = CheckpointLoader.load(file);
        try (CpuExecutor ex = new CpuExecutor(weights, CpuExecutor.Options.defaults(weights.config()).withThreads(1))) {
            assertThat(WarmUp.run(ex, 0, 10)).isEqualTo(1);
            assertThat(WarmUp.run(ex, 60_000, 3)).isEqualTo(3);
            assertThat(ex.blockPool().freeCount()).isEqualTo(ex.blockPool().capacity());
        }
    }
}
