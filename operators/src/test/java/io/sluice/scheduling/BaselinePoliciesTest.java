package io.sluice.scheduling;

import static io.sluice.scheduling.TestRequests.instance;
import static io.sluice.scheduling.TestRequests.request;
import static io.sluice.scheduling.TestRequests.step;
import static org.assertj.core.api.Assertions.assertThat;

import java.util.List;
import org.junit.jupiter.api.Test;

/** Each baseline's characteristic decision on a hand-made queue (model: 10 ms + 0.05 ms per prefill token). */
class BaselinePoliciesTest {

    private static final Slo SLO = Slo.interactive(1000, 50);

    private static List<String> admitted(BatchPlan plan) {
        return plan.prefill().stream().map(c -> c.request().id()).toList();
    }

    @Test
    void slidingserveKeepsDecodingEveryoneBesideABatchDecodePastItsDeadline() {
        // Five on-pace interactive decodes and a batch-class decode whose first token came at its 1000 ms
        // deadline: no pace is left to it (0), and as the tightest pace it made the budget 0, so each batch ran
        // one decode and the rest waited.
        InstanceState s = instance(100_000);
        for (int i = 0; i < 5; i++) {
            assertThat(s.enqueue(TestRequests.handedOver("d" + i, SLO, 100, 100, 0, 1000), 1000)).isTrue();
        }
        Request late = TestRequests.handedOver("late", Slo.deadline(1000), 100, 50, 0, 1000);
        assertThat(s.enqueue(late, 1000)).isTrue();
        assertThat(Deadlines.pace(late, PolicyOptions.defaults())).isZero();
        BatchPlan plan = Policies.create("slidingserve").plan(s, 1000);
        assertThat(plan.decode()).hasSize(6);
    }

    @Test
    void priorityAdmitsByWeightThenArrivalAndPreemptsTheLowest() {
        InstanceState s = instance(1000);
        s.enqueue(request("low-early", 1, SLO, 100, 5, 0), 0);
        s.enqueue(request("high-late", 4, SLO, 100, 5, 5), 5);
        s.enqueue(request("high-later", 4, SLO, 100, 5, 6), 6);
        BatchPolicy p = Policies.create("priority", PolicyOptions.defaults().withBatchLimits(250, 256));
        assertThat(admitted(p.plan(s, 10))).containsExactly("high-late", "high-later", "low-early");

        InstanceState tight = instance(4);
        Request high = request("high", 4, SLO, 32, 10, 1);
        Request low = request("low", 1, SLO, 32, 10, 0);
        tight.enqueue(high, 1);
        tight.enqueue(low, 1);
        step(tight, p, 1, 10);
        BatchPlan plan = p.plan(tight, 10);
        assertThat(plan.preempted()).as("lowest priority, though it arrived first").containsExactly(low);
        assertThat(plan.decode()).containsExactly(high);
    }

    @Test
    void sjfAdmitsThePredictedShortestJobFirst() {
        InstanceState s = instance(1000);
        s.enqueue(request("long", 1, SLO, 400, 200, 0), 0);
        s.enqueue(request("short", 1, SLO, 400, 5, 1), 1);
        s.enqueue(request("mid", 1, SLO, 100, 60, 2), 2);
        BatchPlan plan = Policies.create("sjf", PolicyOptions.defaults().withBatchLimits(450, 256)).plan(s, 5);
        assertThat(admitted(plan)).startsWith("short").doesNotContain("long");
    }

    @Test
    void edfAdmitsTheEarliestFirstTokenDeadlineFirst() {
        InstanceState s = instance(1000);
        s.enqueue(request("loose", 1, Slo.interactive(5000, 50), 300, 5, 0), 0);
        s.enqueue(request("tight", 1, Slo.interactive(400, 50), 300, 5, 100), 100);
        BatchPlan plan = Policies.create("edf", PolicyOptions.defaults().withBatchLimits(300, 256)).plan(s, 100);
        assertThat(admitted(plan)).containsExactly("tight");
    }

    @Test
    void sarathiRunsEveryDecodeAndAPrefillChunkThatKeepsTheStepWithinTpot() {
        InstanceState s = instance(10_000);
        BatchPolicy p = Policies.create("sarathi");
        Request d1 = request("d1", 1, SLO, 16, 50, 0);
        Request d2 = request("d2", 1, SLO, 16, 50, 0);
        s.enqueue(d1, 0);
        s.enqueue(d2, 0);
        step(s, p, 0, 12);
        s.enqueue(request("big", 1, SLO, 5000, 5, 12), 12);

        BatchPlan plan = p.plan(s, 12);

        assertThat(plan.decode()).containsExactly(d1, d2);
        assertThat(plan.prefill()).hasSize(1);
        assertThat(plan.estimatedMs()).as("stall-free: within the 50 ms TPOT").isLessThanOrEqualTo(50.0);
        assertThat(plan.prefill().get(0).tokens()).isGreaterThan(700);
    }

    @Test
    void slidingServeKnapsackKeepsTheMostValueWhenAtRiskRequestsDoNotAllFit() {
        InstanceState s = instance(100_000);
        // Budget = 50 ms TPOT; three at-risk prefills of ~18-20 ms of work each: only two fit.
        s.enqueue(request("a", 1, Slo.interactive(60, 50), 400, 5, 0), 0);
        s.enqueue(request("b", 4, Slo.interactive(60, 50), 400, 5, 0), 0);
        s.enqueue(request("c", 3, Slo.interactive(61, 50), 360, 5, 0), 0);
        BatchPlan plan = Policies.create("slidingserve").plan(s, 0);
        assertThat(admitted(plan).subList(0, 2)).containsExactlyInAnyOrder("b", "c");
        assertThat(plan.estimatedMs()).isLessThanOrEqualTo(50.0);
    }

    @Test
    void slidingServeKnapsackKeepsAnAtRiskPromptLongerThanTheBatch() {
        InstanceState s = instance(100_000);
        // Budget = 50 ms TPOT, 40 ms of it for work. "long" (100 ms of work, due in 150 ms) is at risk: priced at
        // its whole prompt it never fitted the knapsack and went behind the safe "fresh"; it is chunked, so it
        // costs the batch's capacity and runs now.
        s.enqueue(request("fresh", 4, Slo.interactive(5000, 50), 2000, 5, 0), 0);
        s.enqueue(request("long", 1, Slo.interactive(150, 50), 2000, 5, 0), 0);
        BatchPlan plan = Policies.create("slidingserve").plan(s, 0);
        assertThat(admitted(plan)).containsExactly("long");
        assertThat(plan.estimatedMs()).isLessThanOrEqualTo(50.0);
    }

    @Test
    void slidingServeServesUnderOverloadWhatItCannotSave() {
        // At ~110 % of the instance's capacity for two minutes, each of these arrives at 2 s. A prompt that costs
        // more than a batch's capacity was priced whole in the knapsack, never fitted, and went behind every safe
        // request; lost (or, without a first-token target, at risk for good) it stayed behind them: none of these
        // ever finished, where edf and slidebatching finish each within 35 s. The starved request due first now
        // keeps a share of every batch (they finish in 11 to 51 s).
        List<Request> cases = List.of(
                request("no-slo", 1, Slo.NONE, 2000, 20, 2_000),
                request("tpot-only", 1, new Slo(Double.NaN, 50, Double.NaN), 2000, 20, 2_000),
                request("batch", 0.25, Slo.deadline(5_000), 3000, 20, 2_000),
                request("long-prompt", 1, Slo.interactive(1000, 50), 8000, 20, 2_000));
        for (Request r : cases) {
            TestRequests.underOverload("slidingserve", r);
            assertThat(r.state()).as(r.id()).isEqualTo(RequestState.FINISHED_OK);
            assertThat(r.finishMs()).as(r.id()).isLessThan(90_000);
        }
    }

    @Test
    void slidingServeSplitsAPrefillToBalanceThisAndTheNextStep() {
        InstanceState s = instance(100_000);
        BatchPolicy p = Policies.create("slidingserve");
        Request dec = request("dec", 1, SLO, 16, 100, 0);
        s.enqueue(dec, 0);
        step(s, p, 0, 10);
        // 1,200 tokens left: 600 now and 600 next keeps both steps at ~40.5 ms, where the largest
        // chunk that fits (789) would leave a short second step.
        s.enqueue(request("p", 1, Slo.interactive(5000, 50), 1200, 5, 10), 10);
        BatchPlan plan = p.plan(s, 10);
        assertThat(plan.prefill().get(0).tokens()).isBetween(590, 610);
    }

    @Test
    void sclsRunsASliceWithoutAdmissionsThenReformsTheBatch() {
        InstanceState s = instance(10_000);
        BatchPolicy p = Policies.create("scls", PolicyOptions.defaults().withSliceTokens(3));
        Request a = request("a", 1, SLO, 50, 10, 0);
        s.enqueue(a, 0);
        step(s, p, 0, 10);                     // prefill: token 1 of the slice
        Request late = request("late", 1, SLO, 50, 10, 10);
        s.enqueue(late, 10);
        BatchPlan mid = p.plan(s, 10);
        assertThat(mid.decode()).containsExactly(a);
        assertThat(mid.prefill()).as("no admissions inside a slice").isEmpty();
        s.apply(mid, 10);
        s.complete(mid, 20);                   // token 2
        step(s, p, 20, 30);                    // token 3: slice done
        BatchPlan next = p.plan(s, 30);
        assertThat(next.decode()).containsExactly(a);
        assertThat(admitted(next)).as("the new slice takes the newcomer").containsExactly("late");
    }

    @Test
    void sclsAgingLetsANearlyFinishedRequestBackInOnceItHasWaitedLonger() {
        // Room for one of two equally sized sequences. "nearly" has 1 token left and has waited since
        // 0, "fresh" has 32 left and has waited since 1,000: the value of tokens left in the slice
        // must not outweigh a second more of waiting, or a nearly finished request waits for as many
        // slices as the ratio of the tokens (up to the slice length: minutes in a simulated run).
        InstanceState s = instance(4);
        BatchPolicy p = Policies.create("scls", PolicyOptions.defaults().withSliceTokens(4));
        Request nearly = request("nearly", 1, SLO, 32, 5, 0);
        s.enqueue(nearly, 0);
        for (int t = 0; t < 4; t++) {
            step(s, p, 10 * t, 10 * t + 10);
        }
        assertThat(nearly.remainingTokens()).isEqualTo(1);
        Request fresh = request("fresh", 1, SLO, 32, 32, 1000);
        s.enqueue(fresh, 1000);

        BatchPlan plan = p.plan(s, 2000);

        assertThat(plan.decode()).as("the request that waited a second longer").containsExactly(nearly);
        assertThat(plan.preempted()).isEmpty();
        assertThat(admitted(plan)).isEmpty();
    }

    @Test
    void sclsNeitherLeavesOutNorPreemptsARunningRequestThatFitsBesideTheNewSlice() {
        // 512 blocks: the knapsack counts memory in units of 2 blocks. "r" (1 token left) needs 3
        // blocks for its slice, the big prompt "w" 509: both fit (512), but rounded up to units
        // (2 + 255 > 256) they do not, and the DP keeps the more valuable "w". Evicting "r" for
        // room the slice does not need throws its KV away (recompute here; to the host tier and
        // straight back within the same apply when there is one).
        InstanceState s = instance(512);
        BatchPolicy p = Policies.create("scls", PolicyOptions.defaults().withSliceTokens(4));
        Request r = request("r", 1, SLO, 32, 5, 0);
        s.enqueue(r, 0);
        for (int t = 0; t < 4; t++) {
            step(s, p, 10 * t, 10 * t + 10);
        }
        Request w = request("w", 1, SLO, 8130, 8, 0);
        s.enqueue(w, 1000);

        BatchPlan plan = p.plan(s, 2000);

        assertThat(plan.preempted()).isEmpty();
        assertThat(plan.decode()).containsExactly(r);
        assertThat(admitted(plan)).containsExactly("w");
        s.apply(plan, 2000);
    }

    @Test
    void slidingServeEvictsNothingForANewRequestThatStillDoesNotFit() {
        // 40 blocks, a host tier of 12: two decodes of 10 blocks each; the at-risk newcomer needs 32
        // with 20 free. Swapping out one decode (the host has room for one) still leaves it short,
        // so it is skipped, and a skipped request must not have evicted anyone: the victim's blocks
        // would stay free for nothing (the instance swaps it straight back within the same apply).
        InstanceState s = new InstanceState(0, Role.MIXED, new KvBlockAccounting(16, 40, 12, 0.1, 0.01),
                TestRequests.model());
        BatchPolicy p = Policies.create("slidingserve");
        Request d1 = request("d1", 1, Slo.interactive(1000, 500), 160, 10, 0);
        Request d2 = request("d2", 1, Slo.interactive(1000, 500), 160, 10, 0);
        s.enqueue(d1, 0);
        s.enqueue(d2, 0);
        step(s, p, 0, 26);
        s.enqueue(request("big", 1, Slo.interactive(80, 50), 500, 10, 26), 26);

        BatchPlan plan = p.plan(s, 26);

        assertThat(plan.preempted()).isEmpty();
        assertThat(plan.prefill()).isEmpty();
        assertThat(plan.decode()).containsExactly(d1, d2);
    }
}
