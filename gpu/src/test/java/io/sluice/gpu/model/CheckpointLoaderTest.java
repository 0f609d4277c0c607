package io.sluice.gpu.model;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.sluice.gpu.TestData;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Loading llama2.c checkpoints, and the errors bad files give. */
class CheckpointLoaderTest {

    @TempDir
    Path dir;

    private Path tiny() {
        Path file = dir.resolve("tiny.bin");
        SyntheticCheckpoint.write(new ModelConfig(16, 32, 2, 4, 2, 20, 8, true), 1, file);
        return file;
    }

    @Test
    void readsStories260kWithGqa() {
        Weights w = CheckpointLoader.load(TestData.shared("models/stories260K.bin"));
        assertThat(w.config()).isEqualTo(new ModelConfig(64, 172, 5, 8, 4, 512, 512, true));
        assertThat(w.config().kvDim()).isEqualTo(32);
        assertThat(w.layer(4).w3().remaining()).isEqualTo(172 * 64);
    }

    @Test
    void truncatedFileIsNamedWithWhatIsMissing() throws IOException {
        Path file = tiny();
        byte[] bytes = Files.readAllBytes(file);
        Path cut = dir.resolve("cut.bin");
        Files.write(cut, Arrays.copyOf(bytes, bytes.length - 4));
        assertThatThrownBy(() -> CheckpointLoader.load(cut)).isInstanceOf(CheckpointException.class)
                .hasMessageContaining("cut.bin").hasMessageContaining("truncated")
                .hasMessageContaining(String.valueOf(bytes.length));
        Path stub = dir.resolve("stub.bin");
        Files.write(stub, new byte[10]);
        assertThatThrownBy(() -> CheckpointLoader.load(stub)).hasMessageContaining("stub.bin")
                .hasMessageContaining("header alone needs 28");
    }

    @Test
    void extraBytesMeanTheShapeDoesNotAddUp() throws IOException {
        Path file = tiny();
        Files.write(file, new byte[12], java.nio.file.StandardOpenOption.APPEND);
        assertThatThrownBy(() -> CheckpointLoader.load(file)).hasMessageContaining("tiny.bin")
                .hasMessageContaining("12 bytes unexplained");
    }

    @Test
    void badHeaderIsReportedAsSuch() throws IOException {
        Path file = tiny();
        byte[] bytes = Files.readAllBytes(file);
        ByteBuffer.wrap(bytes).order(ByteOrder.LITTLE_ENDIAN).putInt(12, 3); // n_heads 3 does not divide dim 16
        Files.write(file, bytes);
        assertThatThrownBy(() -> CheckpointLoader.load(file)).hasMessageContaining("bad header")
                .hasMessageContaining("not a multiple of n_heads");
        assertThatThrownBy(() -> CheckpointLoader.load(dir.resolve("absent.bin"))).hasMessageContaining("absent.bin")
                .hasMessageContaining("no such file");
    }

    @Test
    void negativeVocabularyMeansASeparateClassifier() throws IOException {
        Path file = tiny();
        byte[] bytes = Files.readAllBytes(file);
        int classifierBytes = 20 * 16 * Float.BYTES;
        ByteBuffer b = ByteBuffer.allocate(bytes.length + classifierBytes).order(ByteOrder.LITTLE_ENDIAN);
        b.put(bytes);
        b.putInt(20, -20);
        for (int i = 0; i < 20 * 16; i++) {
            b.putFloat(bytes.length + i * 4, i);
        }
        Path separate = dir.resolve("separate.bin");
        Files.write(separate, b.array());
        Weights w = CheckpointLoader.load(separate);
        assertThat(w.config().sharedClassifier()).isFalse();
        assertThat(w.classifier().get(37)).isEqualTo(37f);
        assertThat(w.tokenEmbedding().get(37)).isNotEqualTo(37f);
        assertThat(ModelConfig.fromHeader(w.config().toHeader())).isEqualTo(w.config());
    }
}
