package io.sluice.e2e;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.sluice.job.local.Folders;
import io.sluice.job.local.Ports;
import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.TimeUnit;
import org.apache.flink.configuration.Configuration;
import org.apache.flink.configuration.GlobalConfiguration;
import org.apache.flink.configuration.RestOptions;
import org.apache.flink.runtime.clusterframework.BootstrapTools;
import org.apache.flink.runtime.clusterframework.TaskExecutorProcessSpec;
import org.apache.flink.runtime.clusterframework.TaskExecutorProcessUtils;
import org.apache.flink.runtime.jobmanager.JobManagerProcessSpec;
import org.apache.flink.runtime.jobmanager.JobManagerProcessUtils;
import org.apache.flink.runtime.util.config.memory.ProcessMemoryUtils;

/**
 * A Flink session cluster as a user runs one without flink-dist: a JobManager and a TaskManager
 * in child JVMs on a classpath of Flink's own jars, sized the way Flink's start scripts size them,
 * driven through the REST API. Everything it writes (configuration, logs, temp files, uploaded
 * jars) lives in one folder that {@link #close()} removes after stopping both processes.
 */
final class StandaloneFlinkCluster implements AutoCloseable {

    private static final HttpClient HTTP = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();
    private static final ObjectMapper JSON = new ObjectMapper();

    private final Path dir;
    private final int restPort;
    private final List<Process> processes = new ArrayList<>();

    private StandaloneFlinkCluster(Path dir, int restPort) {
        this.dir = dir;
        this.restPort = restPort;
    }

    /**
     * Writes the configuration (the base one with free ports, small memory and every folder under
     * {@code dir}) and starts the JobManager and the TaskManager, without waiting for them.
     *
     * @param base      the cluster configuration to start from (its {@code env.java.opts.all} are
     *                  the JVM flags of both processes)
     * @param classpath Flink's jars and a log4j implementation, nothing of the job
     */
    static StandaloneFlinkCluster launch(Path dir, Configuration base, String classpath) throws IOException {
        Files.createDirectories(dir);
        Path conf = Files.createDirectories(dir.resolve("conf"));
        Path tmp = Files.createDirectories(dir.resolve("tmp"));
        int restPort = Ports.free();
        Configuration config = new Configuration(base);
        config.setString("jobmanager.rpc.address", "localhost");
        config.setString("jobmanager.rpc.port", Integer.toString(Ports.free()));
        config.setString("jobmanager.bind-host", "localhost");
        config.setString("taskmanager.bind-host", "localhost");
        config.setString("taskmanager.host", "localhost");
        config.setString("rest.address", "localhost");
        config.setString("rest.bind-address", "localhost");
        config.set(RestOptions.PORT, restPort);
        // Small enough for a busy laptop; the job keeps its state on the heap and needs no managed memory.
        config.setString("jobmanager.memory.process.size", "768m");
        config.setString("taskmanager.memory.process.size", "1024m");
        config.setString("taskmanager.memory.managed.size", "0m");
        config.setString("taskmanager.numberOfTaskSlots", "1");
        config.setString("parallelism.default", "1");
        // A failure must fail the job (and the test) at once, not restart it quietly.
        config.setString("restart-strategy.type", "none");
        config.setString("io.tmp.dirs", tmp.toString());
        config.setString("execution.checkpointing.dir", dir.resolve("checkpoints").toUri().toString());
        config.setString("web.tmpdir", tmp.toString());
        config.setString("web.upload.dir", Files.createDirectories(dir.resolve("upload")).toString());
        BootstrapTools.writeConfiguration(config, conf.resolve(GlobalConfiguration.FLINK_CONF_FILENAME).toFile());
        Files.writeString(conf.resolve("log4j2.properties"), String.join("\n",
                "rootLogger.level = WARN",
                "rootLogger.appenderRef.file.ref = file",
                "logger.dispatcher.name = org.apache.flink.runtime.dispatcher",
                "logger.dispatcher.level = INFO",
                "appender.file.type = File",
                "appender.file.name = file",
                "appender.file.fileName = ${sys:log.file}",
                "appender.file.layout.type = PatternLayout",
                "appender.file.layout.pattern = %d %p %c{1} - %m%n", ""));

        List<String> javaOpts = split(config.getString("env.java.opts.all", ""));
        StandaloneFlinkCluster cluster = new StandaloneFlinkCluster(dir, restPort);
        try {
            JobManagerProcessSpec jm = JobManagerProcessUtils.processSpecFromConfig(config);
            cluster.start("jobmanager", conf, classpath, javaOpts,
                    split(JobManagerProcessUtils.generateJvmParametersStr(jm, config)),
                    "org.apache.flink.runtime.entrypoint.StandaloneSessionClusterEntrypoint",
                    concat(List.of("--configDir", conf.toString(), "--executionMode", "cluster"),
                            split(JobManagerProcessUtils.generateDynamicConfigsStr(jm))));
            TaskExecutorProcessSpec tm = TaskExecutorProcessUtils.processSpecFromConfig(config);
            cluster.start("taskmanager", conf, classpath, javaOpts,
                    split(ProcessMemoryUtils.generateJvmParametersStr(tm)),
                    "org.apache.flink.runtime.taskexecutor.TaskManagerRunner",
                    concat(List.of("--configDir", conf.toString()),
                            split(TaskExecutorProcessUtils.generateDynamicConfigsStr(tm))));
        } catch (IOException | RuntimeException e) {
            cluster.close();
            throw e;
        }
        return cluster;
    }

    int restPort() {
        return restPort;
    }

    /** The JobManager and the TaskManager, for checks that they are gone. */
    List<ProcessHandle> processes() {
        return processes.stream().map(Process::toHandle).toList();
    }

    /** Waits until the REST API answers and a TaskManager has registered its slots. */
    void awaitReady(Duration timeout) throws IOException, InterruptedException {
        long end = System.nanoTime() + timeout.toNanos();
        String last = "no answer";
        while (System.nanoTime() < end) {
            for (Process p : processes) {
                if (!p.isAlive()) {
                    throw new IOException("a Flink process exited with code " + p.exitValue() + "\n" + logs());
                }
            }
            try {
                JsonNode overview = get("/overview");
                if (overview.path("slots-total").asInt() > 0) {
                    return;
                }
                last = overview.toString();
            } catch (IOException e) {
                last = e.toString();
            }
            Thread.sleep(250);
        }
        throw new IOException("the cluster was not ready after " + timeout.toSeconds() + " s (" + last + ")\n" + logs());
    }

    /** Uploads a job jar ({@code POST /jars/upload}) and returns its id. */
    String uploadJar(Path jar) throws IOException, InterruptedException {
        String boundary = "----sluice" + UUID.randomUUID();
        String head = "--" + boundary + "\r\n"
                + "Content-Disposition: form-data; name=\"jarfile\"; filename=\"" + jar.getFileName() + "\"\r\n"
                + "Content-Type: application/x-java-archive\r\n\r\n";
        HttpRequest request = HttpRequest.newBuilder(uri("/jars/upload"))
                .timeout(Duration.ofSeconds(60))
                .header("Content-Type", "multipart/form-data; boundary=" + boundary)
                .POST(HttpRequest.BodyPublishers.concat(
                        HttpRequest.BodyPublishers.ofString(head),
                        HttpRequest.BodyPublishers.ofFile(jar),
                        HttpRequest.BodyPublishers.ofString("\r\n--" + boundary + "--\r\n")))
                .build();
        String file = send(request).path("filename").asText();
        return file.substring(file.lastIndexOf('/') + 1);
    }

    /** Runs an uploaded jar's main class with these arguments ({@code POST /jars/ID/run}); returns the job id. */
    String runJar(String jarId, List<String> args, int parallelism) throws IOException, InterruptedException {
        String body = JSON.writeValueAsString(Map.of("programArgsList", args, "parallelism", parallelism));
        HttpRequest request = HttpRequest.newBuilder(uri("/jars/" + jarId + "/run"))
                .timeout(Duration.ofSeconds(120))
                .header("Content-Type", "application/json")
                .POST(HttpRequest.BodyPublishers.ofString(body))
                .build();
        return send(request).path("jobid").asText();
    }

    /** The job's state as the JobManager reports it (RUNNING, CANCELED, FAILED, ...). */
    String jobState(String jobId) throws IOException, InterruptedException {
        return get("/jobs/" + jobId).path("state").asText();
    }

    /** Cancels the job and waits until it is CANCELED. */
    void cancel(String jobId, Duration timeout) throws IOException, InterruptedException {
        send(HttpRequest.newBuilder(uri("/jobs/" + jobId + "?mode=cancel"))
                .timeout(Duration.ofSeconds(10))
                .method("PATCH", HttpRequest.BodyPublishers.noBody())
                .build());
        long end = System.nanoTime() + timeout.toNanos();
        String state = jobState(jobId);
        while (!"CANCELED".equals(state) && System.nanoTime() < end) {
            Thread.sleep(200);
            state = jobState(jobId);
        }
        if (!"CANCELED".equals(state)) {
            throw new IOException("job " + jobId + " is " + state + ", not CANCELED, " + timeout.toSeconds() + " s after cancel");
        }
    }

    /** The last lines of both processes' logs and output, for failure messages. */
    String logs() {
        StringBuilder out = new StringBuilder();
        for (String name : List.of("jobmanager.log", "jobmanager.out", "taskmanager.log", "taskmanager.out")) {
            Path file = dir.resolve("log").resolve(name);
            try {
                List<String> lines = Files.readAllLines(file, StandardCharsets.UTF_8);
                out.append("--- ").append(name).append('\n')
                        .append(String.join("\n", lines.subList(Math.max(0, lines.size() - 40), lines.size())))
                        .append('\n');
            } catch (IOException e) {
                // Not written (yet): nothing to show.
            }
        }
        return out.toString();
    }

    /** Stops the TaskManager, then the JobManager (SIGTERM: Flink's shutdown hooks clean up), and removes the folder. */
    @Override
    public void close() throws IOException {
        for (int i = processes.size() - 1; i >= 0; i--) {
            Process p = processes.get(i);
            p.destroy();
            try {
                if (!p.waitFor(20, TimeUnit.SECONDS)) {
                    p.destroyForcibly().waitFor(10, TimeUnit.SECONDS);
                }
            } catch (InterruptedException e) {
                p.destroyForcibly();
                Thread.currentThread().interrupt();
            }
        }
        Folders.deleteRecursively(dir);
    }

    private void start(String name, Path conf, String classpath, List<String> javaOpts, List<String> memoryOpts,
            String mainClass, List<String> args) throws IOException {
        Path log = Files.createDirectories(dir.resolve("log"));
        String java = ProcessHandle.current().info().command().orElse("java");
        List<String> command = new ArrayList<>(List.of(java));
        command.addAll(memoryOpts);
        command.addAll(javaOpts);
        // A lean JVM: two cores are shared by everything here.
        command.addAll(List.of("-XX:+UseSerialGC", "-XX:TieredStopAtLevel=1",
                "-Djava.io.tmpdir=" + dir.resolve("tmp"),
                "-Dlog.file=" + log.resolve(name + ".log"),
                "-Dlog4j.configurationFile=" + conf.resolve("log4j2.properties").toUri(),
                "-cp", classpath, mainClass));
        command.addAll(args);
        processes.add(new ProcessBuilder(command)
                .redirectErrorStream(true)
                .redirectOutput(log.resolve(name + ".out").toFile())
                .start());
    }

    private JsonNode get(String path) throws IOException, InterruptedException {
        return send(HttpRequest.newBuilder(uri(path)).timeout(Duration.ofSeconds(10)).GET().build());
    }

    private JsonNode send(HttpRequest request) throws IOException, InterruptedException {
        HttpResponse<String> response;
        try {
            response = HTTP.send(request, HttpResponse.BodyHandlers.ofString());
        } catch (IOException e) {
            throw new IOException(request.method() + " " + request.uri().getPath() + " failed: " + e + "\n"
                    + state() + logs(), e);
        }
        if (response.statusCode() / 100 != 2) {
            throw new IOException(request.method() + " " + request.uri().getPath() + " answered "
                    + response.statusCode() + ": " + response.body() + "\n" + state() + logs());
        }
        return response.body().isEmpty() ? JSON.createObjectNode() : JSON.readTree(response.body());
    }

    private String state() {
        StringBuilder out = new StringBuilder();
        for (Process p : processes) {
            out.append("process ").append(p.pid()).append(p.isAlive() ? " alive" : " exited with " + p.exitValue())
                    .append('\n');
        }
        return out.toString();
    }

    private URI uri(String path) {
        return URI.create("http://localhost:" + restPort + path);
    }

    private static List<String> split(String args) {
        String trimmed = args.trim();
        return trimmed.isEmpty() ? List.of() : Arrays.asList(trimmed.split("\\s+"));
    }

    private static List<String> concat(List<String> a, List<String> b) {
        List<String> all = new ArrayList<>(a);
        all.addAll(b);
        return all;
    }
}
