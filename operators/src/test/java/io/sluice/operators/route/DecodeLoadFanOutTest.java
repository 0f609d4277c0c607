package io.sluice.operators.route;

import static org.assertj.core.api.Assertions.assertThat;

import io.sluice.operators.DecodeLoad;
import io.sluice.operators.InstanceInput;
import io.sluice.operators.InstanceKeys;
import io.sluice.schemas.InstanceRole;
import io.sluice.schemas.InstanceStatus;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import org.apache.flink.api.common.serialization.SerializerConfigImpl;
import org.apache.flink.api.common.typeinfo.TypeInformation;
import org.apache.flink.api.common.typeutils.TypeSerializer;
import org.apache.flink.api.java.typeutils.PojoTypeInfo;
import org.apache.flink.core.memory.DataInputDeserializer;
import org.apache.flink.core.memory.DataOutputSerializer;
import org.apache.flink.runtime.state.KeyGroupRangeAssignment;
import org.apache.flink.streaming.api.operators.StreamFlatMap;
import org.apache.flink.streaming.util.OneInputStreamOperatorTestHarness;
import org.junit.jupiter.api.Test;

/**
 * The decode statuses fanned out to the prefill instances, in Flink's operator harness: every prefill subtask gets
 * one copy of every decode instance's report, whole (inbound blocks included) and across the network's serializer,
 * for any pool sizes; reports of other roles or of ids outside the decode pool are dropped.
 */
class DecodeLoadFanOutTest {

    /** The job's max parallelism, which instance keys are computed for (InferenceJob.MAX_PARALLELISM). */
    private static final int MAX_PARALLELISM = 128;

    private static InstanceStatus status(int instance, InstanceRole role, int free, int inbound, long atMs) {
        return InstanceStatus.newBuilder()
                .setInstance(instance)
                .setRole(role)
                .setQueuedRequests(2)
                .setRunningSequences(instance + 3)
                .setBacklogMs(1.5)
                .setFreeKvBlocks(free)
                .setTotalKvBlocks(256)
                .setKvBlockTokens(16)
                .setInboundKvBlocks(inbound)
                .setEstimatedTpotMs(10.0 + instance)
                .setTightestTpotMs(instance % 2 == 0 ? 0.0 : 40.0 + instance)
                .setReportedAt(Instant.ofEpochMilli(atMs))
                .build();
    }

    /** The fan-out's outputs for {@code statuses}, through Flink's flat-map operator and the network's serializer. */
    private static List<InstanceInput> fanOut(int prefill, int decode, List<InstanceStatus> statuses)
            throws Exception {
        SerializerConfigImpl config = new SerializerConfigImpl();
        config.setGenericTypes(false); // as the job runs: a field that fell back to Kryo would fail here
        TypeInformation<InstanceInput> type = TypeInformation.of(InstanceInput.class);
        assertThat(type).isInstanceOf(PojoTypeInfo.class);
        TypeSerializer<InstanceInput> serializer = type.createSerializer(config);
        try (OneInputStreamOperatorTestHarness<InstanceStatus, InstanceInput> h =
                     new OneInputStreamOperatorTestHarness<>(new StreamFlatMap<>(new DecodeLoadFanOut(prefill, decode)))) {
            h.open();
            long t = 0;
            for (InstanceStatus s : statuses) {
                h.processElement(s, t++);
            }
            List<InstanceInput> out = new ArrayList<>();
            for (InstanceInput in : h.extractOutputValues()) {
                DataOutputSerializer bytes = new DataOutputSerializer(128);
                serializer.serialize(in, bytes);
                out.add(serializer.deserialize(new DataInputDeserializer(bytes.getCopyOfBuffer())));
            }
            return out;
        }
    }

    /** The prefill subtask an input reaches: the job keys the prefill input by {@link InstanceKeys#keyFor}. */
    private static int subtask(InstanceInput in, int prefill) {
        return KeyGroupRangeAssignment.assignKeyToParallelOperator(
                InstanceKeys.keyFor(in.instance, prefill, MAX_PARALLELISM), MAX_PARALLELISM, prefill);
    }

    /** A load as text with every field, to compare what each prefill subtask received. */
    private static String describe(DecodeLoad l) {
        return "decode " + l.decodeInstance + " free " + l.freeBlocks + " inbound " + l.inboundBlocks + " total "
                + l.totalBlocks + " running " + l.runningSequences + " step " + l.estimatedStepMs + " tightest TPOT "
                + l.tightestTpotMs + " at "
                + l.reportedAtMs;
    }

    @Test
    void aDecodeStatusReachesEveryPrefillInstanceOnceWithEveryField() throws Exception {
        // Instances 0, 1 prefill; 2, 3, 4 decode.
        List<InstanceInput> out = fanOut(2, 3, List.of(status(3, InstanceRole.DECODE, 40, 7, 1234)));
        assertThat(out).extracting(in -> in.instance).containsExactlyInAnyOrder(0, 1);
        assertThat(out).allSatisfy(in -> {
            assertThat(in.request).isNull();
            assertThat(in.handoff).isNull();
            DecodeLoad l = in.load;
            assertThat(l.decodeInstance).as("index within the decode pool").isEqualTo(1);
            assertThat(l.freeBlocks).isEqualTo(40);
            assertThat(l.inboundBlocks).as("blocks promised to handoffs queued there").isEqualTo(7);
            assertThat(l.totalBlocks).isEqualTo(256);
            assertThat(l.runningSequences).isEqualTo(6);
            assertThat(l.estimatedStepMs).isEqualTo(13.0);
            assertThat(l.tightestTpotMs).as("the tightest TPOT SLO of its sequences").isEqualTo(43.0);
            assertThat(l.reportedAtMs).isEqualTo(1234);
        });
    }

    @Test
    void reportsOfOtherRolesOrOutsideTheDecodePoolAreDropped() throws Exception {
        // 2 prefill (0, 1) and 2 decode (2, 3) instances; the DECODE ids outside 2..3 are what a job with another
        // layout left on the status topic (replayed after a restore at new pool sizes).
        List<InstanceInput> out = fanOut(2, 2, List.of(
                status(0, InstanceRole.PREFILL, 100, 0, 1),
                status(1, InstanceRole.PREFILL, 100, 0, 2),
                status(2, InstanceRole.MIXED, 100, 0, 3),
                status(1, InstanceRole.DECODE, 100, 0, 4),
                status(4, InstanceRole.DECODE, 100, 0, 5),
                status(2, InstanceRole.DECODE, 90, 1, 6)));
        assertThat(out).extracting(in -> describe(in.load)).as("only instance 2's decode report, once per prefill")
                .containsExactly(describe(DecodeLoad.of(0, 90, 1, 256, 5, 12.0, 6)),
                        describe(DecodeLoad.of(0, 90, 1, 256, 5, 12.0, 6)));
    }

    @Test
    void everyPrefillSubtaskGetsEveryDecodeReportOnceInOrderForAnyPoolSizes() throws Exception {
        int[][] layouts = {{1, 1}, {1, 4}, {2, 2}, {3, 1}, {5, 3}, {8, 8}};
        for (int[] layout : layouts) {
            int prefill = layout[0];
            int decode = layout[1];
            // Three rounds of reports from every instance, prefill ones among them, as they interleave on the topic.
            List<InstanceStatus> statuses = new ArrayList<>();
            List<String> expected = new ArrayList<>();
            long at = 1000;
            for (int round = 0; round < 3; round++) {
                for (int id = 0; id < prefill + decode; id++) {
                    boolean isDecode = id >= prefill;
                    InstanceStatus s = status(id, isDecode ? InstanceRole.DECODE : InstanceRole.PREFILL,
                            200 - 10 * round - id, round + id, at++);
                    statuses.add(s);
                    if (isDecode) {
                        expected.add(describe(DecodeLoad.of(id - prefill, s.getFreeKvBlocks(),
                                s.getInboundKvBlocks(), s.getTotalKvBlocks(), s.getRunningSequences(),
                                s.getEstimatedTpotMs(), s.getTightestTpotMs(), at - 1)));
                    }
                }
            }
            List<InstanceInput> out = fanOut(prefill, decode, statuses);
            assertThat(out).as("%d:%d: one input per prefill instance and decode report", prefill, decode)
                    .hasSize(prefill * expected.size());
            for (int p = 0; p < prefill; p++) {
                int subtask = p;
                List<String> received = out.stream().filter(in -> subtask(in, prefill) == subtask)
                        .map(in -> describe(in.load)).toList();
                assertThat(received).as("%d:%d: the reports prefill subtask %d receives", prefill, decode, p)
                        .containsExactlyElementsOf(expected);
            }
        }
    }
}
