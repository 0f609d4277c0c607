package io.sluice.job.pipeline;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.within;

import io.sluice.gpu.model.ModelConfig;
import io.sluice.job.sim.BatchShape;
import io.sluice.job.sim.ProfileCostModel;
import io.sluice.scheduling.LatencyModel;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Profile files: b3 in its own field, read as 0 from a profile written before it existed. */
class LatencyProfilesTest {

    private static final String BODY = "\"prefill\": [1.0, 0.04, 2e-5, 9e-5, 1e-3], \"decode\": [0.9, 0.075, 5e-4], "
            + "\"kv_blocks\": 1024, \"block_size\": 16, \"max_context\": 256";

    @Test
    void readsB3FromItsFieldAndZeroWithoutIt(@TempDir Path dir) throws Exception {
        Path current = Files.writeString(dir.resolve("new.json"), "{" + BODY + ", \"decode_first_tile\": 0.06, \"decode_tile\": 0.2}");
        Path old = Files.writeString(dir.resolve("old.json"), "{" + BODY + "}");

        double[] c = LatencyProfiles.load(current);
        assertThat(c).hasSize(LatencyModel.COEFFICIENTS);
        assertThat(c[5]).isEqualTo(0.9);
        assertThat(c[8]).as("b3").isEqualTo(0.06);
        assertThat(c[9]).as("b4").isEqualTo(0.2);
        assertThat(LatencyProfiles.load(old)[8]).as("b3 of an old profile").isZero();
        assertThat(LatencyProfiles.load(old)[9]).as("b4 of an old profile").isZero();
        assertThat(new LatencyModel(c, 1, 1).decodeMs(1, 64)).isCloseTo(0.9 + 0.075 + 64 * 5e-4 + 0.06 + 0.2,
                org.assertj.core.api.Assertions.within(1e-12));
        // The simulator's reader of the same file prices a step as the engine's estimator does, tiles included.
        ProfileCostModel cost = ProfileCostModel.read(current);
        assertThat(cost.maxContext()).isEqualTo(256);
        LatencyModel model = new LatencyModel(c, 1, 1);
        BatchShape decode = new BatchShape();
        for (int i = 0; i < 9; i++) {
            decode.addDecode(40 + i);
        }
        assertThat(cost.stepMs(decode)).as("9 decodes: 3 tiles").isEqualTo(model.decodeMs(9, 9 * 40 + 36))
                .isCloseTo(0.9 + 9 * 0.075 + 396 * 5e-4 + 4 * 0.06 + 3 * 0.2, within(1e-12));
        BatchShape mixed = new BatchShape().addChunk(100, 20, true).addDecode(50).addDecode(60);
        assertThat(cost.stepMs(mixed)).as("a chunk and 2 decodes: one overhead, the decodes' share of a tile")
                .isCloseTo(1.0 + 0.04 * 100 + 2e-5 * 1e4 + 9e-5 * 2000 + 1e-3 * 20 + 2 * 0.075 + 110 * 5e-4 + 0.2 / 2,
                        within(1e-12));
        assertThat(ProfileCostModel.read(old).stepMs(decode)).as("an old profile: no tile terms")
                .isCloseTo(0.9 + 9 * 0.075 + 396 * 5e-4, within(1e-12));
    }

    @Test
    void rejectsAB3ThatIsNotANonNegativeNumber(@TempDir Path dir) throws Exception {
        Path text = Files.writeString(dir.resolve("a.json"), "{" + BODY + ", \"decode_first_tile\": \"x\"}");
        Path negative = Files.writeString(dir.resolve("b.json"), "{" + BODY + ", \"decode_first_tile\": -1}");
        assertThatThrownBy(() -> LatencyProfiles.load(text)).hasMessageContaining("decode_first_tile");
        assertThatThrownBy(() -> LatencyProfiles.load(negative)).hasMessageContaining("b3");
    }

    @Test
    void priorHasEveryCoefficientAndNoTileTerms() {
        double[] prior = LatencyProfiles.prior(new ModelConfig(288, 768, 6, 6, 6, 32000, 256, true), 2);
        assertThat(prior).hasSize(LatencyModel.COEFFICIENTS);
        assertThat(prior[8] + prior[9]).as("b3 and b4, left to the online refit").isZero();
    }
}
