package io.sluice.scheduling;

import static io.sluice.scheduling.TestRequests.instance;
import static io.sluice.scheduling.TestRequests.request;
import static io.sluice.scheduling.TestRequests.step;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

import java.util.List;
import org.junit.jupiter.api.Test;

/** SlideBatching's decisions on hand-made queues (model: 10 ms + 0.05 ms per prefill token). */
class SlideBatchingPolicyTest {

    private static List<Request> prefillOrder(BatchPlan plan) {
        return plan.prefill().stream().map(Chunk::request).toList();
    }

    @Test
    void orderSwitchesFromDeadlineFirstToDensityAsLoadRises() {
        Request longEarly = request("long-early", 1, Slo.interactive(1000, 50), 2000, 10, 0); // est 110 ms
        Request shortLate = request("short-late", 1, Slo.interactive(3000, 50), 100, 10, 0);  // est 15 ms

        InstanceState light = instance(10_000);
        light.enqueue(longEarly, 0);
        light.enqueue(shortLate, 0);
        SlideBatchingPolicy p = (SlideBatchingPolicy) Policies.create("slidebatching");
        BatchPlan calm = p.plan(light, 0);
        assertThat(p.lastUrgent).as("nothing is urgent at low load").isZero();
        assertThat(prefillOrder(calm)).as("low load: earliest deadline first").containsExactly(longEarly, shortLate);

        Request longEarly2 = request("long-early", 1, Slo.interactive(1000, 50), 2000, 10, 0);
        Request shortLate2 = request("short-late", 1, Slo.interactive(3000, 50), 100, 10, 0);
        InstanceState busy = instance(10_000);
        busy.enqueue(longEarly2, 0);
        busy.enqueue(shortLate2, 0);
        for (int i = 0; i < 30; i++) {
            busy.enqueue(request("filler" + i, 1, Slo.interactive(20_000, 50), 2000, 10, 0), 0);
        }
        BatchPlan loaded = p.plan(busy, 0);
        assertThat(p.lastLoadMs).as("load exceeds both remaining times").isGreaterThan(3000);
        assertThat(prefillOrder(loaded).subList(0, 2)).as("high load: urgent by value density")
                .containsExactly(shortLate2, longEarly2);
    }

    @Test
    void theLoadCountsEveryRequestAsIfItRanAloneOverheadIncluded() {
        // Forty on-pace decodes of 100 tokens take one 34 ms step together (10 + 40 x 0.6), but the load
        // sums each as if alone (10.6 ms, mostly the 10 ms overhead) and then inflates the sum for the
        // overhead again: (40 x 10.6 + 110 + 15) x 50 / (50 - 10) = 686 ms, where the batches would run
        // 161 ms of work. Both prompts turn urgent, and the short one goes ahead of the one due first by
        // value density. Kept so on purpose: the sum without the overhead measured no better (class Javadoc).
        InstanceState s = instance(100_000);
        for (int i = 0; i < 40; i++) {
            assertThat(s.enqueue(TestRequests.handedOver("d" + i, Slo.interactive(1000, 50), 100, 100, 0, 1000), 1000))
                    .isTrue();
        }
        Request longEarly = request("long-early", 1, Slo.interactive(400, 50), 2000, 10, 1000); // 110 ms alone
        Request shortLate = request("short-late", 1, Slo.interactive(600, 50), 100, 10, 1000);  // 15 ms alone
        s.enqueue(longEarly, 1000);
        s.enqueue(shortLate, 1000);
        SlideBatchingPolicy sb = (SlideBatchingPolicy) Policies.create("slidebatching");
        BatchPlan plan = sb.plan(s, 1000);
        assertThat(sb.lastBudgetMs).isEqualTo(50.0);
        assertThat(sb.lastLoadMs).as("(40 x 10.6 + 110 + 15) x 50 / (50 - 10)").isCloseTo(686.25, within(1e-9));
        assertThat(sb.lastUrgent).as("the decodes and both prompts").isEqualTo(42);
        assertThat(plan.decode()).hasSize(40);
        assertThat(prefillOrder(plan)).as("urgent: by value density").containsExactly(shortLate, longEarly);
    }

    @Test
    void aShortPromptDueFirstGoesAheadOfALongOneWithLessSlack() {
        // A 7,800-token prompt (400 ms alone) due in 450 ms has less slack (50 ms) than a 100-token one
        // (15 ms) due in 300 (285 ms), yet it must not go first: it would fill the whole 300 ms budget
        // and the short one would get its first token at 315. Urgency compares the remaining time with
        // a load that already holds the request's own time (the whole backlog), so it reads "late if
        // served last"; slack would count that time twice.
        InstanceState s = instance(100_000);
        Request longer = request("long", 1, Slo.interactive(450, 50), 7800, 10, 0);
        Request shorter = request("short", 1, Slo.interactive(300, 50), 100, 10, 0);
        s.enqueue(longer, 0);
        s.enqueue(shorter, 0);
        BatchPolicy p = Policies.create("slidebatching");
        assertThat(prefillOrder(p.plan(s, 0))).containsExactly(shorter, longer);
        TestRequests.drain(s, p, 0, 100);
        assertThat(shorter.ttftMs()).as("short: TTFT").isLessThanOrEqualTo(300);
        assertThat(longer.ttftMs()).as("long: TTFT").isLessThanOrEqualTo(450);
    }

    @Test
    void higherWeightWinsAmongUrgentPrefillsOfEqualSize() {
        InstanceState s = instance(10_000);
        Request low = request("low", 1, Slo.interactive(1000, 50), 500, 10, 0);
        Request high = request("high", 4, Slo.interactive(1000, 50), 500, 10, 0);
        s.enqueue(low, 0);
        s.enqueue(high, 0);
        for (int i = 0; i < 40; i++) {
            s.enqueue(request("f" + i, 1, Slo.interactive(60_000, 50), 2000, 10, 0), 0);
        }
        assertThat(prefillOrder(Policies.create("slidebatching").plan(s, 0)).subList(0, 2)).containsExactly(high, low);
    }

    @Test
    void splitChunkFillsTheBudgetExactly() {
        InstanceState s = instance(10_000);
        BatchPolicy p = Policies.create("slidebatching");
        Request dec = request("dec", 1, Slo.interactive(1000, 50), 16, 100, 0);
        s.enqueue(dec, 0);
        step(s, p, 0, 10); // first token at 10: next one due at 60
        Request big = request("big", 1, Slo.interactive(2000, 50), 10_000, 10, 10);
        s.enqueue(big, 10);

        BatchPlan plan = p.plan(s, 10);

        // Budget = max(50 ms left for the decode, 0.65 x 50): decode 10.516 ms, then 0.05 ms per token.
        assertThat(plan.decode()).containsExactly(dec);
        assertThat(plan.prefill()).hasSize(1);
        int chunk = plan.prefill().get(0).tokens();
        assertThat(chunk).isEqualTo(789);
        assertThat(plan.estimatedMs()).isLessThanOrEqualTo(50.0).isCloseTo(50.0, within(0.06));
        LatencyModel m = s.estimator();
        assertThat(m.batchMs(List.of(new Chunk(big, chunk + 1)), List.of(dec))).as("one more token overflows")
                .isGreaterThan(50.0);
    }

    @Test
    void noChunkUnderTheMinimum() {
        InstanceState s = instance(10_000);
        BatchPolicy p = Policies.create("slidebatching");
        Request dec = request("dec", 1, Slo.interactive(1000, 50), 16, 100, 0);
        s.enqueue(dec, 0);
        step(s, p, 0, 10);
        // Advance to 49: the decode's 11 ms of the 11 ms budget leave room for < 50 tokens.
        Request big = request("big", 1, Slo.interactive(5000, 50), 10_000, 10, 40);
        s.enqueue(big, 40);
        SlideBatchingPolicy sb = (SlideBatchingPolicy) p;
        BatchPlan plan = sb.plan(s, 40);
        double left = sb.lastBudgetMs - plan.estimatedMs();
        assertThat(left).as("room for fewer than 50 tokens").isLessThan(50 * 0.05 + 10);
        assertThat(plan.prefill()).allSatisfy(c -> assertThat(c.tokens()).isGreaterThanOrEqualTo(50));
    }

    @Test
    void starvationRuleLiftsAVeryLateRequestAheadOfOnTimeOnes() {
        Request late = request("late", 1, Slo.interactive(500, 50), 400, 10, 0);   // due at 500
        Request onTime = request("onTime", 1, Slo.interactive(5000, 50), 400, 10, 1100);
        InstanceState s = instance(10_000);
        s.enqueue(late, 0);
        s.enqueue(onTime, 1100);
        // At 1200 "late" is 700 ms past due: more than theta (1.0) x its 500 ms SLO -> starved.
        BatchPlan plan = Policies.create("slidebatching").plan(s, 1200);
        assertThat(prefillOrder(plan)).containsExactly(late, onTime);

        Request late2 = request("late", 1, Slo.interactive(500, 50), 400, 10, 0);
        Request onTime2 = request("onTime", 1, Slo.interactive(5000, 50), 400, 10, 1100);
        InstanceState s2 = instance(10_000);
        s2.enqueue(late2, 0);
        s2.enqueue(onTime2, 1100);
        BatchPolicy patient = Policies.create("slidebatching", PolicyOptions.defaults().withLambdaTheta(1.0, 10.0));
        assertThat(prefillOrder(patient.plan(s2, 1200))).as("not starved yet: lost requests go last")
                .containsExactly(onTime2, late2);
    }

    @Test
    void preemptionTakesTheTailOfTheOrderNotTheNewest() {
        InstanceState s = instance(6);
        BatchPolicy p = Policies.create("slidebatching");
        Request loose = request("loose", 1, Slo.interactive(1000, 100), 32, 50, 0);
        Request mid = request("mid", 1, Slo.interactive(1000, 50), 32, 50, 0);
        Request tight = request("tight", 1, Slo.interactive(1000, 20), 32, 50, 0);
        s.enqueue(loose, 0);
        s.enqueue(mid, 0);
        s.enqueue(tight, 0);
        step(s, p, 0, 20);
        assertThat(s.blocks().freeBlocks()).isZero();

        // Each needs a third block; the order is tight, mid, loose (deadlines F+20, F+50, F+100).
        BatchPlan plan = p.plan(s, 20);

        assertThat(plan.preempted()).as("the tail (latest deadline), not the newest (tight)").containsExactly(loose);
        assertThat(plan.decode()).containsExactly(tight, mid);
    }

    @Test
    void prefillInstanceBudgetsToTheSmallestRemainingTtft() {
        InstanceState s = TestRequests.instance(0, Role.PREFILL, 10_000);
        s.enqueue(request("a", 1, Slo.interactive(200, 50), 8000, 10, 0), 0);
        s.enqueue(request("b", 1, Slo.interactive(800, 50), 100, 10, 0), 0);
        SlideBatchingPolicy p = (SlideBatchingPolicy) Policies.create("slidebatching");
        BatchPlan plan = p.plan(s, 0);
        // a alone takes 410 ms > 200: it cannot make it, so b's 800 ms is the budget.
        assertThat(p.lastBudgetMs).isEqualTo(800.0);
        assertThat(plan.estimatedMs()).isLessThanOrEqualTo(800.0);
        assertThat(prefillOrder(plan).get(0).id()).isEqualTo("b");
    }

    @Test
    void aPrefillInstanceThatDecodesASequenceItselfKeepsItsBatchesToTheSequencesPace() {
        // Hybrid: with every decode instance full, a PREFILL instance keeps a sequence and decodes it.
        // Its budget came from the prefills' TTFT alone (here capped at 1 s): one token a second
        // against a 50 ms TPOT.
        InstanceState s = TestRequests.instance(0, Role.PREFILL, 10_000);
        Request kept = TestRequests.handedOver("kept", Slo.interactive(1000, 50), 100, 100, 0, 1000);
        assertThat(s.enqueue(kept, 1000)).isTrue();
        Request big = request("big", 1, Slo.interactive(5000, 50), 20_000, 10, 1000);
        s.enqueue(big, 1000);
        SlideBatchingPolicy p = (SlideBatchingPolicy) Policies.create("slidebatching");
        BatchPlan plan = p.plan(s, 1000);
        assertThat(plan.decode()).containsExactly(kept);
        assertThat(prefillOrder(plan)).containsExactly(big);
        assertThat(p.lastBudgetMs).isEqualTo(50.0);
        assertThat(plan.estimatedMs()).isLessThanOrEqualTo(50.0);
    }

    @Test
    void dropLateRejectsHopelessWaitingRequestsOnlyWhenAsked() {
        Request hopeless = request("hopeless", 1, Slo.interactive(100, 50), 4000, 10, 0);
        InstanceState s = instance(10_000);
        s.enqueue(hopeless, 0);
        BatchPlan served = Policies.create("slidebatching").plan(s, 0);
        assertThat(served.dropped()).isEmpty();
        assertThat(prefillOrder(served)).containsExactly(hopeless);

        BatchPlan dropped = Policies.create("slidebatching", PolicyOptions.defaults().withDropLate(true)).plan(s, 0);
        assertThat(dropped.dropped()).containsExactly(hopeless);
        assertThat(s.apply(dropped, 0)).containsExactly(hopeless);
        assertThat(hopeless.state()).isEqualTo(RequestState.REJECTED);
        assertThat(s.isIdle()).isTrue();
    }

    @Test
    void decodesOfBatchRequestsArePacedToTheirCompletionDeadline() {
        Request batch = request("batch", 0.25, Slo.deadline(10_000), 100, 101, 0);
        batch.advance(100, 1000);
        PolicyOptions o = PolicyOptions.defaults();
        // 100 more tokens in the 9 s left: one every 90 ms.
        assertThat(Deadlines.pace(batch, o)).isCloseTo(90.0, within(1e-9));
        assertThat(Deadlines.next(batch, o)).isCloseTo(1090.0, within(1e-9));
    }

    @Test
    void aNewRequestDoesNotEvictRunningWorkByRecompute() {
        InstanceState s = instance(10);
        BatchPolicy p = Policies.create("slidebatching");
        Request old = request("old", 0.25, Slo.deadline(600_000), 140, 20, 0);
        s.enqueue(old, 0);
        step(s, p, 0, 20);
        // 9 blocks held, 1 free; an urgent, heavier request needs 4.
        Request urgent = request("urgent", 4, Slo.interactive(300, 50), 60, 5, 20);
        s.enqueue(urgent, 20);
        BatchPlan plan = p.plan(s, 20);
        assertThat(plan.preempted()).isEmpty();
        assertThat(plan.decode()).containsExactly(old);
        assertThat(plan.prefill()).isEmpty();
    }

    @Test
    void aRunningDecodeIsNotEvictedForANewRequestEvenWithAHostTier() {
        // Decodes rank ahead of every prefill (stall-free), so a heavier new request waits for
        // blocks rather than swapping a running decode out, host tier or not.
        InstanceState s = new InstanceState(0, Role.MIXED, new KvBlockAccounting(16, 10, 100, 0.1, 0.02),
                TestRequests.model());
        BatchPolicy p = Policies.create("slidebatching");
        Request old = request("old", 0.25, Slo.deadline(600_000), 140, 20, 0);
        s.enqueue(old, 0);
        step(s, p, 0, 20);
        Request urgent = request("urgent", 4, Slo.interactive(300, 50), 60, 5, 20);
        s.enqueue(urgent, 20);
        BatchPlan plan = p.plan(s, 20);
        assertThat(plan.preempted()).isEmpty();
        assertThat(plan.decode()).containsExactly(old);
        assertThat(prefillOrder(plan)).isEmpty();
    }

    @Test
    void aPrefillIsAdmittedOnlyWithRoomForAllOfIt() {
        InstanceState s = instance(20);
        BatchPolicy p = Policies.create("slidebatching");
        Request dec = request("dec", 1, Slo.interactive(1000, 50), 16, 100, 0);
        s.enqueue(dec, 0);
        step(s, p, 0, 10);
        // 19 blocks free but a 400-token prompt needs 25: no chunk of it starts, though one would fit.
        Request big = request("big", 1, Slo.interactive(5000, 50), 400, 10, 10);
        s.enqueue(big, 10);
        assertThat(p.plan(s, 10).prefill()).isEmpty();
    }

    @Test
    void starvedPrefillsTakeABoundedShareOfTheBudget() {
        InstanceState s = instance(100_000);
        SlideBatchingPolicy p = (SlideBatchingPolicy) Policies.create("slidebatching");
        Request starved = request("starved", 1, Slo.interactive(500, 50), 20_000, 10, 0);
        Request fresh = request("fresh", 1, Slo.interactive(5000, 50), 2000, 10, 1100);
        s.enqueue(starved, 0);
        s.enqueue(fresh, 1100);
        BatchPlan plan = p.plan(s, 1200);
        assertThat(prefillOrder(plan)).containsExactly(starved, fresh);
        double share = s.estimator().chunkWorkMs(plan.prefill().get(0).tokens(), 0) + s.estimator().c0();
        assertThat(share).isLessThanOrEqualTo(SlideBatchingPolicy.STARVED_SHARE * p.lastBudgetMs + 1e-9);
        assertThat(plan.prefill().get(1).tokens()).as("the fresh one still gets its whole prompt").isEqualTo(2000);
    }

    /** An instance running five on-pace interactive decodes of {@code context} tokens each, next tokens due at 1050. */
    private static InstanceState fullOfDecodes(int context) {
        InstanceState s = instance(100_000);
        for (int i = 0; i < 5; i++) {
            assertThat(s.enqueue(TestRequests.handedOver("d" + i, Slo.interactive(1000, 50), context, 100, 0, 1000), 1000))
                    .isTrue();
        }
        return s;
    }

    @Test
    void decodesOverTheBudgetLeaveWhatIsLeftToAnUrgentPrefill() {
        // Budget 50 ms (the decodes' pace). Four 8000-token decodes take 10 + 4 x (0.5 + 8) = 44 ms;
        // the fifth would make it 52.5, so it waits, and the urgent prefill (150 ms left, under the
        // ~190 ms load) gets the 6 ms left (~119 tokens) instead of nothing.
        InstanceState s = fullOfDecodes(8000);
        Request p = request("p", 4, Slo.interactive(1000, 50), 1000, 10, 150);
        s.enqueue(p, 150);
        SlideBatchingPolicy sb = (SlideBatchingPolicy) Policies.create("slidebatching");
        BatchPlan plan = sb.plan(s, 1000);
        assertThat(sb.lastBudgetMs).isEqualTo(50.0);
        assertThat(sb.lastUrgent).isPositive();
        assertThat(plan.decode()).hasSize(4);
        assertThat(prefillOrder(plan)).as("a decode over the budget does not end the fill").containsExactly(p);
        assertThat(plan.prefill().get(0).tokens()).isBetween(100, 130);
        assertThat(plan.estimatedMs()).isLessThanOrEqualTo(50.0);
    }

    @Test
    void anUrgentPrefillGetsAMinimumChunkWhenTheDecodesFillTheBudget() {
        // Four 9000-token decodes take 48 ms of the 50: under a minimum chunk (50 tokens, 2.5 ms) is left.
        InstanceState s = fullOfDecodes(9000);
        Request urgent = request("urgent", 4, Slo.interactive(1000, 50), 1000, 10, 150); // 150 ms left
        s.enqueue(urgent, 150);
        SlideBatchingPolicy sb = (SlideBatchingPolicy) Policies.create("slidebatching");
        BatchPlan plan = sb.plan(s, 1000);
        assertThat(sb.lastUrgent).isPositive();
        assertThat(plan.decode()).hasSize(4);
        assertThat(plan.prefill()).as("the urgent prefill still moves").hasSize(1);
        assertThat(plan.prefill().get(0).tokens()).isEqualTo(50);
        assertThat(plan.estimatedMs()).as("one minimum chunk past the budget").isCloseTo(50.5, within(0.01));

        // A new prefill that can wait (not urgent, not started) is not admitted behind decodes that
        // overrun the budget: it would only add one more decode to them.
        InstanceState calm = fullOfDecodes(9000);
        Request later = request("later", 1, Slo.interactive(60_000, 50), 1000, 10, 1000);
        calm.enqueue(later, 1000);
        BatchPlan calmPlan = Policies.create("slidebatching").plan(calm, 1000);
        assertThat(calmPlan.decode()).hasSize(4);
        assertThat(calmPlan.prefill()).isEmpty();
    }

    @Test
    void aBatchDecodePastItsDeadlineDoesNotShrinkTheBudgetToNothing() {
        // Five on-pace interactive decodes (next tokens due at 1050) and a batch-class decode whose
        // first token came at 1000, at its 1000 ms deadline: no pace is left to it, and as the
        // tightest decode pace it made the budget 0, so each batch ran one decode and the rest waited.
        InstanceState s = fullOfDecodes(100);
        Request late = TestRequests.handedOver("late", Slo.deadline(1000), 100, 50, 0, 1000);
        assertThat(s.enqueue(late, 1000)).isTrue();
        SlideBatchingPolicy sb = (SlideBatchingPolicy) Policies.create("slidebatching");
        BatchPlan plan = sb.plan(s, 1000);
        assertThat(Deadlines.pace(late, PolicyOptions.defaults())).isZero();
        // 50 ms of the interactive pace: the six decodes take 10 + 6 x (0.5 + 0.1) = 13.6 ms.
        assertThat(sb.lastBudgetMs).isEqualTo(50.0);
        assertThat(plan.decode()).hasSize(6);
    }

    @Test
    void aStarvedPrefillGetsOneMinimumChunkBesideDecodesThoughItIsOverItsShare() {
        // A chunk over 10,000 cached tokens costs 0.05 + 0.1 ms a token: its 50-token minimum, 7.5 ms,
        // is more than the starved share (10 % of 40 ms). Starved, the prompt was passed over in every
        // batch with a decode in it, while a prompt that was not starved would have had its chunk.
        LatencyModel m = new LatencyModel(10, 0.05, 0, 1e-5, 0, 10, 0.5, 0.001);
        InstanceState s = new InstanceState(0, Role.MIXED, new KvBlockAccounting(16, 100_000), m);
        SlideBatchingPolicy p = (SlideBatchingPolicy) Policies.create("slidebatching");
        Request old = request("old", 1, Slo.interactive(500, 50), 20_000, 10, 0);
        s.enqueue(old, 0);
        for (double now = 0; old.prefilledTokens() < 10_000; now++) {
            step(s, p, now, now + 1);
        }
        // At 1200 it is 700 ms late on a 500 ms TTFT: starved. The decode's next token is due at 1240.
        Request dec = TestRequests.handedOver("dec", Slo.interactive(1000, 50), 1000, 100, 500, 1190);
        assertThat(s.enqueue(dec, 1200)).isTrue();
        BatchPlan plan = p.plan(s, 1200);
        assertThat(p.lastBudgetMs).isEqualTo(40.0);
        assertThat(plan.decode()).containsExactly(dec);
        assertThat(prefillOrder(plan)).as("the starved prompt moves").containsExactly(old);
        assertThat(plan.prefill().get(0).tokens()).isEqualTo(50);
        assertThat(plan.estimatedMs()).isLessThanOrEqualTo(40.0);
    }

    @Test
    void aPromptThatFitsTheWholeCacheIsServedOnceTheInstanceIsEmpty() {
        // 100 blocks of 16 tokens; 1,590 + 5 tokens need all 100, so the instance accepts it. Admission
        // also kept the 1 % watermark (1 block) free for running sequences that were not there: the
        // prompt waited forever, and starved it held the door against every later request too.
        InstanceState s = instance(100);
        Request whole = request("whole", 1, Slo.interactive(1000, 50), 1590, 5, 0);
        assertThat(s.enqueue(whole, 0)).isTrue();
        Request next = request("next", 1, Slo.interactive(1000, 50), 16, 5, 0);
        s.enqueue(next, 0);
        List<Request> ended = TestRequests.drain(s, Policies.create("slidebatching"), 0, 500);
        assertThat(ended).containsExactlyInAnyOrder(whole, next);
        assertThat(whole.state()).isEqualTo(RequestState.FINISHED_OK);
    }

    /** Feeds heavy interactive traffic well past capacity with one low-weight batch request in it. */
    private static Request lowClassUnderOverload(String policy) {
        return TestRequests.underOverload(policy, request("low", 0.25, Slo.deadline(5_000), 3000, 20, 2_000));
    }

    @Test
    void theLowestClassIsNotStarvedUnderOverloadUnlikeStrictPriority() {
        Request underPriority = lowClassUnderOverload("priority");
        assertThat(underPriority.state()).as("strict priority starves it for two minutes").isNotEqualTo(RequestState.FINISHED_OK);

        Request underSlide = lowClassUnderOverload("slidebatching");
        assertThat(underSlide.state()).isEqualTo(RequestState.FINISHED_OK);
        // Starved at 8.2 s, then first come first served among the starved, at a bounded share of each batch.
        assertThat(underSlide.finishMs()).isLessThan(90_000);
    }

    @Test
    void aRequestWithoutAFirstTokenTargetIsServedUnderOverload() {
        // No SLO at all, or a TPOT only: with no first-token deadline such a request ranked after every request
        // that has one, and an edf decode with no pace after every other request, so under overload it never
        // finished (fcfs finishes it in 14 s). Ordered by the default targets, it is served, and never late.
        for (String policy : List.of("slidebatching", "edf")) {
            for (Slo slo : List.of(Slo.NONE, new Slo(Double.NaN, 50, Double.NaN))) {
                Request r = TestRequests.underOverload(policy, request("no-ttft", 1, slo, 2000, 20, 2_000));
                assertThat(r.state()).as("%s, %s", policy, slo).isEqualTo(RequestState.FINISHED_OK);
                assertThat(r.finishMs()).as("%s, %s", policy, slo).isLessThan(30_000);
            }
        }
    }
}
