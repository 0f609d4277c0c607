package io.sluice.job.loadgen;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.entry;
import static org.assertj.core.api.Assertions.within;

import com.fasterxml.jackson.databind.JsonNode;
import io.sluice.schemas.FinishReason;
import io.sluice.schemas.RequestMetrics;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

/** The load report: per-class outcomes, totals, client-side TTFT, and its JSON. */
class LoadReportTest {

    private static RequestMetrics metrics(String cls, boolean met, FinishReason reason, Double ttft) {
        return RequestMetrics.newBuilder().setRequestId(cls + Math.random()).setTenant("default")
                .setPriorityClass(cls).setPriorityWeight(1).setPromptTokens(5).setGeneratedTokens(3)
                .setTtftMs(ttft).setTpotMs(ttft == null ? null : 10.0).setE2eMs(100).setSloMet(met)
                .setFinishReason(reason).setFinishedAt(Instant.EPOCH).build();
    }

    @Test
    void reportsPerClassAndTotals() {
        List<RequestMetrics> all = new ArrayList<>();
        for (int i = 0; i < 9; i++) {
            all.add(metrics("interactive", true, FinishReason.LENGTH, 20.0 + i));
        }
        all.add(metrics("interactive", false, FinishReason.EXPIRED, null));
        all.add(metrics("batch", false, FinishReason.REJECTED, null));
        LoadReport report = new LoadReport(List.of("interactive", "standard", "batch"), 12, all,
                List.of(new FirstToken(1000, 1020, 1025, 1030), new FirstToken(2000, 2030, 2032, 2040),
                        new FirstToken(3000, 3040, 3039, 3050)), 2.0);

        assertThat(report.requests()).isEqualTo(12);
        assertThat(report.finished()).isEqualTo(11);
        assertThat(report.expired()).isEqualTo(1);
        assertThat(report.rejected()).isEqualTo(1);
        assertThat(report.byClass("interactive").attainment()).isEqualTo(0.9);
        assertThat(report.byClass("standard").finished()).isZero();
        assertThat(report.goodput()).isEqualTo(4.5);
        assertThat(report.clientTtftMs(50)).isCloseTo(40.0, within(0.1)); // HdrHistogram: 3 significant digits
        assertThat(report.firstTokenJobMs(50)).isCloseTo(30.0, within(0.1));
        assertThat(report.firstTokenToSinkMs(50)).isCloseTo(2.0, within(0.01));
        assertThat(report.firstTokenToSinkMs(0)).as("a -1 ms clock step counts as 0").isZero();
        assertThat(report.firstTokenThroughKafkaMs(50)).isCloseTo(8.0, within(0.01));

        JsonNode json = report.toJson();
        assertThat(json.get("requests").asLong()).isEqualTo(12);
        assertThat(json.get("finished").asLong()).isEqualTo(11);
        assertThat(json.get("client_ttft_p50_ms").asDouble()).isCloseTo(40.0, within(0.1));
        assertThat(json.get("first_token").get("through_kafka_p50_ms").asDouble()).isCloseTo(8.0, within(0.01));
        assertThat(json.get("classes")).hasSize(3);
        assertThat(json.get("classes").get(1).get("ttft_p50_ms").isNull()).as("no made-up zero").isTrue();
        assertThat(json.get("classes").get(1).get("attainment").isNull()).as("nothing finished, no attainment")
                .isTrue();
        assertThat(json.get("classes").get(0).get("ttft_p50_ms").asDouble()).isCloseTo(24.0, within(0.1));

        ByteArrayOutputStream text = new ByteArrayOutputStream();
        report.print(new PrintStream(text, true));
        assertThat(text.toString()).contains("interactive").contains("90.0%").contains("expired 1")
                .contains("producer to client 8.0/");
        assertThat(text.toString().lines().filter(l -> l.startsWith("standard")).findFirst().orElseThrow())
                .as("a class with nothing finished").matches("standard +0 +0 +- .*").doesNotContain("0.0%");
    }

    @Test
    void countsRequestsPerInstancePairAndPreemptions() {
        List<RequestMetrics> all = new ArrayList<>();
        int[][] pairs = {{0, 1}, {0, 2}, {0, 1}, {2, 2}, {0, -1}, {-1, -1}};
        for (int[] pd : pairs) {
            RequestMetrics m = metrics("standard", true, FinishReason.LENGTH, 20.0);
            m.setPrefillInstance(pd[0]);
            m.setDecodeInstance(pd[1]);
            all.add(m);
        }
        all.get(1).setPreemptions(2);
        all.get(3).setPreemptions(1);
        LoadReport report = new LoadReport(List.of("standard"), pairs.length, all, List.of(), 1.0);

        assertThat(report.placements()).as("in instance order; a rejection (-1) ran nowhere")
                .containsExactly(entry("0->-", 1), entry("0->1", 2), entry("0->2", 1), entry("2->2", 1));
        assertThat(report.preemptions()).isEqualTo(3);
        assertThat(report.preemptedRequests()).isEqualTo(2);
        JsonNode json = report.toJson();
        assertThat(json.get("instances")).hasSize(4);
        assertThat(json.get("instances").get(1).get("decode_instance").asInt()).isEqualTo(1);
        assertThat(json.get("instances").get(1).get("requests").asInt()).isEqualTo(2);
        assertThat(json.get("preemptions").asLong()).isEqualTo(3);
        ByteArrayOutputStream text = new ByteArrayOutputStream();
        report.print(new PrintStream(text, true));
        assertThat(text.toString()).contains("prefill->decode: 0->- 1, 0->1 2, 0->2 1, 2->2 1; preemptions 3 (2 requests)");
    }
}
