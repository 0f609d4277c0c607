package io.sluice.scheduling;

import static io.sluice.scheduling.TestRequests.drain;
import static io.sluice.scheduling.TestRequests.instance;
import static io.sluice.scheduling.TestRequests.interactive;
import static org.assertj.core.api.Assertions.assertThat;

import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

/** fcfs against vLLM v1's behaviour: head-of-line stop, chunking to the token budget, newest-first recompute preemption. */
class FcfsPolicyTest {

    private final BatchPolicy fcfs = Policies.create("fcfs", PolicyOptions.defaults().withBatchLimits(2048, 256));

    @Test
    void headOfLineRequestBlocksLaterOnesThatWouldFit() {
        InstanceState s = instance(20);
        Request a = interactive("a", 200, 5, 0);
        s.enqueue(a, 0);
        BatchPlan first = fcfs.plan(s, 0);
        s.apply(first, 0);
        s.complete(first, 20);
        // 13 blocks held by a; 7 free. b needs 10 blocks, c needs 1.
        Request b = interactive("b", 150, 5, 1);
        Request c = interactive("c", 10, 5, 2);
        s.enqueue(b, 21);
        s.enqueue(c, 21);

        BatchPlan plan = fcfs.plan(s, 21);

        assertThat(plan.decode()).containsExactly(a);
        assertThat(plan.prefill()).as("c fits but must wait behind b (vLLM head-of-line)").isEmpty();
    }

    @Test
    void chunksTheHeadPrefillToTheTokenBudget() {
        InstanceState s = instance(1000);
        Request a = interactive("a", 3000, 5, 0);
        Request b = interactive("b", 100, 5, 0);
        s.enqueue(a, 0);
        s.enqueue(b, 0);

        BatchPlan plan = fcfs.plan(s, 0);

        assertThat(plan.prefill()).extracting(Chunk::request).containsExactly(a);
        assertThat(plan.prefill().get(0).tokens()).isEqualTo(2048);
        assertThat(plan.totalTokens()).isEqualTo(2048);
    }

    @Test
    void preemptsTheNewestRunningRequestAndRequeuesItFirst() {
        InstanceState s = instance(4);
        Request a = interactive("a", 32, 10, 0);
        Request b = interactive("b", 32, 10, 1);
        s.enqueue(a, 0);
        s.enqueue(b, 1);
        BatchPlan first = fcfs.plan(s, 1);
        assertThat(first.prefill()).hasSize(2);
        s.apply(first, 1);
        s.complete(first, 10);
        assertThat(s.blocks().freeBlocks()).isZero();

        // Both need a third block for their next token; only preempting b frees one.
        BatchPlan plan = fcfs.plan(s, 10);

        assertThat(plan.preempted()).containsExactly(b);
        assertThat(plan.decode()).containsExactly(a);
        s.apply(plan, 10);
        assertThat(b.state()).isEqualTo(RequestState.WAITING);
        assertThat(b.prefilledTokens()).as("recompute drops the KV").isZero();
        assertThat(b.remainingPrefill()).as("prompt + the generated token").isEqualTo(33);
        assertThat(s.waiting().get(0)).isSameAs(b);
        assertThat(b.preemptions()).isEqualTo(1);
    }

    @Test
    void aSwappedSequenceComesBackBeforeNewRequestsAreAdmitted() {
        // 4 device blocks and a host tier. a's growth swaps b (the newest) out; then a new request arrives
        // every round. Swapped sequences are no policy's candidates: they come back only with the blocks a
        // plan leaves free, and admitting every arrival into those blocks kept b on the host for as long as
        // arrivals came (in the simulator, minutes). vLLM admits nothing new while a request is swapped.
        KvBlockAccounting kv = new KvBlockAccounting(16, 4, 16, 0.1, 0.05);
        InstanceState s = new InstanceState(0, Role.MIXED, kv, TestRequests.model());
        Request a = interactive("a", 32, 3, 0);
        Request b = interactive("b", 32, 20, 0);
        s.enqueue(a, 0);
        s.enqueue(b, 0);
        double now = 0;
        List<Request> ended = new ArrayList<>();
        for (int round = 0; round < 200 && b.state() != RequestState.FINISHED_OK; round++) {
            s.enqueue(interactive("n" + round, 16, 30, now), now);
            BatchPlan plan = fcfs.plan(s, now);
            ended.addAll(s.apply(plan, now));
            now += 10;
            ended.addAll(s.complete(plan, now));
        }
        assertThat(b.preemptions()).as("b went to the host tier").isPositive();
        assertThat(b.state()).as("b came back and finished while arrivals went on").isEqualTo(RequestState.FINISHED_OK);
    }

    @Test
    void everyRequestEndsExactlyOnceAndBlocksComeBack() {
        InstanceState s = instance(200);
        SplittableRandom rnd = new SplittableRandom(7);
        List<Request> all = new ArrayList<>();
        for (int i = 0; i < 60; i++) {
            Request r = interactive("r" + i, 1 + rnd.nextInt(600), 1 + rnd.nextInt(80), i);
            all.add(r);
            s.enqueue(r, i);
        }

        List<Request> ended = drain(s, fcfs, 100, 100_000);

        Set<String> ids = new HashSet<>();
        for (Request r : ended) {
            assertThat(ids.add(r.id())).as("ended twice: %s", r.id()).isTrue();
            assertThat(r.state()).isEqualTo(RequestState.FINISHED_OK);
            assertThat(r.generatedTokens()).isEqualTo(r.maxNewTokens());
            assertThat(r.lastTokenMs()).isGreaterThanOrEqualTo(r.firstTokenMs());
        }
        assertThat(ids).hasSize(all.size());
        assertThat(s.blocks().freeBlocks()).isEqualTo(s.blocks().totalBlocks());
        assertThat(s.backlogMs()).isZero();
        assertThat(s.decodeSequences()).isZero();
    }
}
