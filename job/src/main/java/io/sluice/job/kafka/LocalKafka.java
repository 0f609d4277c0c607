package io.sluice.job.kafka;

import io.sluice.job.local.Folders;
import io.sluice.job.local.Ports;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AdminClientConfig;
import org.apache.kafka.common.Uuid;

/**
 * A real single-node Kafka broker (KRaft, broker and controller combined) in a child JVM, from
 * Kafka's own jars on this process's classpath: what {@code sluice local} runs. Its data and log
 * live in a folder of its own that {@link #close()} removes, together with the process.
 */
public final class LocalKafka implements AutoCloseable {

    private static final Duration START_TIMEOUT = Duration.ofSeconds(90);

    private final Path dir;
    private final int port;
    private final Process process;
    private final Thread shutdownHook;

    private LocalKafka(Path dir, int port, Process process) {
        this.dir = dir;
        this.port = port;
        this.process = process;
        this.shutdownHook = new Thread(this::stop, "local-kafka-shutdown");
        Runtime.getRuntime().addShutdownHook(shutdownHook);
    }

    /**
     * Formats storage and starts the broker on {@code port} (0 picks a free one), returning once
     * it answers requests.
     *
     * @param workDir a folder of the caller's; the broker's own folder is created inside it
     */
    public static LocalKafka start(Path workDir, int port) throws IOException, InterruptedException {
        int brokerPort = port == 0 ? Ports.free() : port;
        int controllerPort = Ports.free();
        Files.createDirectories(workDir);
        Path dir = Files.createTempDirectory(workDir, "kafka-");
        Path config = dir.resolve("server.properties");
        Files.writeString(config, serverProperties(dir, brokerPort, controllerPort));
        Files.writeString(dir.resolve("log4j2.properties"), String.join("\n",
                "rootLogger.level = WARN",
                "rootLogger.appenderRef.file.ref = file",
                "appender.file.type = File",
                "appender.file.name = file",
                "appender.file.fileName = " + dir.resolve("broker.log"),
                "appender.file.layout.type = PatternLayout",
                "appender.file.layout.pattern = %d %p %c - %m%n", ""));

        Process format = child(dir, "kafka.tools.StorageTool", "format",
                "-t", Uuid.randomUuid().toString(), "-c", config.toString(), "--standalone");
        if (!format.waitFor(60, TimeUnit.SECONDS) || format.exitValue() != 0) {
            format.destroyForcibly();
            String log = tail(dir.resolve("process.log"));
            Folders.deleteRecursively(dir);
            throw new IOException("formatting Kafka storage failed:\n" + log);
        }
        LocalKafka kafka = new LocalKafka(dir, brokerPort, child(dir, "kafka.Kafka", config.toString()));
        try {
            kafka.awaitReady();
        } catch (IOException | InterruptedException | RuntimeException e) {
            String log = tail(dir.resolve("process.log")) + tail(dir.resolve("broker.log"));
            kafka.close();
            throw new IOException("the Kafka broker did not start on port " + brokerPort + ": " + e.getMessage()
                    + "\n" + log, e);
        }
        return kafka;
    }

    /** The address clients connect to. */
    public String bootstrapServers() {
        return "localhost:" + port;
    }

    /** Creates topics that do not exist yet. */
    public void createTopics(int partitions, List<String> topics) throws IOException {
        try (Admin admin = admin()) {
            var existing = admin.listTopics().names().get();
            var missing = new ArrayList<org.apache.kafka.clients.admin.NewTopic>();
            for (String topic : topics) {
                if (!existing.contains(topic)) {
                    missing.add(new org.apache.kafka.clients.admin.NewTopic(topic, partitions, (short) 1));
                }
            }
            admin.createTopics(missing).all().get();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IOException("interrupted while creating topics", e);
        } catch (java.util.concurrent.ExecutionException e) {
            throw new IOException("creating topics failed: " + e.getCause().getMessage(), e.getCause());
        }
    }

    /** The broker's process, for callers that want to watch it. */
    public ProcessHandle process() {
        return process.toHandle();
    }

    @Override
    public void close() {
        stop();
        try {
            Runtime.getRuntime().removeShutdownHook(shutdownHook);
        } catch (IllegalStateException e) {
            // Already shutting down: the hook runs (or ran) stop() itself.
        }
    }

    private synchronized void stop() {
        if (process.isAlive()) {
            process.destroy();
            try {
                if (!process.waitFor(15, TimeUnit.SECONDS)) {
                    process.destroyForcibly().waitFor(5, TimeUnit.SECONDS);
                }
            } catch (InterruptedException e) {
                process.destroyForcibly();
                Thread.currentThread().interrupt();
            }
        }
        try {
            Folders.deleteRecursively(dir);
        } catch (IOException e) {
            throw new UncheckedIOException("could not remove " + dir, e);
        }
    }

    private void awaitReady() throws IOException, InterruptedException {
        long deadline = System.nanoTime() + START_TIMEOUT.toNanos();
        Exception last = null;
        while (System.nanoTime() < deadline) {
            if (!process.isAlive()) {
                throw new IOException("the broker exited with code " + process.exitValue());
            }
            if (!BrokerCheck.anyListening(bootstrapServers())) {
                // Not yet: an admin client now would log a connection warning every retry.
                Thread.sleep(250);
                continue;
            }
            try (Admin admin = admin()) {
                admin.describeCluster().nodes().get(5, TimeUnit.SECONDS);
                return;
            } catch (java.util.concurrent.ExecutionException | java.util.concurrent.TimeoutException e) {
                last = e;
                Thread.sleep(250);
            }
        }
        throw new IOException("not ready after " + START_TIMEOUT.toSeconds() + " s: " + last);
    }

    private Admin admin() {
        return Admin.create(Map.of(
                AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrapServers(),
                AdminClientConfig.REQUEST_TIMEOUT_MS_CONFIG, 5000,
                AdminClientConfig.DEFAULT_API_TIMEOUT_MS_CONFIG, 5000));
    }

    private static String serverProperties(Path dir, int port, int controllerPort) {
        return String.join("\n",
                "process.roles=broker,controller",
                "node.id=1",
                "controller.quorum.bootstrap.servers=localhost:" + controllerPort,
                "listeners=PLAINTEXT://localhost:" + port + ",CONTROLLER://localhost:" + controllerPort,
                "advertised.listeners=PLAINTEXT://localhost:" + port,
                "controller.listener.names=CONTROLLER",
                "listener.security.protocol.map=CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT",
                "inter.broker.listener.name=PLAINTEXT",
                "log.dirs=" + dir.resolve("data"),
                "num.partitions=1",
                "offsets.topic.replication.factor=1",
                "transaction.state.log.replication.factor=1",
                "transaction.state.log.min.isr=1",
                "share.coordinator.state.topic.replication.factor=1",
                "share.coordinator.state.topic.min.isr=1",
                "group.initial.rebalance.delay.ms=0",
                "auto.create.topics.enable=false",
                "");
    }

    /** A JVM running {@code mainClass} on this process's classpath, output to process.log. */
    private static Process child(Path dir, String mainClass, String... args) throws IOException {
        String java = ProcessHandle.current().info().command().orElse("java");
        List<String> command = new ArrayList<>(List.of(java, "-Xmx512m", "-XX:+UseSerialGC",
                "-Dlog4j2.configurationFile=" + dir.resolve("log4j2.properties"),
                "-Djava.io.tmpdir=" + dir,
                "-cp", System.getProperty("java.class.path"), mainClass));
        command.addAll(List.of(args));
        return new ProcessBuilder(command)
                .redirectErrorStream(true)
                .redirectOutput(ProcessBuilder.Redirect.appendTo(dir.resolve("process.log").toFile()))
                .start();
    }

    private static String tail(Path file) {
        try {
            List<String> lines = Files.readAllLines(file, StandardCharsets.UTF_8);
            return String.join("\n", lines.subList(Math.max(0, lines.size() - 20), lines.size())) + "\n";
        } catch (IOException e) {
            return "";
        }
    }
}
