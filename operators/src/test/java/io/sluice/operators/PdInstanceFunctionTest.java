package io.sluice.operators;

import static io.sluice.operators.InstanceHarness.config;
import static io.sluice.operators.InstanceHarness.prompt;
import static io.sluice.operators.InstanceHarness.reference;
import static io.sluice.operators.InstanceHarness.request;
import static io.sluice.operators.InstanceHarness.tokens;
import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import io.sluice.gpu.exec.CpuExecutor;
import io.sluice.gpu.exec.Generator;
import io.sluice.gpu.model.CheckpointLoader;
import io.sluice.gpu.model.SyntheticCheckpoint;
import io.sluice.gpu.model.Weights;
import io.sluice.gpu.sampling.SamplingParams;
import io.sluice.gpu.tokenizer.Tokenizer;
import io.sluice.operators.ingest.AdmittedRequest;
import io.sluice.scheduling.PolicyOptions;
import io.sluice.scheduling.Role;
import io.sluice.schemas.FinishReason;
import io.sluice.schemas.InstanceRole;
import io.sluice.schemas.InstanceStatus;
import io.sluice.schemas.RequestMetrics;
import io.sluice.schemas.TokenEvent;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.IntStream;
import org.apache.flink.api.common.serialization.SerializerConfigImpl;
import org.apache.flink.api.common.typeinfo.TypeInformation;
import org.apache.flink.api.common.typeutils.TypeSerializer;
import org.apache.flink.api.java.typeutils.PojoTypeInfo;
import org.apache.flink.core.memory.DataInputDeserializer;
import org.apache.flink.core.memory.DataOutputSerializer;
import org.apache.flink.runtime.checkpoint.OperatorSubtaskState;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Prefill/decode separation in the instance operator (stories260K, Flink's keyed harness): a PREFILL instance
 * emits the first token and hands the sequence over with its KV; a DECODE instance imports it and finishes with
 * the very tokens {@code Generator} produces; the host tier brings preempted sequences back without recompute.
 */
class PdInstanceFunctionTest {

    private static InstanceConfig prefill(int decodeInstances, boolean hybrid) {
        return config("slidebatching", PolicyOptions.defaults()).withRole(Role.PREFILL, 0, decodeInstances, hybrid);
    }

    private static InstanceConfig decode() {
        return config("slidebatching", PolicyOptions.defaults()).withRole(Role.DECODE, 1, 0, false);
    }

    private static List<AdmittedRequest> requests(long now) {
        List<AdmittedRequest> sent = new ArrayList<>();
        for (int i = 0; i < 6; i++) {
            AdmittedRequest r = request("r" + i, prompt(5 + 9 * i, 100 + i), 30 + 7 * i, i % 2 == 0 ? 0f : 0.8f,
                    100 + i, now);
            r.ttftSloMs = 5000;
            r.tpotSloMs = 1000;
            sent.add(r);
        }
        return sent;
    }

    @Test
    void prefillHandsOverAndDecodeFinishesWithGeneratorsTokens() throws Exception {
        List<AdmittedRequest> sent;
        List<KvHandoff> handoffs;
        List<TokenEvent> firstTokens;
        try (InstanceHarness p = InstanceHarness.start(prefill(1, false))) {
            sent = requests(p.now);
            for (AdmittedRequest r : sent) {
                p.add(r);
            }
            p.runUntilIdle(2000);
            handoffs = p.handoffs();
            firstTokens = p.events();
            assertThat(handoffs).as("one handoff per request").hasSize(sent.size());
            for (KvHandoff h : handoffs) {
                String id = h.record.request.requestId;
                assertThat(h.record.generated).as("%s leaves with its first token", id).hasSize(1);
                assertThat(h.kvLength).as("KV of %s: the prompt", id).isEqualTo(h.record.request.promptTokens.length);
                assertThat(h.decodeInstance).isZero();
                assertThat(h.prefillInstance).isZero();
                assertThat(p.events(id)).singleElement().satisfies(e -> {
                    assertThat(e.getIndex()).isZero();
                    assertThat(e.getFinal$()).isFalse();
                    assertThat(e.getTokenId()).isEqualTo(h.record.generated[0]);
                });
            }
            assertThat(p.metrics()).as("metrics come from the instance that ends the request").isEmpty();
            assertThat(p.statuses()).allSatisfy(s -> assertThat(s.getRole()).isEqualTo(InstanceRole.PREFILL));
            assertThat(p.statuses().get(p.statuses().size() - 1).getFreeKvBlocks()).as("every block back").isEqualTo(256);
            assertThat(p.harness.numKeyedStateEntries()).as("state of the prefill instance").isZero();
            assertThat(p.harness.numProcessingTimeTimers()).isZero();
        }
        try (InstanceHarness d = InstanceHarness.start(decode())) {
            for (KvHandoff h : handoffs) {
                d.add(roundTrip(h));
            }
            assertThat(d.harness.numKeyedStateEntries()).as("the decode instance keeps the records").isEqualTo(1);
            d.runUntilIdle(5000);
            for (AdmittedRequest r : sent) {
                List<TokenEvent> all = new ArrayList<>(firstTokens.stream()
                        .filter(e -> e.getRequestId().equals(r.requestId)).toList());
                all.addAll(d.events(r.requestId));
                assertThat(all.stream().map(TokenEvent::getIndex).toList()).as("indices of %s", r.requestId)
                        .containsExactlyElementsOf(IntStream.range(0, all.size()).boxed().toList());
                assertThat(all).filteredOn(TokenEvent::getFinal$).as("final events of %s", r.requestId).hasSize(1);
                assertThat(all.get(all.size() - 1).getFinal$()).isTrue();
                assertThat(tokens(all)).as("tokens of %s vs Generator", r.requestId).containsExactly(reference(r));
            }
            assertThat(d.metrics()).hasSize(sent.size()).allSatisfy(m -> {
                assertThat(m.getPrefillInstance()).isZero();
                assertThat(m.getDecodeInstance()).isEqualTo(1);
                assertThat(m.getTtftMs()).as("TTFT kept across the handoff").isNotNull().isLessThan(2000.0);
                assertThat(m.getTpotMs()).isNotNull();
                assertThat(m.getGeneratedTokens()).isGreaterThan(1);
            });
            List<InstanceStatus> statuses = d.statuses();
            assertThat(statuses).allSatisfy(s -> {
                assertThat(s.getRole()).isEqualTo(InstanceRole.DECODE);
                assertThat(s.getInstance()).isEqualTo(1);
            });
            assertThat(statuses.get(statuses.size() - 1).getFreeKvBlocks()).isEqualTo(256);
            assertThat(d.harness.numKeyedStateEntries()).as("state of the decode instance").isZero();
            assertThat(d.harness.numProcessingTimeTimers()).isZero();
        }
    }

    @Test
    void restoredDecodeInstanceRecomputesTheHandedOverKvAndContinuesTheSameTokens() throws Exception {
        List<AdmittedRequest> sent;
        List<KvHandoff> handoffs;
        List<TokenEvent> first;
        try (InstanceHarness p = InstanceHarness.start(prefill(1, false))) {
            sent = requests(p.now).subList(2, 5);
            for (AdmittedRequest r : sent) {
                p.add(r);
            }
            p.runUntilIdle(2000);
            handoffs = p.handoffs();
            first = p.events();
        }
        List<TokenEvent> before;
        OperatorSubtaskState snapshot;
        long at;
        try (InstanceHarness d = InstanceHarness.start(decode())) {
            for (KvHandoff h : handoffs) {
                d.add(h);
            }
            d.advance(6);
            before = d.events();
            assertThat(before).as("some tokens before the checkpoint").isNotEmpty();
            snapshot = d.harness.snapshot(1, d.now);
            at = d.now;
        }
        try (InstanceHarness d = InstanceHarness.restore(decode(), snapshot, at + 5)) {
            d.runUntilIdle(5000);
            for (AdmittedRequest r : sent) {
                List<TokenEvent> all = new ArrayList<>();
                for (List<TokenEvent> part : List.of(first, before, d.events())) {
                    all.addAll(part.stream().filter(e -> e.getRequestId().equals(r.requestId)).toList());
                }
                assertThat(all.stream().map(TokenEvent::getIndex).toList()).as("indices of %s", r.requestId)
                        .containsExactlyElementsOf(IntStream.range(0, all.size()).boxed().toList());
                assertThat(all.get(all.size() - 1).getFinal$()).isTrue();
                assertThat(tokens(all)).as("tokens of %s across the restore", r.requestId)
                        .containsExactly(reference(r));
            }
            assertThat(d.harness.numKeyedStateEntries()).isZero();
            assertThat(d.harness.numProcessingTimeTimers()).isZero();
        }
    }

    @Test
    void aHandoffWhoseKvIsAnotherModelsIsRecomputedNotDecodedOver(@TempDir Path dir) throws Exception {
        // A TaskManager with another file at the model's path (of the same shape): the KV a prefill instance sends
        // means nothing to this decode instance's model. Decoding over it continued from garbage; the decode
        // instance prefills prompt and first token with its own model and continues from there.
        Path other = dir.resolve("other260k.bin");
        SyntheticCheckpoint.write(SyntheticCheckpoint.Shape.S260K.config(), 5, other);
        List<AdmittedRequest> sent = new ArrayList<>();
        List<KvHandoff> handoffs;
        try (InstanceHarness p = InstanceHarness.start(prefill(1, false))) {
            for (int i = 0; i < 3; i++) {
                AdmittedRequest r = request("m" + i, prompt(7 + 5 * i, 300 + i), 20, 0f, 300 + i, p.now);
                sent.add(r);
                p.add(r);
            }
            p.runUntilIdle(2000);
            handoffs = p.handoffs();
            assertThat(handoffs).hasSize(sent.size());
        }
        InstanceConfig otherDecode = new InstanceConfig(other.toString(), null, 1, 256, "slidebatching",
                PolicyOptions.defaults(), InstanceHarness.LATENCY, 10, 0, InstanceConfig.Engine.CPU)
                .withRole(Role.DECODE, 1, 0, false);
        try (InstanceHarness d = InstanceHarness.start(otherDecode)) {
            for (KvHandoff h : handoffs) {
                d.add(roundTrip(h));
            }
            d.runUntilIdle(5000);
            Weights weights = CheckpointLoader.load(other);
            try (CpuExecutor ex = new CpuExecutor(weights, CpuExecutor.Options.defaults(weights.config())
                    .withThreads(1).withKvBlocks(64))) {
                for (KvHandoff h : handoffs) {
                    AdmittedRequest r = h.record.request;
                    int[] known = Arrays.copyOf(r.promptTokens, r.promptTokens.length + 1);
                    known[r.promptTokens.length] = h.record.generated[0];
                    int[] ids = Generator.generate(ex, known, r.promptTokens.length - 1 + r.maxNewTokens,
                            new SamplingParams(r.temperature, r.topP, r.seed), t -> { }).ids();
                    int[] expected = Arrays.copyOfRange(ids, known.length - 1, ids.length);
                    for (int i = 0; i < expected.length; i++) {
                        if (expected[i] == Tokenizer.EOS) {
                            expected = Arrays.copyOf(expected, i);
                            break;
                        }
                    }
                    assertThat(tokens(d.events(r.requestId))).as("tokens of %s after its first", r.requestId)
                            .containsExactly(expected);
                }
            }
            assertThat(d.harness.numKeyedStateEntries()).isZero();
            assertThat(d.harness.numProcessingTimeTimers()).isZero();
        }
    }

    @Test
    void decodeStatusReportsTheBlocksPromisedToHandoffsItHasNotAdmittedYet() throws Exception {
        // Three handoffs that need 7 blocks at once (each its KV positions plus the next) for a pool of 4 (64
        // tokens): what does not fit waits queued until the admitted ones end and give their blocks back.
        List<AdmittedRequest> sent = new ArrayList<>();
        List<KvHandoff> handoffs;
        try (InstanceHarness p = InstanceHarness.start(prefill(1, false))) {
            sent.add(request("a", prompt(40, 21), 20, 0f, 21, p.now));
            sent.add(request("b", prompt(30, 22), 10, 0.8f, 22, p.now));
            sent.add(request("c", prompt(17, 23), 5, 0f, 23, p.now));
            // TPOT SLOs too loose to change any plan here, for the status's tightest one: c has none.
            sent.get(0).tpotSloMs = 5000;
            sent.get(1).tpotSloMs = 4000;
            for (AdmittedRequest r : sent) {
                p.add(r);
            }
            p.runUntilIdle(2000);
            handoffs = p.handoffs();
            assertThat(handoffs).hasSize(3);
        }
        int blockTokens = CpuExecutor.Options.defaults(CheckpointLoader.load(InstanceHarness.model()).config())
                .blockSize();
        Map<String, Integer> needs = new HashMap<>();
        for (KvHandoff h : handoffs) {
            needs.put(h.record.request.requestId, (h.kvLength + 1 + blockTokens - 1) / blockTokens);
        }
        assertThat(needs).as("KV of 40, 30 and 17 positions plus the next, in blocks of %d", blockTokens)
                .containsEntry("a", 3).containsEntry("b", 2).containsEntry("c", 2);
        InstanceConfig small = new InstanceConfig(InstanceHarness.model().toString(), null, 1, 4, "slidebatching",
                PolicyOptions.defaults(), InstanceHarness.LATENCY, 10, 0, InstanceConfig.Engine.CPU)
                .withRole(Role.DECODE, 1, 0, false);
        try (InstanceHarness d = InstanceHarness.start(small)) {
            for (KvHandoff h : handoffs) {
                d.add(roundTrip(h));
            }
            d.runUntilIdle(5000);
            for (AdmittedRequest r : sent) {
                List<TokenEvent> events = d.events(r.requestId);
                assertThat(events.get(events.size() - 1).getFinal$()).as("%s ends", r.requestId).isTrue();
                assertThat(tokens(events)).as("tokens of %s", r.requestId).containsExactly(
                        Arrays.copyOfRange(reference(r), 1, reference(r).length));
            }
            List<InstanceStatus> statuses = d.statuses();
            assertThat(statuses).isNotEmpty().allSatisfy(s -> {
                assertThat(s.getKvBlockTokens()).as("tokens per block: the engine's").isEqualTo(blockTokens);
                assertThat(s.getTotalKvBlocks()).isEqualTo(4);
            });
            // A handoff is admitted in the round that decodes its first token here; a status is taken after its
            // callback's round, so it counts exactly the handoffs with no token out by its time.
            for (InstanceStatus s : statuses) {
                long at = s.getReportedAt().toEpochMilli();
                int queued = needs.entrySet().stream()
                        .filter(e -> d.events(e.getKey()).stream()
                                .noneMatch(ev -> ev.getEmittedAt().toEpochMilli() <= at))
                        .mapToInt(Map.Entry::getValue).sum();
                assertThat(s.getInboundKvBlocks()).as("inbound blocks in the status at %d", at).isEqualTo(queued);
            }
            assertThat(statuses.get(0).getInboundKvBlocks()).as("the first status: 7 blocks promised to a pool of 4, "
                    + "so some handoff still waits").isPositive();
            assertThat(statuses.get(0).getTightestTpotMs()).as("b's, queued or running with a's and c").isEqualTo(4000);
            assertThat(statuses).as("a status after every admission, with sequences still running")
                    .anySatisfy(s -> {
                        assertThat(s.getInboundKvBlocks()).isZero();
                        assertThat(s.getRunningSequences()).isPositive();
                    });
            InstanceStatus last = statuses.get(statuses.size() - 1);
            assertThat(last.getInboundKvBlocks()).as("all ended").isZero();
            assertThat(last.getTightestTpotMs()).as("no sequence, no TPOT SLO: 0 on the wire").isZero();
            assertThat(last.getFreeKvBlocks()).isEqualTo(4);
            assertThat(d.harness.numKeyedStateEntries()).isZero();
            assertThat(d.harness.numProcessingTimeTimers()).isZero();
        }
    }

    @Test
    void aRequestDoneAtItsFirstTokenEndsOnThePrefillInstance() throws Exception {
        try (InstanceHarness p = InstanceHarness.start(prefill(1, false))) {
            AdmittedRequest r = request("one", prompt(9, 3), 1, 0f, 3, p.now);
            p.add(r);
            p.runUntilIdle(500);
            assertThat(p.handoffs()).isEmpty();
            assertThat(p.events("one")).singleElement().satisfies(e -> {
                assertThat(e.getFinal$()).isTrue();
                assertThat(e.getFinishReason()).isEqualTo(FinishReason.LENGTH);
            });
            assertThat(p.metrics()).singleElement().extracting(RequestMetrics::getPrefillInstance).isEqualTo(0);
            assertThat(p.harness.numKeyedStateEntries()).isZero();
        }
    }

    @Test
    void handoffsGoToADecodeInstanceThatAdmits() throws Exception {
        try (InstanceHarness p = InstanceHarness.start(prefill(2, false))) {
            p.add(DecodeLoad.of(0, 10, 256, p.now));
            p.add(DecodeLoad.of(1, 200, 256, p.now));
            p.add(request("a", prompt(12, 1), 10, 0f, 1, p.now));
            p.runUntilIdle(500);
            // Instance 0 is under the upper threshold (10 / 256 free, under 5 %): it does not admit.
            assertThat(p.handoffs()).singleElement().extracting(h -> h.decodeInstance).isEqualTo(1);
        }
    }

    @Test
    void handoffsGoToTheFirstDecodeInstanceThatKeepsTheTpotTargetNotTheMostFree() throws Exception {
        try (InstanceHarness p = InstanceHarness.start(prefill(3, false))) {
            p.add(DecodeLoad.of(0, 250, 256, 8, 120.0, p.now)); // most free, but its steps already take 120 ms
            p.add(DecodeLoad.of(1, 60, 256, 2, 10.0, p.now));
            p.add(DecodeLoad.of(2, 100, 256, 0, 0.0, p.now));
            AdmittedRequest r = request("a", prompt(12, 1), 10, 0f, 1, p.now);
            r.tpotSloMs = 100;
            p.add(r);
            p.runUntilIdle(500);
            assertThat(p.handoffs()).singleElement().extracting(h -> h.decodeInstance).isEqualTo(1);
        }
    }

    @Test
    void withoutHybridASequenceNoDecodeInstanceAdmitsWaitsForOneWithRoom() throws Exception {
        try (InstanceHarness p = InstanceHarness.start(prefill(2, false))) {
            p.add(DecodeLoad.of(0, 2, 256, p.now));
            p.add(DecodeLoad.of(1, 5, 256, p.now));
            p.add(request("waits", prompt(12, 4), 10, 0f, 4, p.now));
            p.add(request("too", prompt(9, 5), 10, 0f, 5, p.now));
            p.runUntilIdle(500);
            assertThat(p.handoffs()).as("every decode instance is above the upper threshold: none forced").isEmpty();
            assertThat(p.events("waits")).as("its first token is out").hasSize(1);
            assertThat(p.harness.numProcessingTimeTimers()).as("no round timers while only handoffs wait, only the "
                    + "heartbeat that brings them back after a restore").isEqualTo(1);
            // Instance 1 frees blocks but stays under the lower threshold; instance 0 reports room.
            p.add(DecodeLoad.of(1, 30, 256, p.now));
            assertThat(p.handoffs()).isEmpty();
            p.add(DecodeLoad.of(0, 200, 256, p.now));
            assertThat(p.handoffs()).as("sent on the report that shows room")
                    .extracting(h -> h.record.request.requestId + "@" + h.decodeInstance)
                    .containsExactlyInAnyOrder("waits@0", "too@0");
            p.runUntilIdle(500);
            assertThat(p.harness.numKeyedStateEntries()).isZero();
        }
    }

    @Test
    void aSequenceWaitingForADecodeInstanceSurvivesARestore() throws Exception {
        AdmittedRequest r;
        List<TokenEvent> before;
        OperatorSubtaskState snapshot;
        long at;
        try (InstanceHarness p = InstanceHarness.start(prefill(1, false))) {
            p.add(DecodeLoad.of(0, 2, 256, p.now));
            r = request("waits", prompt(12, 4), 10, 0f, 4, p.now);
            p.add(r);
            p.runUntilIdle(500);
            assertThat(p.handoffs()).as("the decode instance is full").isEmpty();
            before = p.events("waits");
            assertThat(before).as("its first token is out").hasSize(1);
            snapshot = p.harness.snapshot(1, p.now);
            at = p.now;
        }
        List<KvHandoff> handoffs;
        List<TokenEvent> after;
        try (InstanceHarness p = InstanceHarness.restore(prefill(1, false), snapshot, at + 5)) {
            p.add(DecodeLoad.of(0, 200, 256, p.now));
            p.runUntilIdle(3 * InstanceFunction.AWAITING_HEARTBEAT_MS);
            // Its KV was in memory only: the restored instance prefills prompt and first token again, which
            // samples the second token, and hands the sequence over with both.
            handoffs = p.handoffs();
            assertThat(handoffs).as("the restored instance hands the sequence over once the decode instance has room")
                    .singleElement().satisfies(h -> {
                        assertThat(h.record.request.requestId).isEqualTo("waits");
                        assertThat(h.record.generated[0]).isEqualTo(before.get(0).getTokenId());
                    });
            after = p.events("waits");
            assertThat(p.harness.numKeyedStateEntries()).isZero();
            assertThat(p.harness.numProcessingTimeTimers()).isZero();
        }
        try (InstanceHarness d = InstanceHarness.start(decode())) {
            d.add(handoffs.get(0));
            d.runUntilIdle(2000);
            List<TokenEvent> all = new ArrayList<>(before);
            all.addAll(after);
            all.addAll(d.events("waits"));
            assertThat(all.stream().map(TokenEvent::getIndex).toList()).as("no token emitted twice or skipped")
                    .containsExactlyElementsOf(IntStream.range(0, all.size()).boxed().toList());
            assertThat(tokens(all)).as("tokens across the restore").containsExactly(reference(r));
        }
    }

    @Test
    void aSequenceOfAnotherKeySentOnADecodeReportIsNotHandedOverAgainAfterARestore() throws Exception {
        // After a restore at another parallelism a subtask holds several instance keys: here the request's key is
        // not the one decode reports arrive on, so its handoff is sent from another key's callback, where its state
        // cannot be written. A checkpoint before its key's next callback must not bring the sequence back.
        int otherKey = InstanceKeys.keyFor(0, 1, InstanceHarness.MAX_PARALLELISM) + 1;
        OperatorSubtaskState snapshot;
        long at;
        List<KvHandoff> before;
        try (InstanceHarness p = InstanceHarness.start(prefill(1, false), r -> otherKey)) {
            p.add(DecodeLoad.of(0, 2, 256, p.now));
            p.add(request("waits", prompt(12, 4), 10, 0f, 4, p.now));
            p.runUntilIdle(500);
            assertThat(p.handoffs()).as("the decode instance is full").isEmpty();
            p.add(DecodeLoad.of(0, 200, 256, p.now));
            before = p.handoffs();
            assertThat(before).as("sent on the report that shows room").hasSize(1);
            snapshot = p.harness.snapshot(1, p.now);
            at = p.now;
        }
        try (InstanceHarness p = InstanceHarness.restore(prefill(1, false), snapshot, at + 5)) {
            p.add(DecodeLoad.of(0, 200, 256, p.now));
            p.runUntilIdle(3 * InstanceFunction.AWAITING_HEARTBEAT_MS);
            assertThat(p.handoffs()).as("the sequence was handed over before the checkpoint: not again").isEmpty();
            assertThat(p.events("waits")).as("nothing more of it here").isEmpty();
            assertThat(p.harness.numKeyedStateEntries()).isZero();
            assertThat(p.harness.numProcessingTimeTimers()).isZero();
        }
        // The same at parallelism 2: the writes reach whichever subtask holds the key now.
        for (int subtask = 0; subtask < 2; subtask++) {
            try (InstanceHarness p = InstanceHarness.restoreRescaled(prefill(1, false), snapshot, at + 5, 2, subtask)) {
                p.runUntilIdle(3 * InstanceFunction.AWAITING_HEARTBEAT_MS);
                assertThat(p.handoffs()).as("subtask %d of 2", subtask).isEmpty();
                assertThat(p.events("waits")).isEmpty();
                assertThat(p.harness.numKeyedStateEntries()).isZero();
            }
        }
    }

    @Test
    void hybridPrefillInstanceDecodesItselfWhenEveryDecodeInstanceIsFull() throws Exception {
        try (InstanceHarness p = InstanceHarness.start(prefill(1, true))) {
            p.add(DecodeLoad.of(0, 2, 256, p.now));
            AdmittedRequest r = request("kept", prompt(17, 2), 40, 0.8f, 2, p.now);
            p.add(r);
            p.runUntilIdle(2000);
            assertThat(p.handoffs()).as("no decode instance admits: nothing handed over").isEmpty();
            List<TokenEvent> events = p.events("kept");
            assertThat(events.get(events.size() - 1).getFinal$()).isTrue();
            assertThat(tokens(events)).as("tokens after the local KV round trip").containsExactly(reference(r));
            assertThat(p.metrics()).singleElement().satisfies(m -> assertThat(m.getDecodeInstance()).isZero());
            assertThat(p.harness.numKeyedStateEntries()).isZero();
            assertThat(p.harness.numProcessingTimeTimers()).isZero();
        }
    }

    @Test
    void decodeInstanceServesAHybridPrefillBesideItsHandoffs() throws Exception {
        List<KvHandoff> handoffs;
        AdmittedRequest handed;
        try (InstanceHarness p = InstanceHarness.start(prefill(1, false))) {
            handed = request("h", prompt(14, 8), 25, 0f, 8, p.now);
            p.add(handed);
            p.runUntilIdle(500);
            handoffs = p.handoffs();
        }
        try (InstanceHarness d = InstanceHarness.start(decode())) {
            AdmittedRequest routed = request("short", prompt(6, 9), 20, 0.8f, 9, d.now);
            d.add(routed); // routed here by the hybrid router: prefilled and decoded on the decode instance
            d.add(handoffs.get(0));
            d.runUntilIdle(2000);
            assertThat(tokens(d.events("short"))).containsExactly(reference(routed));
            assertThat(tokens(d.events("h"))).containsExactly(
                    java.util.Arrays.copyOfRange(reference(handed), 1, reference(handed).length));
            assertThat(d.metrics()).hasSize(2);
            assertThat(d.harness.numKeyedStateEntries()).isZero();
            assertThat(d.harness.numProcessingTimeTimers()).isZero();
        }
    }

    @Test
    void hostTierBringsPreemptedSequencesBackWithTheirTokens() throws Exception {
        // As the recompute test: 20 device blocks for four sequences that grow to 11 blocks each, so fcfs must
        // preempt; with 40 host blocks a decoding victim's KV goes to host memory and comes back. Whether a status
        // (every 10 ms) falls while a victim is on the host depends on when the sequences stop: stories260K's own
        // outputs, which a synthetic model does not reproduce.
        Path stories = InstanceHarness.sharedModel();
        assumeTrue(stories != null, "the shared stories260K checkpoint is absent");
        InstanceConfig small = new InstanceConfig(stories.toString(), null, 1, 20, "fcfs",
                PolicyOptions.defaults().withBatchLimits(256, 8), InstanceHarness.LATENCY, 10, 0,
                InstanceConfig.Engine.CPU).withHostKvBlocks(40);
        try (InstanceHarness h = InstanceHarness.start(small)) {
            List<AdmittedRequest> sent = h.addOutgrowingRequests();
            h.runUntilIdle(5000);
            for (AdmittedRequest r : sent) {
                List<TokenEvent> events = h.events(r.requestId);
                assertThat(events.get(events.size() - 1).getFinal$()).isTrue();
                assertThat(tokens(events)).as("tokens of %s vs Generator", r.requestId).containsExactly(reference(r));
            }
            assertThat(h.metrics().stream().mapToInt(RequestMetrics::getPreemptions).sum()).as("preemptions").isPositive();
            assertThat(h.statuses()).as("some status saw KV on the host tier")
                    .anySatisfy(s -> assertThat(s.getHostKvBlocks()).isPositive());
            InstanceStatus last = h.statuses().get(h.statuses().size() - 1);
            assertThat(last.getFreeKvBlocks()).as("every block back").isEqualTo(20);
            assertThat(last.getHostKvBlocks()).as("host tier empty").isZero();
            assertThat(h.harness.numKeyedStateEntries()).isZero();
            assertThat(h.harness.numProcessingTimeTimers()).isZero();
        }
    }

    /** The handoff through the serializer the job uses (generic types disabled), as the network would carry it. */
    private static KvHandoff roundTrip(KvHandoff h) throws Exception {
        TypeInformation<InstanceInput> type = TypeInformation.of(InstanceInput.class);
        assertThat(type).isInstanceOf(PojoTypeInfo.class);
        SerializerConfigImpl config = new SerializerConfigImpl();
        config.setGenericTypes(false);
        TypeSerializer<InstanceInput> serializer = type.createSerializer(config);
        DataOutputSerializer out = new DataOutputSerializer(1024);
        serializer.serialize(InstanceInput.of(h), out);
        InstanceInput back = serializer.deserialize(new DataInputDeserializer(out.getCopyOfBuffer()));
        assertThat(back.request).isNull();
        assertThat(back.handoff.keys).isEqualTo(h.keys);
        return back.handoff;
    }
}
