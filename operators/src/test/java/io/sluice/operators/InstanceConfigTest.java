package io.sluice.operators;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.sluice.operators.ingest.AdmittedRequest;
import io.sluice.scheduling.PolicyOptions;
import org.apache.flink.api.common.typeinfo.TypeInformation;
import org.apache.flink.api.java.typeutils.GenericTypeInfo;
import org.apache.flink.api.java.typeutils.PojoTypeInfo;
import org.junit.jupiter.api.Test;

class InstanceConfigTest {

    private static final double[] LATENCY = InstanceHarness.LATENCY;

    @Test
    void badSettingsAreRefusedWithAReason() {
        assertThatThrownBy(() -> new InstanceConfig(" ", null, 1, 0, "fcfs", null, LATENCY, 100))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("checkpoint");
        assertThatThrownBy(() -> new InstanceConfig("m.bin", null, 0, 0, "fcfs", null, LATENCY, 100))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("threads");
        assertThatThrownBy(() -> new InstanceConfig("m.bin", null, 1, -1, "fcfs", null, LATENCY, 100))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("KV blocks");
        assertThatThrownBy(() -> new InstanceConfig("m.bin", null, 1, 0, "fifo", null, LATENCY, 100))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("slidebatching");
        assertThatThrownBy(() -> new InstanceConfig("m.bin", null, 1, 0, "fcfs", null, new double[3], 100))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("coefficients");
        assertThatThrownBy(() -> new InstanceConfig("m.bin", null, 1, 0, "fcfs", null, LATENCY, 0))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("status interval");
    }

    @Test
    void defaultsAndDefensiveCopies() {
        double[] latency = LATENCY.clone();
        InstanceConfig c = new InstanceConfig("m.bin", "", 2, 0, "SlideBatching", null, latency, 100);
        assertThat(c.tokenizerPath()).isNull();
        assertThat(c.policyOptions()).isEqualTo(PolicyOptions.defaults());
        assertThat(c.idleStatusMs()).isEqualTo(InstanceConfig.DEFAULT_IDLE_STATUS_MS);
        latency[0] = 99;
        assertThat(c.latencyCoefficients()[0]).isEqualTo(LATENCY[0]);
    }

    /** Keyed state must not fall back to Kryo: the job runs with generic types disabled. */
    @Test
    void stateRecordIsAFlinkPojoAllTheWayDown() {
        TypeInformation<RequestRecord> info = TypeInformation.of(RequestRecord.class);
        assertThat(info).isInstanceOf(PojoTypeInfo.class);
        PojoTypeInfo<RequestRecord> pojo = (PojoTypeInfo<RequestRecord>) info;
        for (int i = 0; i < pojo.getArity(); i++) {
            assertThat(pojo.getTypeAt(i)).as("field %s", pojo.getPojoFieldAt(i).getField().getName())
                    .isNotInstanceOf(GenericTypeInfo.class);
        }
        PojoTypeInfo<AdmittedRequest> request = (PojoTypeInfo<AdmittedRequest>) TypeInformation.of(AdmittedRequest.class);
        for (int i = 0; i < request.getArity(); i++) {
            assertThat(request.getTypeAt(i)).isNotInstanceOf(GenericTypeInfo.class);
        }
    }
}
