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
    void anUnreadableFileSaysWhyNotThePathAgain() {
        Path file = Path.of("m.bin");
        assertThat(CheckpointException.unreadable(file, new java.nio.file.AccessDeniedException("m.bin")))
                .hasMessage("m.bin: cannot read: permission denied");
        assertThat(CheckpointException.unreadable(file, new java.nio.file.FileSystemException("m.bin", null,
                "Input/output error"))).hasMessage("m.bin: cannot read: Input/output error");
        assertThat(CheckpointException.unreadable(file, new IOException("stream closed")))
                .hasMessage("m.bin: cannot read: stream closed");
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

    private Path withHeader(String name, int[] header, long bodyFloats) throws IOException {
        ByteBuffer b = ByteBuffer.allocate(ModelConfig.HEADER_BYTES + (int) bodyFloats * Float.BYTES)
                .order(ByteOrder.LITTLE_ENDIAN);
        for (int v : header) {
            b.putInt(v);
        }
        Path file = dir.resolve(name);
        Files.write(file, b.array());
        return file;
    }

    @Test
    void headerSizesThatOverflowIntArithmeticAreNotTakenForASmallModel() throws IOException {
        // dim * n_kv_heads = 65536 * 32768 = 2^31 wrapped: kv_dim came out -65536, and the file size the header
        // "needs" shrank to 458,754 floats; a file of exactly that size passed the size check.
        int[] header = {65536, 1, 1, 32768, 32768, 1, 1};
        assertThat(ModelConfig.fromHeader(header).kvDim()).isEqualTo(65536);
        Path file = withHeader("wrapped.bin", header, 458_754);
        assertThatThrownBy(() -> CheckpointLoader.load(file)).isInstanceOf(CheckpointException.class)
                .hasMessageContaining("wrapped.bin").hasMessageContaining("truncated");
    }

    @Test
    void aHeaderWhoseFileSizeExceedsALongIsABadHeader() throws IOException {
        // Every value valid on its own; the body would hold more than 2^63 floats (the sum wrapped negative).
        Path file = withHeader("huge.bin", new int[] {1 << 30, Integer.MAX_VALUE, Integer.MAX_VALUE, 1 << 29, 1 << 29,
            Integer.MAX_VALUE, Integer.MAX_VALUE}, 0);
        assertThatThrownBy(() -> CheckpointLoader.load(file)).isInstanceOf(CheckpointException.class)
                .hasMessageContaining("huge.bin").hasMessageContaining("bad header").hasMessageContaining("too large");
    }

    @Test
    void theMostNegativeVocabularyIsRefusedForWhatItIs() {
        // Math.abs(Integer.MIN_VALUE) is still negative: the message said "must be non-zero, got -2147483648".
        int[] header = {16, 32, 2, 4, 2, Integer.MIN_VALUE, 8};
        assertThatThrownBy(() -> ModelConfig.fromHeader(header)).isInstanceOf(IllegalArgumentException.class)
                .hasMessageNotContaining("non-zero").hasMessageContaining("vocab_size -2147483648");
    }
}
