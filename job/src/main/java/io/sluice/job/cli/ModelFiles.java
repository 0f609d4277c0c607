package io.sluice.job.cli;

import io.sluice.gpu.model.ModelConfig;
import io.sluice.gpu.tokenizer.Tokenizer;
import java.nio.file.Path;

/**
 * The check every command that takes both {@code --model} and {@code --tokenizer} makes before it serves them:
 * a tokenizer of another vocabulary would fail deep in the job (or, one that happens to parse, give garbage).
 */
final class ModelFiles {

    private ModelFiles() {}

    /** Refuses a tokenizer whose piece count is not the model's vocab_size; the message names both files and sizes. */
    static void checkTokenizer(Path model, ModelConfig config, Path tokenizer) {
        int pieces = Tokenizer.pieceCount(tokenizer);
        if (pieces != config.vocabSize()) {
            throw new IllegalArgumentException("--tokenizer " + tokenizer + " has a vocabulary of " + pieces
                    + " pieces, but --model " + model + " has vocab_size " + config.vocabSize()
                    + ": give the tokenizer that belongs to this model");
        }
    }
}
