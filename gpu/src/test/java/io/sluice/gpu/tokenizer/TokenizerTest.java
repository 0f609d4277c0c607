package io.sluice.gpu.tokenizer;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.sluice.gpu.TestData;
import io.sluice.gpu.model.CheckpointException;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/** The llama2.c tokenizer: encoding as run.c does, decoding, and bad files. */
class TokenizerTest {

    static Tokenizer llama;

    @TempDir
    Path dir;

    @BeforeAll
    static void load() {
        String root = System.getProperty("sluice.shared");
        Path file = root == null ? null : Path.of(root, "models/tokenizer.bin");
        llama = file != null && Files.isRegularFile(file) ? Tokenizer.load(file, 32000) : null;
    }

    private static Tokenizer llama() {
        TestData.shared("models/tokenizer.bin");
        return llama;
    }

    @Test
    void encodesLikeRunC() {
        assertThat(llama().encode("Once upon a time")).containsExactly(1, 9038, 2501, 263, 931);
        assertThat(llama().encode("Once upon a time", false, true)).containsExactly(9038, 2501, 263, 931, 2);
        assertThat(llama().encode("")).containsExactly(1);
    }

    @ParameterizedTest
    @ValueSource(strings = {"Once upon a time, there was a little girl.", "  two  spaces\tand a tab\n",
        "héllo wörld", "日本語のテキスト", "emoji 🙂🚀 and ǅ", "a\u0000b"})
    void decodeOfEncodeIsTheText(String text) {
        assertThat(llama().decode(llama().encode(text))).isEqualTo(text);
    }

    @Test
    void unknownCharactersFallBackToBytePieces() {
        int[] ids = llama().encode("🙂");
        // BOS, the dummy-prefix space, then the 4 UTF-8 bytes of the emoji as <0xNN> pieces (ids 3..258).
        assertThat(ids).startsWith(1);
        assertThat(Arrays.stream(ids).skip(1).filter(i -> i >= 3 && i <= 258).count()).isGreaterThanOrEqualTo(4);
        assertThat(llama().decodePiece(5, 3 + 0xF0)).containsExactly((byte) 0xF0);
    }

    @Test
    void textStreamHoldsBackASplitCharacterUntilItIsComplete() {
        TextStream stream = new TextStream();
        byte[] smile = "🙂".getBytes(java.nio.charset.StandardCharsets.UTF_8);
        assertThat(stream.push("a".getBytes())).isEqualTo("a");
        assertThat(stream.push(Arrays.copyOfRange(smile, 0, 2))).isEmpty();
        assertThat(stream.push(Arrays.copyOfRange(smile, 2, 4))).isEqualTo("🙂");
        assertThat(stream.push(new byte[] {(byte) 0xE6})).isEmpty();
        assertThat(stream.finish()).isEqualTo("\uFFFD");
    }

    @Test
    void leadingSpaceIsDroppedOnlyAfterBos() {
        int once = 9038; // " Once"
        assertThat(new String(llama().decodePiece(Tokenizer.BOS, once))).isEqualTo("Once");
        assertThat(new String(llama().decodePiece(263, once))).isEqualTo(" Once");
    }

    private Path tokenizerFile(int maxLen, String... pieces) throws IOException {
        ByteBuffer b = ByteBuffer.allocate(4096).order(ByteOrder.LITTLE_ENDIAN);
        b.putInt(maxLen);
        for (String p : pieces) {
            b.putFloat(0f).putInt(p.length()).put(p.getBytes());
        }
        Path file = dir.resolve("tok.bin");
        Files.write(file, Arrays.copyOf(b.array(), b.position()));
        return file;
    }

    @Test
    void badFilesGiveClearErrors() throws IOException {
        Path missing = dir.resolve("nope.bin");
        assertThatThrownBy(() -> Tokenizer.load(missing, 10)).isInstanceOf(CheckpointException.class)
                .hasMessageContaining("nope.bin").hasMessageContaining("no such");
        Path two = tokenizerFile(4, "a", "b");
        assertThatThrownBy(() -> Tokenizer.load(two, 3)).hasMessageContaining("tok.bin")
                .hasMessageContaining("truncated at piece 2");
        assertThatThrownBy(() -> Tokenizer.load(two, 1)).hasMessageContaining("bytes left after 1 pieces");
        Path badHeader = tokenizerFile(-5, "a");
        assertThatThrownBy(() -> Tokenizer.load(badHeader, 1)).hasMessageContaining("bad header");
        Path tooLong = tokenizerFile(2, "abc");
        assertThatThrownBy(() -> Tokenizer.load(tooLong, 1)).hasMessageContaining("piece 0 has length 3");
    }

    @Test
    void mergesTheBestScoringPairFirst() throws IOException {
        // pieces: 0 <unk>, 1 <s>, 2 </s>, then " ", "a", "b", " a", "ab", " ab"; "ab" outscores " a".
        ByteBuffer b = ByteBuffer.allocate(1024).order(ByteOrder.LITTLE_ENDIAN);
        String[] pieces = {"<unk>", "<s>", "</s>", " ", "a", "b", " a", "ab", " ab"};
        float[] scores = {0, 0, 0, 0, 0, 0, -5, -1, -2};
        b.putInt(5);
        for (int i = 0; i < pieces.length; i++) {
            b.putFloat(scores[i]).putInt(pieces[i].length()).put(pieces[i].getBytes());
        }
        Path file = dir.resolve("small.bin");
        Files.write(file, Arrays.copyOf(b.array(), b.position()));
        Tokenizer t = Tokenizer.load(file, pieces.length);
        // " ", "a", "b" -> " ", "ab" (score -1 beats " a" at -5) -> " ab"
        assertThat(t.encode("ab")).containsExactly(1, 8);
        assertThat(t.decode(new int[] {1, 8})).isEqualTo("ab");
    }
}
