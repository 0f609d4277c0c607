package io.sluice.job.cli;

import static org.assertj.core.api.Assertions.assertThat;

import io.sluice.job.local.ByteTokenizer;
import io.sluice.job.local.Ports;
import java.nio.file.Path;
import org.apache.flink.configuration.CoreOptions;
import org.apache.flink.streaming.api.environment.StreamExecutionEnvironment;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/** {@code sluice run} outside {@code flink run}: the job runs in-process, so a broker it cannot reach is an error. */
class RunCommandTest {

    @TempDir
    Path dir;

    @Test
    @Timeout(value = 90, unit = TimeUnit.SECONDS, threadMode = Timeout.ThreadMode.SEPARATE_THREAD)
    void noBrokerAtTheBootstrapAddressIsAnErrorNotAJobThatRetriesForever() throws Exception {
        Path model = dir.resolve("m260k.bin");
        CliRun gen = CliRun.of("gen-model", "--shape", "260k", "--out", model.toString());
        assertThat(gen.exit()).as(gen.err()).isZero();
        Path tokenizer = dir.resolve("tok512.bin");
        ByteTokenizer.write(tokenizer, 512);
        String bootstrap = "localhost:" + Ports.free(); // nothing listens there

        CliRun run = CliRun.of("run", "--bootstrap", bootstrap, "--model", model.toString(),
                "--tokenizer", tokenizer.toString(), "--engine", "noop");

        assertThat(run.exit()).as(run.err()).isEqualTo(2);
        assertThat(run.err()).contains("no Kafka broker answers at " + bootstrap + " (--bootstrap)");
    }

    @Test
    void anEmbeddedClusterKeepsItsFilesInAFolderOfItsOwnNotTheSystemsTemporaryFolder() {
        // Ctrl-C ends such a job without closing its cluster: files it kept in the system's temporary folder (a
        // working folder, a 20 MB RPC jar, checkpoints) stayed there after every run.
        String folder = RunCommand.localEnvironment().getConfiguration().get(CoreOptions.TMP_DIRS);
        assertThat(Path.of(folder)).isDirectory();
        assertThat(Path.of(folder)).isNotEqualTo(Path.of(System.getProperty("java.io.tmpdir")));
        StreamExecutionEnvironment other = RunCommand.localEnvironment();
        assertThat(other.getConfiguration().get(CoreOptions.TMP_DIRS)).as("a folder per JVM run").isNotEqualTo(folder);
    }
}
