package io.sluice.e2e;

import static java.nio.charset.StandardCharsets.UTF_8;
import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Path;
import java.util.List;
import java.util.Set;
import java.util.jar.JarEntry;
import java.util.jar.JarFile;
import java.util.stream.Collectors;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * What the shaded job jar for a Flink cluster carries: the Sluice modules, the connectors and the
 * libraries they use; not Flink itself (the cluster provides it), not the Kafka broker or log4j
 * that only local mode runs, no signature files, and service files merged across libraries.
 */
class FlinkJobJarTest {

    static Path jar;
    static Set<String> entries;

    @BeforeAll
    static void open() throws IOException {
        jar = FlinkJobJar.require();
        try (JarFile file = new JarFile(jar.toFile())) {
            entries = file.stream().map(JarEntry::getName).collect(Collectors.toSet());
        }
    }

    @Test
    void mainClassIsTheCli() throws IOException {
        try (JarFile file = new JarFile(jar.toFile())) {
            assertThat(file.getManifest().getMainAttributes().getValue("Main-Class"))
                    .isEqualTo("io.sluice.job.cli.SluiceCli");
        }
    }

    @Test
    void carriesTheJobTheConnectorsAndTheirLibraries() {
        assertThat(entries).contains(
                "io/sluice/job/cli/SluiceCli.class",
                "io/sluice/job/pipeline/InferenceJob.class",
                "io/sluice/operators/ingest/RequestFormat.class",
                "io/sluice/gpu/exec/CpuExecutor.class",
                "io/sluice/schemas/InferenceRequest.class",
                "org/apache/flink/connector/kafka/source/KafkaSource.class",
                "org/apache/flink/connector/base/source/reader/SourceReaderBase.class",
                "org/apache/flink/formats/avro/AvroDeserializationSchema.class",
                "org/apache/kafka/clients/consumer/KafkaConsumer.class",
                "org/apache/avro/Schema.class",
                "picocli/CommandLine.class",
                "com/fasterxml/jackson/databind/ObjectMapper.class",
                "org/HdrHistogram/Histogram.class");
    }

    @Test
    void leavesOutFlinkTheBrokerAndLogging() {
        assertThat(entries).doesNotContain(
                "org/apache/flink/streaming/api/environment/StreamExecutionEnvironment.class",
                "org/apache/flink/api/common/ExecutionConfig.class",
                "kafka/Kafka.class",
                "log4j2.properties");
        List<String> forbidden = List.of("org/apache/flink/runtime/", "org/apache/flink/core/",
                "kafka/server/", "org/apache/kafka/raft/", "org/apache/kafka/storage/", "org/apache/kafka/metadata/",
                "org/apache/kafka/server/common/", "scala/", "org/apache/logging/", "org/slf4j/");
        assertThat(entries).noneMatch(e -> forbidden.stream().anyMatch(e::startsWith));
    }

    @Test
    void hasNoSignatureFiles() {
        assertThat(entries).noneMatch(e -> e.startsWith("META-INF/")
                && (e.endsWith(".SF") || e.endsWith(".DSA") || e.endsWith(".RSA") || e.endsWith(".EC")));
    }

    @Test
    void mergesServiceFilesOfSeveralLibraries() throws IOException {
        try (JarFile file = new JarFile(jar.toFile());
                InputStream in = file.getInputStream(file.getEntry("META-INF/services/org.apache.flink.table.factories.Factory"))) {
            String services = new String(in.readAllBytes(), UTF_8);
            assertThat(services).contains(
                    "org.apache.flink.streaming.connectors.kafka.table.KafkaDynamicTableFactory",
                    "org.apache.flink.formats.avro.AvroFormatFactory");
        }
    }
}
