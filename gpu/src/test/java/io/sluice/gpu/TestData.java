package io.sluice.gpu;

import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;

/** Finds the shared test data beside the checkout (system property {@code sluice.shared}); tests skip without it. */
public final class TestData {

    private TestData() {
    }

    /** The file {@code relative} under the shared folder; skips the calling test when it is absent. */
    public static Path shared(String relative) {
        String root = System.getProperty("sluice.shared");
        assumeTrue(root != null, "system property sluice.shared is not set");
        Path file = Path.of(root).resolve(relative);
        assumeTrue(Files.isRegularFile(file), "shared test data absent: " + file);
        return file;
    }

    /** Whitespace-separated token ids from a reference file. */
    public static int[] ids(Path file) {
        try {
            return Arrays.stream(Files.readString(file).trim().split("\\s+")).mapToInt(Integer::parseInt).toArray();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}
