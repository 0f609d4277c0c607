package io.sluice.job.pipeline;

import io.sluice.gpu.tokenizer.Tokenizer;
import io.sluice.operators.ingest.PromptEncoder;
import java.nio.file.Path;

/** The model's llama2.c tokenizer as the pipeline's prompt encoder; loaded once per task, on first use. */
public final class TokenizerEncoder implements PromptEncoder {
    private static final long serialVersionUID = 1L;

    private final String tokenizerPath;
    private final int vocabSize;
    private transient Tokenizer tokenizer;

    public TokenizerEncoder(String tokenizerPath, int vocabSize) {
        this.tokenizerPath = tokenizerPath;
        this.vocabSize = vocabSize;
    }

    @Override
    public int[] encode(String text) {
        if (tokenizer == null) {
            tokenizer = Tokenizer.load(Path.of(tokenizerPath), vocabSize);
        }
        return tokenizer.encode(text);
    }
}
