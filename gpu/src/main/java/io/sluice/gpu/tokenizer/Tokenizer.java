package io.sluice.gpu.tokenizer;

import io.sluice.gpu.model.CheckpointException;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.HashMap;
import java.util.Map;
import java.util.PriorityQueue;
import java.util.function.IntUnaryOperator;

/**
 * The llama2.c tokenizer: byte-level BPE pieces with merge scores and {@code <0xNN>} byte fallback. Encoding and
 * decoding give what llama2.c's {@code run.c} gives (its merge order exactly, found faster), so ids match what it
 * feeds the model.
 */
public final class Tokenizer {

    /** Id of the unknown piece. */
    public static final int UNK = 0;
    /** Id of the beginning-of-sequence piece. */
    public static final int BOS = 1;
    /** Id of the end-of-sequence piece. */
    public static final int EOS = 2;
    /** Id of the first byte-fallback piece {@code <0x00>}. */
    private static final int BYTE_OFFSET = 3;
    /** A merge must score above this, as in llama2.c's {@code encode}. */
    private static final float MIN_MERGE_SCORE = -1e10f;

    private final byte[][] pieces;
    private final float[] scores;
    private final Map<Piece, Integer> ids;
    private final int maxTokenLength;
    private final int[] byteValue; // the byte a <0xNN> piece stands for, or -1

    private Tokenizer(byte[][] pieces, float[] scores, int maxTokenLength) {
        this.pieces = pieces;
        this.scores = scores;
        this.maxTokenLength = maxTokenLength;
        this.ids = new HashMap<>(pieces.length * 2);
        this.byteValue = new int[pieces.length];
        for (int i = 0; i < pieces.length; i++) {
            ids.putIfAbsent(new Piece(pieces[i]), i);
            byteValue[i] = parseBytePiece(pieces[i]);
        }
    }

    /** Reads a llama2.c {@code tokenizer.bin} with {@code vocabSize} pieces; a bad file throws a {@link CheckpointException}. */
    public static Tokenizer load(Path file, int vocabSize) {
        if (vocabSize <= 0) {
            throw new IllegalArgumentException("vocab size must be positive, got " + vocabSize);
        }
        ByteBuffer in = readPastHeader(file);
        int maxTokenLength = in.getInt(0);
        byte[][] pieces = new byte[vocabSize][];
        float[] scores = new float[vocabSize];
        for (int i = 0; i < vocabSize; i++) {
            if (in.remaining() < 8) {
                throw new CheckpointException(file, "truncated at piece " + i + " of " + vocabSize
                        + " (does the model's vocabulary size match this tokenizer?)");
            }
            scores[i] = in.getFloat();
            pieces[i] = readPiece(file, in, i, maxTokenLength);
        }
        if (in.hasRemaining()) {
            throw new CheckpointException(file, in.remaining() + " bytes left after " + vocabSize
                    + " pieces: the tokenizer does not match a vocabulary of " + vocabSize);
        }
        return new Tokenizer(pieces, scores, maxTokenLength);
    }

    /**
     * The number of pieces in a llama2.c {@code tokenizer.bin}. The file does not state it (the model's vocab_size
     * does), so the pieces are counted to its end: what a command checks against a model before it serves both.
     * A bad file throws a {@link CheckpointException}.
     */
    public static int pieceCount(Path file) {
        ByteBuffer in = readPastHeader(file);
        int maxTokenLength = in.getInt(0);
        int count = 0;
        while (in.hasRemaining()) {
            if (in.remaining() < 8) {
                throw new CheckpointException(file, "truncated after piece " + count + ": " + in.remaining()
                        + " bytes left, not a whole piece header");
            }
            in.getFloat(); // the score
            readPiece(file, in, count, maxTokenLength);
            count++;
        }
        return count;
    }

    /** Piece {@code i}'s length and bytes (its score read before), checked against the header and the file's end. */
    private static byte[] readPiece(Path file, ByteBuffer in, int i, int maxTokenLength) {
        int len = in.getInt();
        if (len < 0 || len > maxTokenLength || len > in.remaining()) {
            throw new CheckpointException(file, "piece " + i + " has length " + len + " (max_token_length "
                    + maxTokenLength + ", " + in.remaining() + " bytes left): corrupt or truncated");
        }
        byte[] piece = new byte[len];
        in.get(piece);
        return piece;
    }

    /** The whole file, positioned after its header (max_token_length, checked; at index 0). */
    private static ByteBuffer readPastHeader(Path file) {
        byte[] data;
        try {
            // The file is read whole, and no Java array holds 2 GB: a larger one (a model checkpoint given as the
            // tokenizer, say) threw OutOfMemoryError from readAllBytes. The Llama 2 tokenizer is 434 KB.
            long size = Files.size(file);
            if (size > Integer.MAX_VALUE - 8) {
                throw new CheckpointException(file, size + " bytes, too large for a llama2.c tokenizer (a model "
                        + "checkpoint?)");
            }
            data = Files.readAllBytes(file);
        } catch (NoSuchFileException e) {
            throw new CheckpointException(file, "no such tokenizer file", e);
        } catch (IOException e) {
            throw CheckpointException.unreadable(file, e);
        }
        ByteBuffer in = ByteBuffer.wrap(data).order(ByteOrder.LITTLE_ENDIAN);
        if (in.remaining() < Integer.BYTES) {
            throw new CheckpointException(file, "truncated: " + data.length + " bytes, not a llama2.c tokenizer");
        }
        int maxTokenLength = in.getInt();
        if (maxTokenLength <= 0 || maxTokenLength > 1 << 16) {
            throw new CheckpointException(file, "bad header: max_token_length " + maxTokenLength
                    + " (not a llama2.c tokenizer file?)");
        }
        return in;
    }

    /** Length in bytes of the longest piece, as the file header states it. */
    public int maxTokenLength() {
        return maxTokenLength;
    }

    public int vocabSize() {
        return pieces.length;
    }

    /** The raw bytes of piece {@code id}. */
    public byte[] piece(int id) {
        return pieces[checkId(id)].clone();
    }

    /** {@code text} as llama2.c encodes it: BOS, a dummy-prefix space, then the best-scoring merges. */
    public int[] encode(String text) {
        return encode(text, true, false);
    }

    /** Encodes {@code text} (UTF-8), with an optional leading BOS and trailing EOS. */
    public int[] encode(String text, boolean bos, boolean eos) {
        byte[] bytes = text.getBytes(StandardCharsets.UTF_8);
        int[] tokens = new int[bytes.length + 3];
        int n = 0;
        if (bos) {
            tokens[n++] = BOS;
        }
        if (bytes.length > 0) {
            // sentencepiece's add_dummy_prefix: a space in front of the text
            Integer space = ids.get(new Piece(new byte[] {' '}));
            if (space != null) {
                tokens[n++] = space;
            }
        }
        // One token per UTF-8 code point (at most 4 bytes), or one byte-fallback token per byte.
        int i = 0;
        while (i < bytes.length) {
            int end = i + 1;
            while (end < bytes.length && (bytes[end] & 0xC0) == 0x80 && end - i < 4) {
                end++;
            }
            Integer id = ids.get(new Piece(Arrays.copyOfRange(bytes, i, end)));
            if (id != null) {
                tokens[n++] = id;
            } else {
                for (int b = i; b < end; b++) {
                    tokens[n++] = (bytes[b] & 0xFF) + BYTE_OFFSET;
                }
            }
            i = end;
        }
        n = merge(tokens, n);
        if (eos) {
            tokens[n++] = EOS;
        }
        return Arrays.copyOf(tokens, n);
    }

    /**
     * Merges {@code tokens[0, n)} as llama2.c does: again and again the adjacent pair whose concatenation is the
     * best-scoring piece, the leftmost among equal scores, until no pair is a piece; returns the new length.
     * llama2.c rescans every pair after each merge (quadratic: 2 s for a 16 KB prompt); here the candidate pairs
     * wait in a priority queue by (score, position) and the tokens form a linked list, so a merge costs a log and
     * the same merges happen in the same order. An entry is still good when the pair now at its position is the
     * piece of its score; else that pair changed since, and the entry is skipped.
     */
    private int merge(int[] tokens, int n) {
        if (n < 2) {
            return n;
        }
        int[] next = new int[n];
        int[] prev = new int[n];
        for (int i = 0; i < n; i++) {
            prev[i] = i - 1;
            next[i] = i + 1 < n ? i + 1 : -1;
        }
        PriorityQueue<Long> candidates = new PriorityQueue<>();
        for (int i = 0; i + 1 < n; i++) {
            offer(candidates, tokens, i, i + 1);
        }
        Long candidate;
        while ((candidate = candidates.poll()) != null) {
            int left = (int) (candidate & 0xFFFFFFFFL);
            int right = next[left];
            if (right < 0) {
                continue; // the last token, or merged into its left neighbour since
            }
            int merged = pairId(tokens[left], tokens[right]);
            if (merged < 0 || candidateKey(scores[merged], left) != candidate) {
                continue;
            }
            tokens[left] = merged;
            next[left] = next[right];
            if (next[right] >= 0) {
                prev[next[right]] = left;
            }
            next[right] = -2;
            if (prev[left] >= 0) {
                offer(candidates, tokens, prev[left], left);
            }
            if (next[left] >= 0) {
                offer(candidates, tokens, left, next[left]);
            }
        }
        int out = 0;
        for (int i = 0; i >= 0; i = next[i]) {
            tokens[out++] = tokens[i];
        }
        return out;
    }

    /** The piece two adjacent tokens make together, or -1 when there is none worth merging. */
    private int pairId(int left, int right) {
        Integer id = ids.get(Piece.concat(pieces[left], pieces[right]));
        // llama2.c's scan starts from a best score of -1e10: a piece scored no higher is never merged.
        return id != null && scores[id] > MIN_MERGE_SCORE ? id : -1;
    }

    private void offer(PriorityQueue<Long> candidates, int[] tokens, int left, int right) {
        int id = pairId(tokens[left], tokens[right]);
        if (id >= 0) {
            candidates.add(candidateKey(scores[id], left));
        }
    }

    /** Orders candidates as llama2.c picks them: the higher score first, then the lower position. */
    private static long candidateKey(float score, int position) {
        int bits = Float.floatToIntBits(score);
        int ascending = bits ^ ((bits >> 31) & 0x7FFFFFFF); // the float's order as a signed int
        return ((long) ~ascending << 32) | position;
    }

    /**
     * The bytes that piece {@code token} prints after {@code previous}: byte-fallback pieces give their byte, and
     * the leading space of a piece right after BOS is dropped (sentencepiece's decoder does the same).
     */
    public byte[] decodePiece(int previous, int token) {
        checkId(token);
        if (byteValue[token] >= 0) {
            return new byte[] {(byte) byteValue[token]};
        }
        byte[] piece = pieces[token];
        if (previous == BOS && piece.length > 0 && piece[0] == ' ') {
            return Arrays.copyOfRange(piece, 1, piece.length);
        }
        return piece.clone();
    }

    /**
     * The text that token {@code index} adds to a stream of text made of tokens {@code from .. index - 1}, where
     * {@code tokens} gives the token at a position ({@code from - 1}, when {@code from > 0}, is the token the stream
     * follows, e.g. a prompt's last). As a {@link TextStream} over the stream's bytes would give it, but from the
     * tokens alone, so it needs no state carried from token to token (a request's tokens may be emitted by two
     * instances, or again after a recovery): a UTF-8 character split over several byte-fallback tokens comes whole
     * with the token that completes it, and nothing of it with the tokens before. BOS and EOS add no text.
     */
    public String streamText(IntUnaryOperator tokens, int from, int index) {
        if (from < 0 || index < from) {
            throw new IllegalArgumentException("token " + index + " is not in a stream from token " + from);
        }
        byte[] own = streamPiece(tokens, index);
        // A character still incomplete before this token has at most 3 bytes, so the stream's last 3 decide it.
        byte[] tail = new byte[3];
        int start = tail.length;
        for (int i = index - 1; i >= from && start > 0; i--) {
            byte[] piece = streamPiece(tokens, i);
            int n = Math.min(start, piece.length);
            System.arraycopy(piece, piece.length - n, tail, start - n, n);
            start -= n;
        }
        if (isAscii(own) && (start == tail.length || tail[tail.length - 1] >= 0)) {
            return new String(own, StandardCharsets.US_ASCII); // nothing held back before, nothing to hold back
        }
        TextStream stream = new TextStream();
        stream.push(Arrays.copyOfRange(tail, start, tail.length)); // text of earlier tokens: theirs, not ours
        return stream.push(own);
    }

    private byte[] streamPiece(IntUnaryOperator tokens, int i) {
        int token = tokens.applyAsInt(i);
        if (token == BOS || token == EOS) {
            return new byte[0];
        }
        return decodePiece(i > 0 ? tokens.applyAsInt(i - 1) : -1, token);
    }

    private static boolean isAscii(byte[] b) {
        for (byte c : b) {
            if (c < 0) {
                return false;
            }
        }
        return true;
    }

    /** The text of {@code tokens}; a leading BOS is dropped, and so is the space that follows it. */
    public String decode(int[] tokens) {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        int previous = -1;
        for (int token : tokens) {
            if (token != BOS && token != EOS) {
                out.writeBytes(decodePiece(previous, token));
            }
            previous = token;
        }
        return out.toString(StandardCharsets.UTF_8);
    }

    private int checkId(int id) {
        if (id < 0 || id >= pieces.length) {
            throw new IllegalArgumentException("token id " + id + " is outside the vocabulary [0, " + pieces.length + ")");
        }
        return id;
    }

    private static int parseBytePiece(byte[] p) {
        // "<0xNN>" with two upper-case hex digits
        if (p.length != 6 || p[0] != '<' || p[1] != '0' || p[2] != 'x' || p[5] != '>') {
            return -1;
        }
        int hi = Character.digit(p[3], 16);
        int lo = Character.digit(p[4], 16);
        return hi < 0 || lo < 0 ? -1 : hi * 16 + lo;
    }

    /** A byte string usable as a map key. */
    private record Piece(byte[] bytes) {
        static Piece concat(byte[] a, byte[] b) {
            byte[] c = Arrays.copyOf(a, a.length + b.length);
            System.arraycopy(b, 0, c, a.length, b.length);
            return new Piece(c);
        }

        @Override
        public boolean equals(Object o) {
            return o instanceof Piece p && Arrays.equals(bytes, p.bytes);
        }

        @Override
        public int hashCode() {
            return Arrays.hashCode(bytes);
        }
    }
}
