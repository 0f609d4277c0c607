package io.sluice.operators.route;

import static org.assertj.core.api.Assertions.assertThat;

import io.sluice.operators.ingest.AdmittedRequest;
import io.sluice.scheduling.RouterOptions;
import io.sluice.schemas.InstanceRole;
import io.sluice.schemas.InstanceStatus;
import java.time.Instant;
import org.junit.jupiter.api.Test;

/**
 * New requests routed from reports as the simulator's Router routes them: two prefill instances (ids 0, 1) and two
 * decode instances (ids 2, 3); default targets of 1000 ms TTFT and 100 ms TPOT.
 */
class NewRequestRouterTest {

    /** Prefill: 1 ms + 0.01 ms per token; decode step: 5 ms + 1 ms per sequence + 0.001 ms per context token. */
    private static final double[] LATENCY = {1, 0.01, 0, 0, 0, 5, 1, 0.001, 0, 0};

    private static AdmittedRequest request(int promptTokens, int ttftSloMs, long nowMs) {
        AdmittedRequest r = new AdmittedRequest();
        r.requestId = "r";
        r.weight = 1;
        r.promptTokens = new int[promptTokens];
        r.maxNewTokens = 20;
        r.ttftSloMs = ttftSloMs;
        r.submittedAtMs = nowMs;
        return r;
    }

    private static NewRequestRouter loaded(boolean hybrid, double prefillBacklogMs) {
        NewRequestRouter router = new NewRequestRouter(2, 2, LATENCY, RouterOptions.defaults().withHybrid(hybrid));
        router.report(status(0, InstanceRole.PREFILL, prefillBacklogMs + 100, 0, 3, 100));
        router.report(status(1, InstanceRole.PREFILL, prefillBacklogMs, 0, 3, 100));
        router.report(status(2, InstanceRole.DECODE, 0, 20, 0, 100));
        router.report(status(3, InstanceRole.DECODE, 0, 10, 0, 100));
        return router;
    }

    /** A status with an empty pool of 1000 blocks. */
    static InstanceStatus status(int instance, InstanceRole role, double backlogMs, double stepMs, int queued,
                                 long atMs) {
        return status(instance, role, backlogMs, stepMs, queued, 1000, 0, atMs);
    }

    static InstanceStatus status(int instance, InstanceRole role, double backlogMs, double stepMs, int queued,
                                 int freeBlocks, int inboundBlocks, long atMs) {
        return InstanceStatus.newBuilder().setInstance(instance).setRole(role).setQueuedRequests(queued)
                .setRunningSequences(0).setBacklogMs(backlogMs).setFreeKvBlocks(freeBlocks)
                .setInboundKvBlocks(inboundBlocks).setTotalKvBlocks(1000).setEstimatedTpotMs(stepMs)
                .setReportedAt(Instant.ofEpochMilli(atMs)).build();
    }

    @Test
    void aRequestWithoutAnSloIsHeldToTheDefaultTtftAndMayGoHybrid() {
        // 5 s of queued prefill work: no prefill instance meets the default 1000 ms, and decode instance 3 (10 ms
        // steps) has slack under 100 ms x 1/2.
        assertThat(loaded(true, 5000).route(request(10, 0, 200), 200)).isEqualTo(3);
    }

    @Test
    void aPrefillInstanceThatMeetsTheTargetWinsOverAHybridRoute() {
        assertThat(loaded(true, 500).route(request(10, 0, 200), 200)).isEqualTo(1);
        assertThat(loaded(true, 5000).route(request(10, 8000, 200), 200)).as("an SLO of 8 s is met").isEqualTo(1);
    }

    @Test
    void aHybridPrefillGoesOnlyToADecodeInstanceThatAdmitsHandoffs() {
        // Decode instance 3 steps faster but reports 40 of 1000 blocks free (4 %, under the 5 % stop threshold).
        NewRequestRouter router = loaded(true, 5000);
        router.report(status(3, InstanceRole.DECODE, 0, 10, 0, 40, 0, 150));
        assertThat(router.route(request(10, 0, 200), 200)).isEqualTo(2);
    }

    @Test
    void withoutHybridALateRequestQueuesWhereItsTtftIsLowest() {
        assertThat(loaded(false, 5000).route(request(10, 0, 200), 200)).isEqualTo(1);
    }
}
