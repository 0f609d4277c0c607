package io.sluice.job.local;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;

/** The few calls local mode makes to Flink's REST API. */
public final class FlinkRest {

    private FlinkRest() {}

    /**
     * Waits until every vertex of the job reports RUNNING (its tasks are deployed and opened), or
     * the timeout passes.
     */
    public static boolean awaitAllTasksRunning(int restPort, String jobId, Duration timeout)
            throws InterruptedException {
        HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(2)).build();
        HttpRequest request = HttpRequest.newBuilder(URI.create("http://localhost:" + restPort + "/jobs/" + jobId))
                .timeout(Duration.ofSeconds(5)).GET().build();
        ObjectMapper mapper = new ObjectMapper();
        long end = System.nanoTime() + timeout.toNanos();
        while (System.nanoTime() < end) {
            try {
                HttpResponse<String> response = http.send(request, HttpResponse.BodyHandlers.ofString());
                if (response.statusCode() == 200 && allRunning(mapper.readTree(response.body()))) {
                    return true;
                }
            } catch (IOException e) {
                // The REST endpoint is not up yet: try again.
            }
            Thread.sleep(250);
        }
        return false;
    }

    private static boolean allRunning(JsonNode job) {
        JsonNode vertices = job.get("vertices");
        if (vertices == null || vertices.isEmpty()) {
            return false;
        }
        for (JsonNode vertex : vertices) {
            if (!"RUNNING".equals(vertex.path("status").asText())) {
                return false;
            }
        }
        return true;
    }
}
