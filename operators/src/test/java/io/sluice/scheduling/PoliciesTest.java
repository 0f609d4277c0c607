package io.sluice.scheduling;

import static io.sluice.scheduling.TestRequests.drain;
import static io.sluice.scheduling.TestRequests.request;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.SplittableRandom;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;
import org.junit.jupiter.api.Test;

/** Invariants every policy must keep, on mixed workloads with KV pressure, with and without a host tier. */
class PoliciesTest {

    static List<String> names() {
        return Policies.names();
    }

    @ParameterizedTest
    @MethodSource("names")
    void everyRequestEndsOnceUnderKvPressure(String name) {
        check(name, new KvBlockAccounting(16, 120));
    }

    @ParameterizedTest
    @MethodSource("names")
    void everyRequestEndsOnceWithHostTier(String name) {
        check(name, new KvBlockAccounting(16, 120, 200, 0.1, 0.02));
    }

    private static void check(String name, KvBlockAccounting kv) {
        BatchPolicy p = Policies.create(name, PolicyOptions.defaults().withBatchLimits(512, 64).withSliceTokens(16));
        InstanceState s = new InstanceState(0, Role.MIXED, kv, TestRequests.model());
        SplittableRandom rnd = new SplittableRandom(11);
        List<Request> all = new ArrayList<>();
        double now = 0;
        List<Request> ended = new ArrayList<>();
        int next = 0;
        // Arrivals interleaved with batches, so policies see queues that grow and shrink.
        for (int round = 0; round < 200_000 && (next < 80 || !s.isIdle()); round++) {
            while (next < 80 && rnd.nextDouble() < 0.3) {
                Slo slo = switch (next % 3) {
                    case 0 -> Slo.interactive(300, 30);
                    case 1 -> Slo.interactive(2000, 100);
                    default -> Slo.deadline(60_000);
                };
                Request r = request("r" + next, 1 + next % 4, slo, 1 + rnd.nextInt(400), 1 + rnd.nextInt(60), now);
                all.add(r);
                assertThat(s.enqueue(r, now)).isTrue();
                next++;
            }
            BatchPlan plan = p.plan(s, now);
            assertThat(plan.totalTokens()).isLessThanOrEqualTo(512);
            ended.addAll(s.apply(plan, now));
            assertThat(s.blocks().freeBlocks()).isBetween(0, kv.totalBlocks());
            double end = now + Math.max(plan.estimatedMs(), 1.0);
            ended.addAll(s.complete(plan, end));
            now = end;
        }
        Set<String> ids = new HashSet<>();
        for (Request r : ended) {
            assertThat(ids.add(r.id())).as("%s ended twice: %s", name, r.id()).isTrue();
            assertThat(r.state()).isEqualTo(RequestState.FINISHED_OK);
            assertThat(r.generatedTokens()).isEqualTo(r.maxNewTokens());
        }
        assertThat(ids).as("%s: every request ends", name).hasSize(all.size());
        assertThat(kv.freeBlocks()).isEqualTo(kv.totalBlocks());
        assertThat(kv.hostFreeBlocks()).isEqualTo(kv.hostCapacityBlocks());
    }

    @ParameterizedTest
    @MethodSource("names")
    void emptyInstanceGivesEmptyPlan(String name) {
        assertThat(Policies.create(name).plan(TestRequests.instance(10), 0).isEmpty()).isTrue();
    }

    @Test
    void unknownNameIsRejectedWithTheList() {
        assertThatThrownBy(() -> Policies.create("lifo")).isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("slidebatching");
    }

    @Test
    void everyRegisteredNameCreatesItsPolicy() {
        for (String n : Policies.names()) {
            assertThat(Policies.create(n).name()).isEqualTo(n);
        }
    }
}
