package io.sluice.job.local;

import static org.assertj.core.api.Assertions.assertThat;

import io.sluice.gpu.tokenizer.Tokenizer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class ByteTokenizerTest {

    @TempDir
    Path dir;

    /** Two `sluice local` runs starting at once both write the cached tokenizer: neither may fail or corrupt it. */
    @Test
    void writersAtOnceLeaveOneWholeTokenizerAndNoPartFile() throws Exception {
        Path file = dir.resolve("byte-tokenizer-512.bin");
        ExecutorService pool = Executors.newFixedThreadPool(4);
        try {
            for (int round = 0; round < 20; round++) {
                List<Future<?>> writes = new ArrayList<>();
                for (int w = 0; w < 4; w++) {
                    writes.add(pool.submit(() -> {
                        ByteTokenizer.write(file, 512);
                        return null;
                    }));
                }
                for (Future<?> f : writes) {
                    f.get();
                }
                Tokenizer t = Tokenizer.load(file, 512);
                assertThat(t.decode(t.encode("héllo", false, false))).isEqualTo("héllo");
            }
        } finally {
            pool.shutdownNow();
        }
        try (var files = Files.list(dir)) {
            assertThat(files.map(p -> p.getFileName().toString())).containsExactly("byte-tokenizer-512.bin");
        }
    }
}
