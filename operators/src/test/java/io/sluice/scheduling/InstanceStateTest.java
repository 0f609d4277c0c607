package io.sluice.scheduling;

import static io.sluice.scheduling.TestRequests.instance;
import static io.sluice.scheduling.TestRequests.request;
import static io.sluice.scheduling.TestRequests.step;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.within;

import java.util.List;
import org.junit.jupiter.api.Test;

/** The plan-apply-complete loop: PD handover, host-tier swap and prefetch, O(1) backlog sums, plan validation. */
class InstanceStateTest {

    private static final Slo SLO = Slo.interactive(1000, 50);

    @Test
    void prefillInstanceHandsOverAfterTheFirstTokenAndDecodeInstanceFinishes() {
        InstanceState p = instance(0, Role.PREFILL, 100);
        InstanceState d = instance(1, Role.DECODE, 100);
        BatchPolicy policy = Policies.create("slidebatching");
        Request r = request("r", 1, SLO, 100, 3, 0);
        p.enqueue(r, 0);
        BatchPlan plan = policy.plan(p, 0);
        p.apply(plan, 0);
        assertThat(r.state()).isEqualTo(RequestState.PREFILLING);
        List<Request> out = p.complete(plan, 15);
        assertThat(out).containsExactly(r);
        assertThat(r.state()).isEqualTo(RequestState.TRANSFERRING);
        assertThat(r.firstTokenMs()).isEqualTo(15.0);
        assertThat(p.blocks().freeBlocks()).isEqualTo(100);
        assertThat(p.isIdle()).isTrue();

        assertThat(d.enqueue(r, 15, 20)).isTrue();
        assertThat(d.decodeSequences()).as("counted at once").isEqualTo(1);
        assertThat(policy.plan(d, 18).isEmpty()).as("KV still in transit").isTrue();
        step(d, policy, 20, 30);
        assertThat(r.state()).isEqualTo(RequestState.DECODING);
        List<Request> done = List.of();
        for (double t = 30; done.isEmpty(); t += 10) {
            BatchPlan pl = policy.plan(d, t);
            d.apply(pl, t);
            done = d.complete(pl, t + 10);
        }
        assertThat(done).containsExactly(r);
        assertThat(r.state()).isEqualTo(RequestState.FINISHED_OK);
        assertThat(r.generatedTokens()).isEqualTo(3);
        assertThat(r.meanTpotMs()).isCloseTo((40 - 15) / 2.0, within(1e-9));
        assertThat(r.sloMet()).isTrue();
        assertThat(d.blocks().freeBlocks()).isEqualTo(100);
    }

    @Test
    void preemptionWithAHostTierSwapsAndPrefetchesBack() {
        KvBlockAccounting kv = new KvBlockAccounting(16, 4, 10, 0.1, 0.05);
        InstanceState s = new InstanceState(0, Role.MIXED, kv, TestRequests.model());
        BatchPolicy fcfs = Policies.create("fcfs");
        Request a = request("a", 1, SLO, 32, 10, 0);
        Request b = request("b", 1, SLO, 32, 10, 0);
        s.enqueue(a, 0);
        s.enqueue(b, 0);
        step(s, fcfs, 0, 10);
        BatchPlan plan = fcfs.plan(s, 10);
        assertThat(plan.preempted()).containsExactly(b);
        s.apply(plan, 10);
        assertThat(b.state()).isEqualTo(RequestState.SWAPPED);
        assertThat(b.hostBlocks()).isEqualTo(2);
        assertThat(b.prefilledTokens()).as("KV kept on the host").isEqualTo(32);
        assertThat(s.swapped()).containsExactly(b);
        s.complete(plan, 20);
        // a finishes eventually; b comes back without recomputing its prompt.
        TestRequests.drain(s, fcfs, 20, 1000);
        assertThat(b.state()).isEqualTo(RequestState.FINISHED_OK);
        assertThat(s.swapIns()).isGreaterThanOrEqualTo(1);
        assertThat(kv.hostFreeBlocks()).isEqualTo(10);
        assertThat(kv.freeBlocks()).isEqualTo(4);
    }

    @Test
    void aSwappedSequenceHoldingEveryDeviceBlockComesBackOnceTheInstanceIsFree() {
        // 4 device blocks; a batch-class answer of up to 64 tokens fills all of them, then an interactive
        // prompt (earlier deadline) evicts it to the host tier. Once that one has finished, nothing runs:
        // the swapped sequence needs no block for anyone else's growth. Prefetch kept one block in reserve
        // even then, and 4 + 1 never fit in 4, so it stayed on the host for ever.
        KvBlockAccounting kv = new KvBlockAccounting(16, 4, 10, 0.1, 0.05);
        InstanceState s = new InstanceState(0, Role.MIXED, kv, TestRequests.model());
        BatchPolicy edf = Policies.create("edf");
        Request a = request("a", 1, Slo.deadline(600_000), 40, 24, 0);
        s.enqueue(a, 0);
        double now = 0;
        while (a.kvBlocks() < 4) {
            step(s, edf, now, now + 10);
            now += 10;
        }
        Request c = request("c", 1, SLO, 10, 2, now);
        s.enqueue(c, now);
        BatchPlan plan = edf.plan(s, now);
        assertThat(plan.preempted()).containsExactly(a);
        s.apply(plan, now);
        assertThat(a.state()).isEqualTo(RequestState.SWAPPED);
        assertThat(a.hostBlocks()).isEqualTo(4);
        s.complete(plan, now + 10);
        List<Request> ended = TestRequests.drain(s, edf, now + 10, 200);
        assertThat(ended).as("both finish").containsExactlyInAnyOrder(c, a);
        assertThat(a.state()).isEqualTo(RequestState.FINISHED_OK);
        assertThat(kv.freeBlocks()).isEqualTo(4);
        assertThat(kv.hostFreeBlocks()).isEqualTo(10);
    }

    @Test
    void backlogIsTheSumOfQueuedPrefillEstimates() {
        InstanceState s = instance(1000);
        s.enqueue(request("a", 1, SLO, 200, 5, 0), 0);
        s.enqueue(request("b", 1, SLO, 400, 5, 0), 0);
        assertThat(s.backlogMs()).isCloseTo(10 + 10 + 0.05 * 600, within(1e-9));
        step(s, Policies.create("fcfs"), 0, 40);
        assertThat(s.backlogMs()).isZero();
        assertThat(s.decodeSequences()).isEqualTo(2);
        assertThat(s.decodeStepMs()).isCloseTo(10 + 2 * 0.5 + 0.001 * 600, within(1e-9));
    }

    @Test
    void rejectsASequenceThatCanNeverFitAndBadPlans() {
        InstanceState s = instance(4);
        Request huge = request("huge", 1, SLO, 100, 10, 0);
        assertThat(s.enqueue(huge, 0)).isFalse();
        assertThat(huge.state()).isEqualTo(RequestState.REJECTED);

        Request r = request("r", 1, SLO, 40, 5, 0);
        s.enqueue(r, 0);
        BatchPlan twice = new BatchPlan(List.of(new Chunk(r, 20), new Chunk(r, 20)), List.of(), List.of(), 1);
        assertThatThrownBy(() -> s.apply(twice, 0)).isInstanceOf(IllegalStateException.class).hasMessageContaining("twice");
        assertThat(r.state()).as("a rejected plan changes nothing").isEqualTo(RequestState.WAITING);
        assertThat(s.blocks().freeBlocks()).isEqualTo(4);
        BatchPlan tooBig = new BatchPlan(List.of(new Chunk(r, 40), new Chunk(request("x", 1, SLO, 40, 5, 0), 40)),
                List.of(), List.of(), 1);
        assertThatThrownBy(() -> s.apply(tooBig, 0)).isInstanceOf(IllegalStateException.class);
        assertThatThrownBy(() -> s.complete(new BatchPlan(List.of(new Chunk(r, 10)), List.of(), List.of(), 1), 1))
                .as("complete without apply").isInstanceOf(IllegalStateException.class);
    }

    @Test
    void cancelFreesEverything() {
        InstanceState s = instance(100);
        Request r = request("r", 1, SLO, 40, 5, 0);
        s.enqueue(r, 0);
        step(s, Policies.create("fcfs"), 0, 10);
        s.cancel(r, RequestState.EXPIRED, 11);
        assertThat(r.state()).isEqualTo(RequestState.EXPIRED);
        assertThat(r.finishMs()).isEqualTo(11.0);
        assertThat(s.isIdle()).isTrue();
        assertThat(s.blocks().freeBlocks()).isEqualTo(100);
        assertThat(s.decodeSequences()).isZero();
    }

    @Test
    void aPrefillInstanceDecodesASequenceItKeepsWithoutHandingItOverAgain() {
        InstanceState p = instance(0, Role.PREFILL, 100);
        BatchPolicy policy = Policies.create("fcfs");
        Request r = request("r", 1, SLO, 50, 3, 0);
        p.enqueue(r, 0);
        assertThat(p.complete(applied(p, policy, 0), 10)).containsExactly(r);
        // No decode instance admits: the caller keeps the sequence here.
        p.enqueue(r, 10);
        assertThat(p.complete(applied(p, policy, 10), 20)).isEmpty();
        assertThat(r.state()).isEqualTo(RequestState.DECODING);
        assertThat(p.complete(applied(p, policy, 20), 30)).containsExactly(r);
        assertThat(r.state()).isEqualTo(RequestState.FINISHED_OK);
    }

    @Test
    void handedOverSequencesCountAsInboundBlocksUntilAdmittedOrEnded() {
        InstanceState d = instance(1, Role.DECODE, 100);
        Request a = TestRequests.handedOver("a", SLO, 100, 5, 0, 10); // 100 cached + the next token: 7 blocks
        Request b = TestRequests.handedOver("b", SLO, 32, 5, 0, 10);  // 33 tokens: 3 blocks
        Request c = TestRequests.handedOver("c", SLO, 15, 5, 0, 10);  // 16 tokens: 1 block
        d.enqueue(a, 10, 20);
        d.enqueue(b, 10, 20);
        d.enqueue(c, 10, 20);
        assertThat(d.inboundBlocks()).isEqualTo(11);
        assertThat(d.blocks().freeBlocks()).as("promised, not yet allocated").isEqualTo(100);
        d.apply(new BatchPlan(List.of(), List.of(a), List.of(), 11), 20);
        assertThat(d.inboundBlocks()).as("a admitted").isEqualTo(4);
        assertThat(d.blocks().freeBlocks()).isEqualTo(93);
        d.cancel(b, RequestState.EXPIRED, 21);
        d.apply(new BatchPlan(List.of(), List.of(), List.of(), List.of(c), 0), 21);
        assertThat(d.inboundBlocks()).as("b cancelled, c dropped").isZero();
        // A sequence a prefill instance keeps for itself waits for its blocks the same way.
        InstanceState p = instance(0, Role.PREFILL, 100);
        Request r = request("r", 1, SLO, 50, 3, 0);
        p.enqueue(r, 0);
        assertThat(p.complete(applied(p, Policies.create("fcfs"), 0), 10)).containsExactly(r);
        p.enqueue(r, 10);
        assertThat(p.inboundBlocks()).isEqualTo(4);
    }

    @Test
    void theTightestTpotSloCountsEverySequenceHereAndOnlyExplicitTpotSlos() {
        InstanceState d = instance(1, Role.DECODE, 100);
        assertThat(d.tightestTpotMs()).as("empty: no pace to keep").isInfinite();
        d.enqueue(TestRequests.handedOver("batch", Slo.deadline(1), 32, 5, 0, 10), 10, 20);
        assertThat(d.tightestTpotMs()).as("a lost deadline's pace is no TPOT SLO").isInfinite();
        Request standard = TestRequests.handedOver("standard", Slo.interactive(1000, 100), 32, 5, 0, 10);
        d.enqueue(standard, 10, 20);
        d.apply(new BatchPlan(List.of(), List.of(standard), List.of(), 3), 20);
        assertThat(standard.state()).isEqualTo(RequestState.DECODING);
        assertThat(d.tightestTpotMs()).as("running").isEqualTo(100);
        d.enqueue(TestRequests.handedOver("interactive", SLO, 32, 5, 0, 10), 10, 30);
        assertThat(d.tightestTpotMs()).as("handed over, KV in transit").isEqualTo(50);
    }

    private static BatchPlan applied(InstanceState s, BatchPolicy p, double now) {
        BatchPlan plan = p.plan(s, now);
        s.apply(plan, now);
        return plan;
    }
}
