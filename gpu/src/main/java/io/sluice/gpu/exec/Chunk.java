package io.sluice.gpu.exec;

import io.sluice.gpu.kv.BlockTable;
import io.sluice.gpu.sampling.SamplingParams;
import java.util.Objects;

/**
 * Tokens of one sequence to run through the model, continuing from what its block table already caches: a
 * prefill chunk (any number of tokens) or a decode step (one token). The executor appends the tokens' keys and
 * values to the cache and, unless {@code output} is {@link Output#NONE}, picks the token that follows.
 *
 * @param table    the sequence's block table (its id identifies the sequence)
 * @param tokens   token ids, at least one
 * @param sampling how the next token is picked
 * @param output   what the caller wants back
 */
public record Chunk(BlockTable table, int[] tokens, SamplingParams sampling, Output output) {

    /** What a chunk returns. */
    public enum Output {
        /** Nothing: an intermediate prefill chunk (saves the classifier). */
        NONE,
        /** The next token. */
        TOKEN,
        /** The next token and the logits it was picked from. */
        TOKEN_AND_LOGITS
    }

    public Chunk {
        Objects.requireNonNull(table, "table");
        Objects.requireNonNull(sampling, "sampling");
        Objects.requireNonNull(output, "output");
        if (tokens == null || tokens.length == 0) {
            throw new IllegalArgumentException("a chunk needs at least one token (sequence " + table.sequenceId() + ")");
        }
    }

    /** A chunk that returns the next token. */
    public static Chunk of(BlockTable table, int[] tokens, SamplingParams sampling) {
        return new Chunk(table, tokens, sampling, Output.TOKEN);
    }

    /** One decode step: {@code token} at the end of the sequence, then the next token. */
    public static Chunk decode(BlockTable table, int token, SamplingParams sampling) {
        return new Chunk(table, new int[] {token}, sampling, Output.TOKEN);
    }

    public long sequenceId() {
        return table.sequenceId();
    }

    /** Position of the first token of this chunk: what the sequence has cached when the chunk runs. */
    public int startPosition() {
        return table.length();
    }
}
