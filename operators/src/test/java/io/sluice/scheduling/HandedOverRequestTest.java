package io.sluice.scheduling;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import org.junit.jupiter.api.Test;

/** A request rebuilt on a decode instance from what its prefill instance sent: decode phase, clocks kept. */
class HandedOverRequestTest {

    @Test
    void handedOverRequestIsQueuedAsTransferringAndDecodedWithItsClocks() {
        Request r = Request.handedOver("h", "t", "interactive", 1.0, Slo.interactive(1000, 50), 40, 10, 0.0, 3,
                120.0, 180.0);
        assertThat(r.contextTokens()).as("KV of every known token but the last").isEqualTo(42);
        assertThat(r.remainingPrefill()).isZero();
        assertThat(r.ttftMs()).isEqualTo(120.0);
        InstanceState decode = TestRequests.instance(1, Role.DECODE, 64);
        assertThat(decode.enqueue(r, 200.0)).isTrue();
        assertThat(r.state()).isEqualTo(RequestState.TRANSFERRING);
        BatchPlan plan = TestRequests.step(decode, Policies.create("slidebatching", PolicyOptions.defaults()), 200.0,
                210.0);
        assertThat(plan.decode()).containsExactly(r);
        assertThat(r.generatedTokens()).isEqualTo(4);
        assertThat(r.state()).isEqualTo(RequestState.DECODING);
        assertThat(r.firstTokenMs()).as("TTFT clock kept").isEqualTo(120.0);
    }

    @Test
    void aHandoffNeedsOneToMaxMinusOneGeneratedTokens() {
        assertThatThrownBy(() -> Request.handedOver("x", "t", "c", 1.0, Slo.NONE, 4, 5, 0, 0, 1, 1))
                .isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> Request.handedOver("x", "t", "c", 1.0, Slo.NONE, 4, 5, 0, 5, 1, 1))
                .isInstanceOf(IllegalArgumentException.class);
    }
}
