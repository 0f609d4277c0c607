package io.sluice.job.local;

import io.sluice.gpu.model.ModelConfig;
import io.sluice.gpu.model.SyntheticCheckpoint;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * The model {@code sluice local} serves when none is given: the synthetic 15m-shape checkpoint
 * (seed 1234, llama2.c format), generated once into a cache folder, with a byte-level tokenizer.
 */
public final class DemoModel {

    public static final long SEED = 1234;

    private DemoModel() {}

    /** The cache folder: {@code $XDG_CACHE_HOME/sluice} or {@code ~/.cache/sluice}. */
    public static Path cacheDir() {
        String xdg = System.getenv("XDG_CACHE_HOME");
        Path base = xdg != null && !xdg.isBlank() ? Path.of(xdg) : Path.of(System.getProperty("user.home"), ".cache");
        return base.resolve("sluice");
    }

    /** The checkpoint, written first if it is not cached yet. */
    public static Path checkpoint(PrintStream log) throws IOException {
        SyntheticCheckpoint.Shape shape = SyntheticCheckpoint.Shape.of("15m");
        Path file = cacheDir().resolve("rand15M-seed" + SEED + ".bin");
        ModelConfig config = shape.config();
        if (!Files.isRegularFile(file) || Files.size(file) != config.fileBytes()) {
            Files.createDirectories(file.getParent());
            log.println("sluice: writing the demo model (synthetic 15m, seed " + SEED + ") to " + file);
            SyntheticCheckpoint.write(config, SEED, file); // through a part file of its own, renamed at once
        }
        return file;
    }

    /** A byte-level tokenizer for the demo model's vocabulary, written first if missing. */
    public static Path tokenizer() throws IOException {
        int vocab = SyntheticCheckpoint.Shape.of("15m").config().vocabSize();
        Path file = cacheDir().resolve("byte-tokenizer-" + vocab + ".bin");
        if (!Files.isRegularFile(file)) {
            Files.createDirectories(file.getParent());
            ByteTokenizer.write(file, vocab);
        }
        return file;
    }
}
