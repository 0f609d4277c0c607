package io.sluice.job.profile;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import io.sluice.gpu.exec.CpuExecutor;
import io.sluice.gpu.model.CheckpointLoader;
import io.sluice.gpu.model.Weights;
import io.sluice.scheduling.LatencyModel;
import io.sluice.scheduling.LatencyModel.Sample;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

/** Profiling the real engine on the small GQA checkpoint: the grid is covered and the fit scales with work. */
class EngineProfilerTest {

    private static final Path MODEL =
            Path.of(System.getProperty("sluice.shared", "../shared"), "models", "stories260K.bin");

    @Test
    void measuresTheGridAndFitsAModelThatGrowsWithWork() {
        assumeTrue(Files.isRegularFile(MODEL), "needs ../shared/models/stories260K.bin");
        Weights weights = CheckpointLoader.load(MODEL);
        List<String> progress = new ArrayList<>();
        EngineProfiler.Profile profile;
        try (CpuExecutor executor = new CpuExecutor(weights,
                CpuExecutor.Options.defaults(weights.config()).withThreads(1).withMaxBatchTokens(256))) {
            profile = new EngineProfiler(executor, 7, progress::add).run(new EngineProfiler.Options(1, 0.25, 7));
            assertThat(executor.blockPool().freeCount()).as("every block given back")
                    .isEqualTo(executor.blockPool().capacity());
        }

        assertThat(progress).isNotEmpty();
        List<Sample> samples = profile.samples();
        assertThat(samples).anyMatch(s -> s.chunks() == 1 && s.sumCached() > 0);
        assertThat(samples).anyMatch(s -> s.chunks() == 4);
        assertThat(samples).filteredOn(Sample::decodeOnly).extracting(Sample::decodeBatch)
                .as("every size up to 8, where a step's cost bends, and powers of two up to 64")
                .contains(1, 2, 3, 4, 5, 6, 7, 8, 16, 32, 64);
        assertThat(samples).allMatch(s -> s.ms() > 0);

        LatencyModel model = profile.fit().model();
        assertThat(java.util.Arrays.stream(model.coefficients()).min().orElseThrow()).isGreaterThanOrEqualTo(0.0);
        assertThat(model.prefillChunkMs(256, 0)).as("a long chunk costs more than a short one")
                .isGreaterThan(model.prefillChunkMs(8, 0));
        assertThat(model.decodeMs(64, 64 * 256L)).as("a big decode batch costs more than one sequence")
                .isGreaterThan(model.decodeMs(1, 256));
        assertThat(profile.fit().mapePrefill()).isFinite();
        assertThat(profile.fit().mapeDecode()).isFinite();
    }
}
