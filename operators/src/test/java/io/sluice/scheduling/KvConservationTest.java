package io.sluice.scheduling;

import static io.sluice.scheduling.TestRequests.request;
import static org.assertj.core.api.Assertions.assertThat;

import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.SplittableRandom;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * Seeded random rounds on one instance with a KV cache a few sequences deep and a small host tier, requests
 * cancelled at random in any state: after every apply and complete, the blocks the requests hold on each tier and
 * the free counts add up to the tier's size, and at the end every request has ended once and both tiers are free.
 */
class KvConservationTest {

    static List<String> names() {
        return Policies.names();
    }

    @ParameterizedTest
    @MethodSource("names")
    void blocksAreConservedOnBothTiers(String name) {
        for (long seed = 1; seed <= 30; seed++) {
            run(name, seed);
        }
    }

    private static void run(String name, long seed) {
        SplittableRandom rnd = new SplittableRandom(seed);
        int total = 8 + rnd.nextInt(40);
        int host = rnd.nextInt(3) * (4 + rnd.nextInt(30));
        KvBlockAccounting kv = new KvBlockAccounting(16, total, host, 0.1, 0.02);
        BatchPolicy p = Policies.create(name, PolicyOptions.defaults().withBatchLimits(256, 16).withSliceTokens(8));
        InstanceState s = new InstanceState(0, Role.MIXED, kv, TestRequests.model());
        String what = name + " seed " + seed + " (" + total + " blocks, host " + host + ")";
        List<Request> all = new ArrayList<>();
        List<Request> ended = new ArrayList<>();
        double now = 0;
        int n = 60;
        for (int round = 0; round < 100_000 && (all.size() < n || !s.isIdle()); round++) {
            while (all.size() < n && rnd.nextDouble() < 0.3) {
                Slo slo = switch (rnd.nextInt(3)) {
                    case 0 -> Slo.interactive(300, 30);
                    case 1 -> Slo.interactive(2000, 100);
                    default -> Slo.deadline(60_000);
                };
                int max = total * 16;
                int prompt = 1 + rnd.nextInt(Math.max(1, max / 2));
                int out = 1 + rnd.nextInt(Math.max(1, Math.min(80, max - prompt)));
                Request r = request("r" + all.size(), 1 + rnd.nextInt(4), slo, prompt, out, now);
                all.add(r);
                if (!s.enqueue(r, now)) {
                    ended.add(r);
                }
            }
            if (rnd.nextDouble() < 0.03 && !s.isIdle()) {
                List<Request> live = new ArrayList<>(s.waiting());
                live.addAll(s.running());
                live.addAll(s.swapped());
                Request victim = live.get(rnd.nextInt(live.size()));
                s.cancel(victim, RequestState.EXPIRED, now);
                ended.add(victim);
                check(s, what + " after cancelling " + victim);
            }
            BatchPlan plan = p.plan(s, now);
            ended.addAll(s.apply(plan, now));
            check(s, what + " after apply at " + now);
            double end = now + Math.max(plan.estimatedMs(), 1.0);
            ended.addAll(s.complete(plan, end));
            check(s, what + " after complete at " + end);
            now = end;
        }
        Set<String> ids = new HashSet<>();
        for (Request r : ended) {
            assertThat(ids.add(r.id())).as("%s: %s ended twice", what, r.id()).isTrue();
            assertThat(r.state().isFinished()).as(what).isTrue();
            assertThat(r.kvBlocks() + r.hostBlocks()).as("%s: %s ended holding blocks", what, r).isZero();
        }
        assertThat(ids).as("%s: every request ends (left: %s)", what, s).hasSize(all.size());
        assertThat(kv.freeBlocks()).as(what).isEqualTo(kv.totalBlocks());
        assertThat(kv.hostFreeBlocks()).as(what).isEqualTo(kv.hostCapacityBlocks());
    }

    private static void check(InstanceState s, String what) {
        KvBlockAccounting kv = s.blocks();
        int device = 0;
        int host = 0;
        for (Request r : s.waiting()) {
            assertThat(r.kvBlocks() + r.hostBlocks()).as("%s: waiting %s holds blocks", what, r).isZero();
        }
        for (Request r : s.running()) {
            assertThat(r.hostBlocks()).as("%s: running %s on the host", what, r).isZero();
            assertThat(r.kvBlocks()).as("%s: running %s holds what its tokens need", what, r)
                    .isGreaterThanOrEqualTo(kv.blocksFor(r.prefilledTokens()));
            device += r.kvBlocks();
        }
        for (Request r : s.swapped()) {
            assertThat(r.kvBlocks()).as("%s: swapped %s on the device", what, r).isZero();
            assertThat(r.hostBlocks()).as("%s: swapped %s", what, r).isPositive();
            host += r.hostBlocks();
        }
        assertThat(device + kv.freeBlocks()).as("%s: device blocks", what).isEqualTo(kv.totalBlocks());
        assertThat(host + kv.hostFreeBlocks()).as("%s: host blocks", what).isEqualTo(kv.hostCapacityBlocks());
    }
}
