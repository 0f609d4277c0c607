package io.sluice.gpu.model;

import java.nio.file.Path;

/** A model or tokenizer file that cannot be read: the message names the file and what is wrong with it. */
public final class CheckpointException extends IllegalArgumentException {

    private static final long serialVersionUID = 1L;

    public CheckpointException(Path file, String problem) {
        super(file + ": " + problem);
    }

    public CheckpointException(Path file, String problem, Throwable cause) {
        super(file + ": " + problem, cause);
    }
}
