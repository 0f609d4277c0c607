package io.sluice.operators.ingest;

import java.io.Serializable;

/** Turns prompt text into the model's token ids, BOS first; the model's tokenizer in production. */
@FunctionalInterface
public interface PromptEncoder extends Serializable {
    int[] encode(String text);
}
