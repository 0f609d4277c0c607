package io.sluice.gpu.model;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.DigestInputStream;
import java.security.MessageDigest;
import java.util.HexFormat;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Synthetic checkpoints follow the shared recipe byte for byte. */
class SyntheticCheckpointTest {

    @TempDir
    Path dir;

    static String sha256(Path file) throws Exception {
        MessageDigest md = MessageDigest.getInstance("SHA-256");
        try (InputStream in = new DigestInputStream(Files.newInputStream(file), md)) {
            in.transferTo(java.io.OutputStream.nullOutputStream());
        }
        return HexFormat.of().formatHex(md.digest());
    }

    @Test
    void seed1234Of15mMatchesThePublishedSha256() throws Exception {
        Path file = dir.resolve("rand15M.bin");
        SyntheticCheckpoint.write(SyntheticCheckpoint.Shape.S15M.config(), 1234, file);
        assertThat(Files.size(file)).isEqualTo(60_816_028L);
        assertThat(sha256(file)).isEqualTo("1d9e15f3dcde494f292307d7faed56f9bdb11bb443a728244608f4b5952d22d4");
    }

    @Test
    void sizesOfTheStandardShapesMatchTheTable() {
        assertThat(SyntheticCheckpoint.Shape.S15M.config().fileBytes()).isEqualTo(60_816_028L);
        assertThat(SyntheticCheckpoint.Shape.S42M.config().fileBytes()).isEqualTo(167_020_572L);
        assertThat(SyntheticCheckpoint.Shape.S110M.config().fileBytes()).isEqualTo(438_381_596L);
        assertThat(SyntheticCheckpoint.Shape.S260K.config().fileBytes()).isEqualTo(1_056_540L);
    }

    @Test
    void writtenCheckpointLoadsBackWithTheRecipeValues() throws IOException {
        Path file = dir.resolve("tiny.bin");
        ModelConfig config = SyntheticCheckpoint.Shape.S260K.config();
        SyntheticCheckpoint.write(config, 7, 0.5, file, p -> { });
        Weights w = CheckpointLoader.load(file);
        assertThat(w.config()).isEqualTo(config);
        assertThat(w.tokenEmbedding().get(0)).isEqualTo((float) SyntheticCheckpoint.uniform(7, 0, 0.5));
        long rmsAttStart = (long) config.vocabSize() * config.dim();
        assertThat(w.layer(0).rmsAtt().get(3)).isEqualTo((float) (1.0 + SyntheticCheckpoint.uniform(7, rmsAttStart + 3, 0.5)));
        assertThat(w.classifier().get(5)).isEqualTo(w.tokenEmbedding().get(5));
    }

    @Test
    void aScaleNoFloatHoldsIsRefusedAndWritesNothing() {
        Path file = dir.resolve("inf.bin");
        ModelConfig config = SyntheticCheckpoint.Shape.S260K.config();
        assertThatThrownBy(() -> SyntheticCheckpoint.write(config, 1, 1e39, file, p -> { }))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("weights are floats");
        assertThat(file).doesNotExist();
    }

    @Test
    void unknownShapeIsRejectedWithTheChoices() {
        assertThatThrownBy(() -> SyntheticCheckpoint.Shape.of("7b")).hasMessageContaining("260k, 15m, 42m, 110m");
    }
}
