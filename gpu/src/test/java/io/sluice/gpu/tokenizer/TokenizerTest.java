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
    void aFileTooLargeToBeATokenizerIsNamedNotReadIntoMemory() throws IOException {
        // A model checkpoint passed as --tokenizer (a 7B one is 27 GB): reading it whole threw OutOfMemoryError
        // ("Required array size too large"), a stack trace instead of a message. Sparse: no disk is used.
        Path huge = dir.resolve("llama2_7b.bin");
        try (java.io.RandomAccessFile f = new java.io.RandomAccessFile(huge.toFile(), "rw")) {
            f.writeInt(Integer.reverseBytes(27)); // a plausible max_token_length, so only the size is wrong
            f.setLength(3L << 30);
        }
        assertThatThrownBy(() -> Tokenizer.pieceCount(huge)).isInstanceOf(CheckpointException.class)
                .hasMessageContaining("llama2_7b.bin").hasMessageContaining("too large");
        assertThatThrownBy(() -> Tokenizer.load(huge, 32000)).isInstanceOf(CheckpointException.class)
                .hasMessageContaining("llama2_7b.bin").hasMessageContaining("too large");
    }

    @Test
    void pieceCountCountsThePiecesTheFileHolds() throws IOException {
        assertThat(Tokenizer.pieceCount(tokenizerFile(4, "a", "b", "cd"))).isEqualTo(3);
        assertThatThrownBy(() -> Tokenizer.pieceCount(tokenizerFile(1, "a", "cd"))).isInstanceOf(CheckpointException.class)
                .hasMessageContaining("piece 1 has length 2");
        Path cut = tokenizerFile(4, "a", "b");
        Files.write(cut, Arrays.copyOf(Files.readAllBytes(cut), (int) Files.size(cut) - 3));
        assertThatThrownBy(() -> Tokenizer.pieceCount(cut)).hasMessageContaining("tok.bin").hasMessageContaining("truncated");
    }

    /**
     * llama2.c's {@code encode}, transcribed (a rescan of every pair after each merge), over the pieces and scores
     * read from the file here: the tokenizer's heap-based merge must give exactly its ids, ties included.
     */
    private static final class RunC {
        final String[] pieces = new String[32000]; // one char per byte (ISO-8859-1)
        final float[] scores = new float[32000];
        final java.util.Map<String, Integer> ids = new java.util.HashMap<>();

        RunC(Path file) throws IOException {
            ByteBuffer in = ByteBuffer.wrap(Files.readAllBytes(file)).order(ByteOrder.LITTLE_ENDIAN);
            in.getInt();
            for (int i = 0; i < pieces.length; i++) {
                scores[i] = in.getFloat();
                byte[] bytes = new byte[in.getInt()];
                in.get(bytes);
                pieces[i] = new String(bytes, java.nio.charset.StandardCharsets.ISO_8859_1);
                ids.putIfAbsent(pieces[i], i);
            }
        }

        int[] encode(String text) {
            String bytes = new String(text.getBytes(java.nio.charset.StandardCharsets.UTF_8),
                    java.nio.charset.StandardCharsets.ISO_8859_1);
            java.util.List<Integer> tokens = new java.util.ArrayList<>(java.util.List.of(1));
            if (!bytes.isEmpty()) {
                tokens.add(ids.get(" "));
            }
            for (int i = 0; i < bytes.length(); ) {
                int end = i + 1;
                while (end < bytes.length() && (bytes.charAt(end) & 0xC0) == 0x80 && end - i < 4) {
                    end++;
                }
                Integer id = ids.get(bytes.substring(i, end));
                if (id != null) {
                    tokens.add(id);
                } else {
                    for (int k = i; k < end; k++) {
                        tokens.add(bytes.charAt(k) + 3);
                    }
                }
                i = end;
            }
            while (true) {
                float best = -1e10f;
                int bestId = -1;
                int bestAt = -1;
                for (int i = 0; i + 1 < tokens.size(); i++) {
                    Integer id = ids.get(pieces[tokens.get(i)] + pieces[tokens.get(i + 1)]);
                    if (id != null && scores[id] > best) {
                        best = scores[id];
                        bestId = id;
                        bestAt = i;
                    }
                }
                if (bestAt < 0) {
                    return tokens.stream().mapToInt(Integer::intValue).toArray();
                }
                tokens.set(bestAt, bestId);
                tokens.remove(bestAt + 1);
            }
        }
    }

    @Test
    void encodesExactlyAsRunCsPairByPairScanOnManyTexts() throws IOException {
        RunC runC = new RunC(TestData.shared("models/tokenizer.bin"));
        String[] words = {"Once", "upon", "a", "time", ",", ".", " ", "  ", "\n", "\t", "aaaa", "abab", "the", "The",
            "héllo", "wörld", "日本語", "🙂", "ǅ", "1234567", "!!", "--", "'s", "didn't", "lily", "Lily", "a\u0000b"};
        java.util.SplittableRandom rnd = new java.util.SplittableRandom(11);
        for (int trial = 0; trial < 200; trial++) {
            StringBuilder text = new StringBuilder();
            int n = rnd.nextInt(trial % 10 == 0 ? 200 : 30);
            for (int i = 0; i < n; i++) {
                text.append(words[rnd.nextInt(words.length)]);
                if (rnd.nextInt(3) > 0) {
                    text.append(' ');
                }
            }
            String t = text.toString();
            assertThat(llama().encode(t)).as("ids of %s", t).containsExactly(runC.encode(t));
        }
        for (String t : new String[] {"a".repeat(300), " ".repeat(100), "ab".repeat(200), "日本".repeat(50)}) {
            assertThat(llama().encode(t)).as("ids of a run of %d chars", t.length()).containsExactly(runC.encode(t));
        }
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

    /** A tokenizer of the llama2.c layout: the three specials, the 256 byte pieces, then {@code extra}. */
    private Tokenizer withBytePieces(String... extra) throws IOException {
        java.io.ByteArrayOutputStream out = new java.io.ByteArrayOutputStream();
        ByteBuffer b = ByteBuffer.allocate(64).order(ByteOrder.LITTLE_ENDIAN);
        java.util.List<byte[]> pieces = new java.util.ArrayList<>();
        for (String s : new String[] {"<unk>", "<s>", "</s>"}) {
            pieces.add(s.getBytes(java.nio.charset.StandardCharsets.UTF_8));
        }
        for (int i = 0; i < 256; i++) {
            pieces.add(String.format("<0x%02X>", i).getBytes(java.nio.charset.StandardCharsets.UTF_8));
        }
        for (String s : extra) {
            pieces.add(s.getBytes(java.nio.charset.StandardCharsets.UTF_8));
        }
        out.write(b.putInt(0, 16).array(), 0, 4);
        for (int i = 0; i < pieces.size(); i++) {
            b.clear();
            b.putFloat(-i).putInt(pieces.get(i).length).put(pieces.get(i));
            out.write(b.array(), 0, b.position());
        }
        Path file = dir.resolve("bytes.bin");
        Files.write(file, out.toByteArray());
        return Tokenizer.load(file, pieces.size());
    }

    @Test
    void streamedTokenTextsAreTheTextEvenWhenACharacterIsSplitOverByteTokens() throws IOException {
        Tokenizer t = withBytePieces(" ", "a", "b", " a", "ab");
        String text = "ab é 🙂a 日本b";
        int[] ids = t.encode(text); // BOS, then the generated tokens as a model would emit them
        assertThat(Arrays.stream(ids).filter(i -> i >= 3 && i <= 258).count()).as("byte pieces in %s",
                Arrays.toString(ids)).isGreaterThanOrEqualTo(12);
        StringBuilder streamed = new StringBuilder();
        for (int i = 1; i < ids.length; i++) {
            String piece = t.streamText(j -> ids[j], 1, i);
            assertThat(piece).as("text of token %d (%d)", i, ids[i]).doesNotContain("\uFFFD");
            streamed.append(piece);
        }
        assertThat(streamed.toString()).isEqualTo(text);
        // A token on its own cannot say this: the first byte of é alone is no text.
        int firstByteOfE = 3 + 0xC3;
        assertThat(new String(t.decodePiece(ids[0], firstByteOfE), java.nio.charset.StandardCharsets.UTF_8))
                .isEqualTo("\uFFFD");
    }

    @Test
    void streamedTokenTextsAgreeWithAStatefulTextStreamOnAnyBytes() throws IOException {
        Tokenizer t = withBytePieces(" ", "a", "é", " a");
        java.util.SplittableRandom rnd = new java.util.SplittableRandom(7);
        for (int trial = 0; trial < 300; trial++) {
            int[] ids = new int[1 + rnd.nextInt(40)];
            ids[0] = rnd.nextInt(4) == 0 ? Tokenizer.BOS : 3 + rnd.nextInt(256); // the prompt's last token
            for (int i = 1; i < ids.length; i++) {
                int kind = rnd.nextInt(10);
                ids[i] = kind < 2 ? 259 + rnd.nextInt(4) // a text piece
                        : kind < 5 ? 3 + 0x80 + rnd.nextInt(64) // a continuation byte
                        : kind < 8 ? 3 + 0xC2 + rnd.nextInt(0xF5 - 0xC2) // a lead byte
                        : 3 + rnd.nextInt(256);
            }
            TextStream stateful = new TextStream();
            for (int i = 1; i < ids.length; i++) {
                String expected = stateful.push(t.decodePiece(ids[i - 1], ids[i]));
                assertThat(t.streamText(j -> ids[j], 1, i)).as("token %d of %s", i, Arrays.toString(ids))
                        .isEqualTo(expected);
            }
        }
    }
}
