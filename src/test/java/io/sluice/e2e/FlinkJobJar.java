package io.sluice.e2e;

import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.stream.Stream;

/** Where the tests find the shaded job jar that the job module's package phase builds. */
final class FlinkJobJar {

    private FlinkJobJar() {}

    /**
     * The jar, or a skipped test when it is missing or older than the job's classes: a reactor
     * {@code mvn verify} builds it before this module's tests, while {@code mvn test} stops short
     * of packaging, and a stale jar would test old code.
     */
    static Path require() throws IOException {
        Path jar = Path.of(System.getProperty("sluice.flinkJar", "../../job/target/sluice-job-flink.jar"));
        assumeTrue(isFresh(jar), jar + " is missing or older than the job's classes: build it with "
                + "`mvn verify` (or `mvn package -pl job -am`) before running this test alone");
        return jar;
    }

    private static boolean isFresh(Path jar) throws IOException {
        if (!Files.isRegularFile(jar)) {
            return false;
        }
        Path classes = jar.resolveSibling("classes");
        if (!Files.isDirectory(classes)) {
            return true;
        }
        long built = Files.getLastModifiedTime(jar).toMillis();
        try (Stream<Path> files = Files.walk(classes)) {
            return files.filter(Files::isRegularFile).allMatch(f -> lastModified(f) <= built);
        }
    }

    private static long lastModified(Path file) {
        try {
            return Files.getLastModifiedTime(file).toMillis();
        } catch (IOException e) {
            return Long.MAX_VALUE;
        }
    }
}
