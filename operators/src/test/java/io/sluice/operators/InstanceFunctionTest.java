package io.sluice.operators;

import static io.sluice.operators.InstanceHarness.config;
import static io.sluice.operators.InstanceHarness.prompt;
import static io.sluice.operators.InstanceHarness.reference;
import static io.sluice.operators.InstanceHarness.request;
import static io.sluice.operators.InstanceHarness.tokens;
import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import io.sluice.gpu.model.ModelConfig;
import io.sluice.gpu.model.SyntheticCheckpoint;
import io.sluice.operators.ingest.AdmittedRequest;
import io.sluice.scheduling.PolicyOptions;
import io.sluice.schemas.FinishReason;
import io.sluice.schemas.RequestMetrics;
import io.sluice.schemas.TokenEvent;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import org.apache.flink.runtime.checkpoint.OperatorSubtaskState;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The instance operator in Flink's keyed harness on the real engine (stories260K), time advanced by hand. */
class InstanceFunctionTest {

    /** Every request got indices 0..n-1 and exactly one final event, the last one. */
    private static void assertWellFormed(List<TokenEvent> events, String id) {
        assertThat(events).as("events of %s", id).isNotEmpty();
        for (int i = 0; i < events.size(); i++) {
            assertThat(events.get(i).getIndex()).as("index of event %d of %s", i, id).isEqualTo(i);
            assertThat(events.get(i).getFinal$()).as("final flag of event %d of %s", i, id)
                    .isEqualTo(i == events.size() - 1);
        }
        assertThat(events.get(events.size() - 1).getFinishReason()).isNotNull();
    }

    @Test
    void greedyRequestFromBosMatchesRunCReference() throws Exception {
        Path shared = InstanceHarness.sharedModel();
        assumeTrue(shared != null, "the shared stories260K checkpoint and its reference ids are absent");
        Path ref = shared.resolveSibling("reference").resolve("stories260K_noprompt.ids");
        int[] expected = Arrays.stream(Files.readString(ref).trim().split("\\s+")).limit(40)
                .mapToInt(Integer::parseInt).toArray();
        try (InstanceHarness h = InstanceHarness.start(config("slidebatching", PolicyOptions.defaults()))) {
            h.add(request("g", new int[] {1}, 40, 0f, 0, h.now));
            h.runUntilIdle(500);
            List<TokenEvent> events = h.events("g");
            assertWellFormed(events, "g");
            assertThat(tokens(events)).containsExactly(expected);
            assertThat(events.get(events.size() - 1).getFinishReason()).isEqualTo(FinishReason.LENGTH);
        }
    }

    @Test
    void sampledRequestRunsToCompletionWithGeneratorsTokens() throws Exception {
        AdmittedRequest r;
        try (InstanceHarness h = InstanceHarness.start(config("slidebatching", PolicyOptions.defaults()))) {
            r = request("s", prompt(23, 7), 60, 0.9f, 42, h.now);
            r.ttftSloMs = 500;
            r.tpotSloMs = 100;
            h.add(r);
            h.runUntilIdle(1000);
            List<TokenEvent> events = h.events("s");
            assertWellFormed(events, "s");
            assertThat(tokens(events)).as("tokens vs Generator").containsExactly(reference(r));
            assertThat(h.metrics()).singleElement().satisfies(m -> {
                assertThat(m.getRequestId()).isEqualTo("s");
                assertThat(m.getGeneratedTokens()).isEqualTo(events.size());
                assertThat(m.getFinishReason()).isEqualTo(events.get(events.size() - 1).getFinishReason());
                assertThat(m.getTtftMs()).isNotNull();
                assertThat(m.getPromptTokens()).isEqualTo(23);
                // Harness time moves 1 ms per round: the first token comes in the first round, then 1 ms a token.
                assertThat(m.getSloMet()).isTrue();
            });
        }
    }

    @Test
    void mixedBatchOfRequestsAllFinishWithGeneratorsTokens() throws Exception {
        PolicyOptions options = PolicyOptions.defaults().withBatchLimits(96, 16);
        List<AdmittedRequest> sent = new ArrayList<>();
        try (InstanceHarness h = InstanceHarness.start(config("slidebatching", options))) {
            for (int i = 0; i < 10; i++) {
                AdmittedRequest r = request("m" + i, prompt(5 + 17 * i % 120, i), 8 + 7 * i % 40,
                        i % 3 == 0 ? 0f : 1.0f, 100 + i, h.now);
                if (i % 2 == 0) {
                    r.ttftSloMs = 200;
                    r.tpotSloMs = 50;
                } else {
                    r.priorityClass = "batch";
                    r.weight = 0.2;
                    r.deadlineMs = h.now + 5000;
                }
                sent.add(r);
                h.add(r);
                h.advance(i % 3); // arrivals spread over the first rounds, while earlier ones decode
            }
            h.runUntilIdle(5000);
            for (AdmittedRequest r : sent) {
                List<TokenEvent> events = h.events(r.requestId);
                assertWellFormed(events, r.requestId);
                assertThat(tokens(events)).as("tokens of %s vs Generator", r.requestId).containsExactly(reference(r));
            }
            assertThat(h.metrics()).hasSize(sent.size());
            // Continuous batching: some request produced its first token while another was mid-generation.
            Map<String, long[]> span = new HashMap<>();
            for (TokenEvent e : h.events()) {
                long t = e.getEmittedAt().toEpochMilli();
                span.merge(e.getRequestId(), new long[] {t, t}, (a, b) -> new long[] {Math.min(a[0], b[0]), Math.max(a[1], b[1])});
            }
            long overlaps = span.values().stream().filter(a -> span.values().stream()
                    .anyMatch(b -> b != a && b[0] > a[0] && b[0] < a[1])).count();
            assertThat(overlaps).isPositive();
            // Busy: a status every 10 ms (rounds come every 1 ms of harness time); the last one when it went idle.
            List<Long> at = h.statuses().stream().map(x -> x.getReportedAt().toEpochMilli()).toList();
            assertThat(at.size()).isGreaterThan(2);
            for (int i = 1; i < at.size() - 1; i++) {
                assertThat(at.get(i) - at.get(i - 1)).as("gap before status %d", i).isBetween(10L, 11L);
            }
            assertThat(h.statuses().get(at.size() - 1).getQueuedRequests()).isZero();
            assertThat(h.statuses().get(at.size() - 1).getRunningSequences()).isZero();
            assertThat(h.harness.numKeyedStateEntries()).isZero();
            assertThat(h.harness.numProcessingTimeTimers()).isZero();
        }
    }

    @Test
    void aRequestThatStartsAndEndsKeepsTheExpiryTimerItSharesWithOneThatHasNot() throws Exception {
        // One running sequence at a time: "b" waits while "a" runs, and both expire at the same millisecond, so
        // they share one Flink timer. "a" gives up its claim when it starts; ending must not give it up again.
        PolicyOptions options = PolicyOptions.defaults().withBatchLimits(256, 1);
        try (InstanceHarness h = InstanceHarness.start(config("fcfs", options))) {
            for (String id : List.of("a", "b")) {
                AdmittedRequest r = request(id, prompt(5, id.charAt(0)), 3, 0f, 1, h.now);
                r.ttftSloMs = 40;
                h.add(r);
            }
            while (h.events("a").stream().noneMatch(TokenEvent::getFinal$)) {
                h.advance(1);
            }
            assertThat(h.events("b")).as("'b' has not started").isEmpty();
            assertThat(h.harness.numProcessingTimeTimers()).as("the next round and the expiry 'b' still needs")
                    .isEqualTo(2);
            h.runUntilIdle(1000);
            assertThat(h.events("b")).last().satisfies(e -> assertThat(e.getFinishReason()).isEqualTo(FinishReason.LENGTH));
            assertThat(h.harness.numProcessingTimeTimers()).isZero();
        }
    }

    @Test
    void ttftDeadlineTimerExpiresARequestThatNeverStarted() throws Exception {
        // One running sequence at a time (fcfs, max 1 sequence): the second request cannot start while the first
        // decodes, so its TTFT timer fires first.
        PolicyOptions options = PolicyOptions.defaults().withBatchLimits(256, 1);
        try (InstanceHarness h = InstanceHarness.start(config("fcfs", options))) {
            h.add(request("long", prompt(10, 1), 200, 0f, 1, h.now));
            h.advance(3);
            AdmittedRequest late = request("late", prompt(10, 2), 10, 0f, 2, h.now);
            late.ttftSloMs = 30;
            long deadline = h.now + 30;
            h.add(late);
            assertThat(h.harness.numKeyedStateEntries()).as("the key's request map").isEqualTo(1);
            h.advance(29);
            assertThat(h.events("late")).as("nothing for 'late' before its deadline").isEmpty();
            h.advance(1);
            assertThat(h.events("late")).singleElement().satisfies(e -> {
                assertThat(e.getFinal$()).isTrue();
                assertThat(e.getFinishReason()).isEqualTo(FinishReason.EXPIRED);
                assertThat(e.getTokenId()).isEqualTo(-1);
                assertThat(e.getIndex()).isZero();
                assertThat(e.getEmittedAt().toEpochMilli()).isEqualTo(deadline);
                assertThat(e.getReasonDetail()).contains("TTFT");
            });
            RequestMetrics m = h.metrics().stream().filter(x -> x.getRequestId().equals("late")).findFirst().orElseThrow();
            assertThat(m.getFinishReason()).isEqualTo(FinishReason.EXPIRED);
            assertThat(m.getSloMet()).isFalse();
            assertThat(m.getTtftMs()).isNull();
            assertThat(h.harness.numKeyedStateEntries()).as("'long' still in state").isEqualTo(1);
            h.runUntilIdle(2000);
            assertWellFormed(h.events("long"), "long");
            assertThat(h.harness.numKeyedStateEntries()).isZero();
            assertThat(h.harness.numProcessingTimeTimers()).isZero();
        }
    }

    @Test
    void stateAndTimersDrainToZeroAndIdleInstanceKeepsReporting() throws Exception {
        InstanceConfig withHeartbeat = config("edf", PolicyOptions.defaults()).withIdleStatusMs(500);
        try (InstanceHarness h = InstanceHarness.start(withHeartbeat)) {
            for (int i = 0; i < 4; i++) {
                AdmittedRequest r = request("d" + i, prompt(12, i), 6, 0f, i, h.now);
                r.ttftSloMs = 1000; // an expiry timer each, deleted when the request starts
                h.add(r);
            }
            assertThat(h.harness.numKeyedStateEntries()).as("the key's request map").isEqualTo(1);
            assertThat(h.harness.numProcessingTimeTimers()).isGreaterThan(1);
            for (int i = 0; i < 200 && !h.metrics().stream().map(RequestMetrics::getRequestId).toList()
                    .containsAll(List.of("d0", "d1", "d2", "d3")); i++) {
                h.advance(1);
            }
            assertThat(h.metrics()).hasSize(4);
            assertThat(h.harness.numKeyedStateEntries()).as("keyed state entries").isZero();
            assertThat(h.harness.numProcessingTimeTimers()).as("only the idle heartbeat is left").isEqualTo(1);
            int before = h.statuses().size();
            assertThat(h.statuses().get(before - 1).getQueuedRequests()).isZero();
            assertThat(h.statuses().get(before - 1).getRunningSequences()).isZero();
            assertThat(h.statuses().get(before - 1).getFreeKvBlocks()).isEqualTo(256);
            h.advance(1000);
            assertThat(h.statuses().size() - before).as("idle reports in 1 s at 500 ms").isEqualTo(2);
        }
        try (InstanceHarness h = InstanceHarness.start(config("edf", PolicyOptions.defaults()))) {
            h.add(request("x", prompt(12, 9), 6, 0f, 9, h.now));
            h.runUntilIdle(500);
            assertThat(h.harness.numKeyedStateEntries()).isZero();
            assertThat(h.harness.numProcessingTimeTimers()).as("no heartbeat configured").isZero();
        }
    }

    @Test
    void restoredInstanceRecomputesKvAndContinuesTheSameTokens() throws Exception {
        InstanceConfig config = config("slidebatching", PolicyOptions.defaults());
        AdmittedRequest a;
        AdmittedRequest b;
        List<TokenEvent> before;
        OperatorSubtaskState snapshot;
        long at;
        try (InstanceHarness h = InstanceHarness.start(config)) {
            a = request("a", prompt(30, 3), 50, 0.8f, 3, h.now);
            b = request("b", prompt(9, 4), 40, 0f, 4, h.now);
            h.add(a);
            h.add(b);
            h.advance(12);
            before = h.events();
            assertThat(before).isNotEmpty();
            snapshot = h.harness.snapshot(1, h.now);
            at = h.now;
        }
        try (InstanceHarness h = InstanceHarness.restore(config, snapshot, at + 5)) {
            h.runUntilIdle(2000);
            for (AdmittedRequest r : List.of(a, b)) {
                List<TokenEvent> all = new ArrayList<>(before.stream().filter(e -> e.getRequestId().equals(r.requestId)).toList());
                List<TokenEvent> after = h.events(r.requestId);
                assertThat(after).as("the restored instance continues %s where the checkpoint left it", r.requestId)
                        .isNotEmpty();
                assertThat(after.get(0).getIndex()).isEqualTo(all.size());
                all.addAll(after);
                assertWellFormed(all, r.requestId);
                assertThat(tokens(all)).as("tokens of %s across the restore", r.requestId).containsExactly(reference(r));
            }
            assertThat(h.harness.numKeyedStateEntries()).isZero();
            assertThat(h.harness.numProcessingTimeTimers()).isZero();
        }
    }

    @Test
    void requestsServedSinceTheCheckpointAreServedAgainAfterALateRestoreNotExpired() throws Exception {
        // A restore rolls the state back to the checkpoint and the source replays what it read since. Here one
        // request was queued at the checkpoint and one arrived after it; both ran to the end before the failure,
        // so their clients have their tokens. The restore comes after their TTFT targets: the replay must give the
        // same tokens again, not an EXPIRED event at index 0 where the client already has a token.
        InstanceConfig config = config("slidebatching", PolicyOptions.defaults());
        AdmittedRequest queued;
        AdmittedRequest replayed;
        OperatorSubtaskState snapshot;
        long at;
        List<TokenEvent> before;
        try (InstanceHarness h = InstanceHarness.start(config)) {
            queued = request("queued", prompt(12, 5), 20, 0.8f, 5, h.now);
            queued.ttftSloMs = 50;
            h.add(queued);
            snapshot = h.harness.snapshot(1, h.now);
            at = h.now;
            replayed = request("replayed", prompt(14, 6), 20, 0.8f, 6, h.now);
            replayed.ttftSloMs = 50;
            h.add(replayed);
            h.runUntilIdle(2000);
            before = h.events();
        }
        try (InstanceHarness h = InstanceHarness.restore(config, snapshot, at + 3000)) {
            h.add(replayed);
            h.runUntilIdle(2000);
            for (AdmittedRequest r : List.of(queued, replayed)) {
                List<TokenEvent> first = before.stream().filter(e -> e.getRequestId().equals(r.requestId)).toList();
                assertWellFormed(first, r.requestId);
                assertThat(tokens(first)).as("tokens of %s before the failure", r.requestId)
                        .containsExactly(reference(r));
                List<TokenEvent> again = h.events(r.requestId);
                assertWellFormed(again, r.requestId);
                assertThat(again.get(again.size() - 1).getFinishReason()).as("how %s ends after the restore",
                        r.requestId).isEqualTo(first.get(first.size() - 1).getFinishReason());
                assertThat(tokens(again)).as("tokens of %s after the restore", r.requestId)
                        .containsExactly(reference(r));
                RequestMetrics m = h.metrics().stream().filter(x -> x.getRequestId().equals(r.requestId))
                        .findFirst().orElseThrow();
                assertThat(m.getTtftMs()).as("TTFT of %s from its submission, not from the replay", r.requestId)
                        .isGreaterThanOrEqualTo(3000.0);
                assertThat(m.getSloMet()).isFalse();
            }
            assertThat(h.harness.numKeyedStateEntries()).isZero();
            assertThat(h.harness.numProcessingTimeTimers()).isZero();
        }
    }

    @Test
    void restoredRequestsTheJobsModelCannotServeAreRejectedNotRunIntoTheEngine(@TempDir Path dir) throws Exception {
        // A savepoint restored into a job with another model: a request it holds that the new model's context
        // cannot take ends REJECTED with the reason; the engine refusing it would fail the job, and every restart
        // after it.
        InstanceConfig config = config("fcfs", PolicyOptions.defaults());
        OperatorSubtaskState snapshot;
        long at;
        try (InstanceHarness h = InstanceHarness.start(config)) {
            h.add(request("long", prompt(100, 1), 50, 0f, 1, h.now));
            h.add(request("short", prompt(10, 2), 20, 0f, 2, h.now));
            snapshot = h.harness.snapshot(1, h.now);
            at = h.now;
        }
        ModelConfig c = SyntheticCheckpoint.Shape.S260K.config();
        Path small = dir.resolve("context64.bin");
        SyntheticCheckpoint.write(new ModelConfig(c.dim(), c.hiddenDim(), c.layers(), c.heads(), c.kvHeads(),
                c.vocabSize(), 64, c.sharedClassifier()), 7, small);
        InstanceConfig other = new InstanceConfig(small.toString(), null, 1, 256, "fcfs", PolicyOptions.defaults(),
                InstanceHarness.LATENCY, 10, 0, InstanceConfig.Engine.CPU);
        try (InstanceHarness h = InstanceHarness.restore(other, snapshot, at + 5)) {
            h.runUntilIdle(2000);
            assertThat(h.events("long")).singleElement().satisfies(e -> {
                assertThat(e.getFinishReason()).isEqualTo(FinishReason.REJECTED);
                assertThat(e.getReasonDetail()).contains("context");
            });
            assertWellFormed(h.events("short"), "short");
            assertThat(h.events("short").get(h.events("short").size() - 1).getFinishReason())
                    .isIn(FinishReason.LENGTH, FinishReason.EOS);
            assertThat(h.harness.numKeyedStateEntries()).isZero();
            assertThat(h.harness.numProcessingTimeTimers()).isZero();
        }
    }

    @Test
    void preemptedRequestsAreRecomputedAndKeepTheirTokens() throws Exception {
        // 20 blocks of 16 tokens for four sequences that grow to up to 170 tokens (11 blocks) each: the policy must
        // preempt, the engine drops the victim's KV, and prompt + generated tokens are prefilled again later.
        InstanceConfig small = new InstanceConfig(InstanceHarness.model().toString(), null, 1, 20, "fcfs",
                PolicyOptions.defaults().withBatchLimits(256, 8), InstanceHarness.LATENCY, 50, 0, InstanceConfig.Engine.CPU);
        try (InstanceHarness h = InstanceHarness.start(small)) {
            List<AdmittedRequest> sent = h.addOutgrowingRequests();
            h.runUntilIdle(5000);
            for (AdmittedRequest r : sent) {
                List<TokenEvent> events = h.events(r.requestId);
                assertWellFormed(events, r.requestId);
                assertThat(tokens(events)).as("tokens of %s vs Generator", r.requestId).containsExactly(reference(r));
            }
            assertThat(h.metrics().stream().mapToInt(RequestMetrics::getPreemptions).sum()).as("preemptions").isPositive();
            assertThat(h.statuses().get(h.statuses().size() - 1).getFreeKvBlocks()).as("every block back").isEqualTo(20);
            assertThat(h.harness.numKeyedStateEntries()).isZero();
            assertThat(h.harness.numProcessingTimeTimers()).isZero();
        }
    }

    @Test
    void twoKeysOnOneSubtaskShareTheEngineAndBothDrain() throws Exception {
        // After a restore at another parallelism a subtask can hold several instance keys.
        List<AdmittedRequest> sent = new ArrayList<>();
        try (InstanceHarness h = InstanceHarness.start(config("slidebatching", PolicyOptions.defaults()),
                r -> r.seed % 2 == 0 ? 11 : 12)) {
            for (int i = 0; i < 6; i++) {
                AdmittedRequest r = request("k" + i, prompt(8 + i, 70 + i), 12 + 3 * i, 0f, i, h.now);
                r.ttftSloMs = 300;
                sent.add(r);
                h.add(r);
            }
            h.runUntilIdle(2000);
            for (AdmittedRequest r : sent) {
                List<TokenEvent> events = h.events(r.requestId);
                assertWellFormed(events, r.requestId);
                assertThat(tokens(events)).containsExactly(reference(r));
            }
            assertThat(h.harness.numKeyedStateEntries()).isZero();
            assertThat(h.harness.numProcessingTimeTimers()).isZero();
        }
    }

    @Test
    void aRequestOfAnotherKeyFinishedBeforeACheckpointIsNotServedAgainAfterTheRestore() throws Exception {
        // Two keys on one subtask share rounds, so a request of key 11 can finish in a callback of key 12, where
        // key 11's state cannot be written. A checkpoint before key 11's next callback must still count it done.
        InstanceConfig config = config("slidebatching", PolicyOptions.defaults());
        OperatorSubtaskState snapshot = null;
        long at = 0;
        AdmittedRequest b;
        List<TokenEvent> before;
        try (InstanceHarness h = InstanceHarness.start(config, r -> r.requestId.startsWith("a") ? 11 : 12)) {
            h.add(request("a", prompt(9, 1), 4, 0f, 1, h.now));
            b = request("b", prompt(9, 2), 60, 0f, 2, h.now);
            h.add(b);
            for (int i = 0; i < 200 && snapshot == null; i++) {
                h.advance(1);
                if (!h.events("a").isEmpty() && h.events("a").get(h.events("a").size() - 1).getFinal$()) {
                    assertThat(h.harness.numKeyedStateEntries())
                            .as("key 11's record is still waiting for its callback").isEqualTo(2);
                    snapshot = h.harness.snapshot(1, h.now);
                    at = h.now;
                }
            }
            assertThat(snapshot).as("'a' finished").isNotNull();
            before = h.events();
        }
        try (InstanceHarness h = InstanceHarness.restore(config, snapshot, at + 5)) {
            h.runUntilIdle(2000);
            assertThat(h.events("a")).as("'a' ended before the checkpoint").isEmpty();
            assertThat(h.metrics()).extracting(RequestMetrics::getRequestId).containsExactly("b");
            List<TokenEvent> all = new ArrayList<>(before.stream().filter(e -> e.getRequestId().equals("b")).toList());
            all.addAll(h.events("b"));
            assertWellFormed(all, "b");
            assertThat(tokens(all)).containsExactly(reference(b));
            assertThat(h.harness.numKeyedStateEntries()).isZero();
            assertThat(h.harness.numProcessingTimeTimers()).isZero();
        }
    }

    @Test
    void noopEngineRunsEveryRequestToItsLengthWithReplayableTokens() throws Exception {
        InstanceConfig noop = config("slidebatching", PolicyOptions.defaults()).withEngine(InstanceConfig.Engine.NOOP);
        // The batching order follows measured step times, so only each request's own tokens must replay.
        List<Map<String, List<Integer>>> runs = new ArrayList<>();
        for (int run = 0; run < 2; run++) {
            try (InstanceHarness h = InstanceHarness.start(noop)) {
                for (int i = 0; i < 50; i++) {
                    h.add(request("n" + i, prompt(3 + i % 7, i), 1 + i % 9, 0f, i, h.now));
                }
                h.runUntilIdle(1000);
                for (int i = 0; i < 50; i++) {
                    List<TokenEvent> events = h.events("n" + i);
                    assertWellFormed(events, "n" + i);
                    assertThat(events).hasSize(1 + i % 9);
                    assertThat(events.get(events.size() - 1).getFinishReason()).isEqualTo(FinishReason.LENGTH);
                }
                Map<String, List<Integer>> byRequest = new TreeMap<>();
                for (int i = 0; i < 50; i++) {
                    byRequest.put("n" + i, Arrays.stream(tokens(h.events("n" + i))).boxed().toList());
                }
                runs.add(byRequest);
                assertThat(h.harness.numKeyedStateEntries()).isZero();
                assertThat(h.harness.numProcessingTimeTimers()).isZero();
            }
        }
        assertThat(runs.get(1)).isEqualTo(runs.get(0));
    }

    @Test
    void requestsTheModelCannotServeAreRejectedWithoutState() throws Exception {
        try (InstanceHarness h = InstanceHarness.start(config("fcfs", PolicyOptions.defaults()))) {
            h.add(request("huge", prompt(500, 1), 100, 0f, 1, h.now)); // 500 + 100 > seq_len 512
            AdmittedRequest vocab = request("vocab", new int[] {1, 9999}, 4, 0f, 1, h.now);
            h.add(vocab);
            for (String id : List.of("huge", "vocab")) {
                assertThat(h.events(id)).singleElement().satisfies(e -> {
                    assertThat(e.getFinishReason()).isEqualTo(FinishReason.REJECTED);
                    assertThat(e.getReasonDetail()).isNotBlank();
                });
            }
            assertThat(h.events("huge").get(0).getReasonDetail()).contains("context");
            assertThat(h.metrics()).hasSize(2).allSatisfy(m -> assertThat(m.getSloMet()).isFalse());
            assertThat(h.harness.numKeyedStateEntries()).isZero();
            assertThat(h.harness.numProcessingTimeTimers()).isZero();
        }
    }
}
