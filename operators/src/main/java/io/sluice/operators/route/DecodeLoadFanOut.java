package io.sluice.operators.route;

import io.sluice.operators.DecodeLoad;
import io.sluice.operators.InstanceInput;
import io.sluice.schemas.InstanceRole;
import io.sluice.schemas.InstanceStatus;
import org.apache.flink.api.common.functions.FlatMapFunction;
import org.apache.flink.util.Collector;

/**
 * Turns a decode instance's status into one {@link DecodeLoad} input per prefill instance, so that every prefill
 * instance (a keyed operator, which cannot take a broadcast input beside its keyed one) places its handoffs from
 * the same reports. Statuses of other roles, or of instances outside the decode pool, are dropped.
 */
public final class DecodeLoadFanOut implements FlatMapFunction<InstanceStatus, InstanceInput> {
    private static final long serialVersionUID = 1L;

    private final int prefillInstances;
    private final int decodeInstances;

    /** Decode instances have global ids {@code prefillInstances .. prefillInstances + decodeInstances - 1}. */
    public DecodeLoadFanOut(int prefillInstances, int decodeInstances) {
        this.prefillInstances = prefillInstances;
        this.decodeInstances = decodeInstances;
    }

    @Override
    public void flatMap(InstanceStatus s, Collector<InstanceInput> out) {
        int decode = s.getInstance() - prefillInstances;
        if (s.getRole() != InstanceRole.DECODE || decode < 0 || decode >= decodeInstances) {
            return;
        }
        DecodeLoad load = DecodeLoad.of(decode, s.getFreeKvBlocks(), s.getInboundKvBlocks(), s.getTotalKvBlocks(),
                s.getRunningSequences(), s.getEstimatedTpotMs(), s.getTightestTpotMs(), s.getReportedAt().toEpochMilli());
        for (int p = 0; p < prefillInstances; p++) {
            out.collect(InstanceInput.of(p, load));
        }
    }
}
