package io.sluice.scheduling;

import static io.sluice.scheduling.TestRequests.handedOver;
import static io.sluice.scheduling.TestRequests.instance;
import static io.sluice.scheduling.TestRequests.request;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

/** Routing per DESIGN.md section 3, on instances loaded by hand (model: 10 ms + 0.05 ms per prefill token). */
class RouterTest {

    private static final Slo SLO = Slo.interactive(1000, 50);

    /** Queues prefill work worth about {@code ms} on {@code s}. */
    private static void load(InstanceState s, double ms) {
        int tokens = (int) Math.round((ms - 10) / 0.05);
        s.enqueue(request("load" + s.id() + "-" + ms, 1, SLO, tokens, 10, 0), 0);
    }

    @Test
    void picksTheMostIdleLightInstance() {
        InstanceState a = instance(0, Role.PREFILL, 10_000);
        InstanceState b = instance(1, Role.PREFILL, 10_000);
        InstanceState c = instance(2, Role.PREFILL, 10_000);
        load(a, 250);
        load(b, 100);
        load(c, 2000);
        Router router = new Router(List.of(a, b, c), RouterOptions.defaults());
        Router.Route route = router.routeNew(request("x", 1, SLO, 200, 10, 0), 0);
        assertThat(route.instance()).isSameAs(b);
        assertThat(route.hybrid()).isFalse();
        assertThat(route.predictedTtftMs()).isCloseTo(100 + 20, within(1e-6));
    }

    @Test
    void avoidsHeavyInstancesWhileAModerateOneMeetsTheSlo() {
        InstanceState a = instance(0, Role.PREFILL, 10_000);
        InstanceState b = instance(1, Role.PREFILL, 10_000);
        load(a, 500);  // load 0.5: neither light nor heavy
        load(b, 850);  // load 0.85: heavy, yet its TTFT would still meet 1000 ms
        Router router = new Router(List.of(b, a), RouterOptions.defaults());
        assertThat(router.routeNew(request("x", 1, SLO, 100, 10, 0), 0).instance()).isSameAs(a);
    }

    @Test
    void hybridRoutesAShortPrefillToADecodeInstanceWithSlackWhenNoPrefillMeetsTheSlo() {
        InstanceState p = instance(0, Role.PREFILL, 10_000);
        InstanceState d1 = instance(1, Role.DECODE, 10_000);
        InstanceState d2 = instance(2, Role.DECODE, 10_000);
        load(p, 3000);
        d1.enqueue(handedOver("busy", SLO, 500, 50, 0, 10), 10);
        Router router = new Router(List.of(p, d1, d2), RouterOptions.defaults());

        Router.Route shortOne = router.routeNew(request("s", 1, SLO, 200, 10, 0), 0);
        assertThat(shortOne.hybrid()).isTrue();
        assertThat(shortOne.instance()).isSameAs(d2);

        Router.Route longOne = router.routeNew(request("l", 1, SLO, 4000, 10, 0), 0);
        assertThat(longOne.hybrid()).as("too long for a decode instance").isFalse();
        assertThat(longOne.instance()).isSameAs(p);

        Router noHybrid = new Router(List.of(p, d1, d2), RouterOptions.defaults().withHybrid(false));
        assertThat(noHybrid.routeNew(request("s2", 1, SLO, 200, 10, 0), 0).instance()).isSameAs(p);
    }

    @Test
    void hybridPrefillsGoOnlyToADecodeInstanceThatAdmitsThePromptsKv() {
        // No prefill instance meets the TTFT. d1 has the fastest step (12.0 ms + 10 ms of prefill work, under
        // the 25 ms bound) but 4 of its 100 blocks free: under the 5 % stop threshold, it takes no handoff, so
        // no prompt either. d2 steps slower (13 ms) and has room.
        InstanceState p = instance(0, Role.PREFILL, 10_000);
        InstanceState d1 = instance(1, Role.DECODE, 100);
        InstanceState d2 = instance(2, Role.DECODE, 1000);
        load(p, 3000);
        Request hog = handedOver("hog", SLO, 96 * 16 - 1, 50, 0, 5);
        d1.enqueue(hog, 5);
        d1.apply(new BatchPlan(List.of(), List.of(hog), List.of(), 12), 5);
        d2.enqueue(handedOver("a", SLO, 1000, 50, 0, 5), 5);
        d2.enqueue(handedOver("b", SLO, 1000, 50, 0, 5), 5);
        assertThat(d1.decodeStepMs()).isLessThan(d2.decodeStepMs());
        Router router = new Router(List.of(p, d1, d2), RouterOptions.defaults());
        Router.Route route = router.routeNew(request("s", 1, SLO, 200, 10, 0), 0);
        assertThat(route.hybrid()).isTrue();
        assertThat(route.instance()).as("the decode instance that admits").isSameAs(d2);

        // 16 of 60 blocks free, 12 of them promised to a handoff on its way: 4 uncommitted (6.7 %) admits, but
        // a prompt of 5 blocks does not fit.
        InstanceState d3 = instance(1, Role.DECODE, 60);
        Request most = handedOver("most", SLO, 44 * 16 - 1, 50, 0, 5);
        d3.enqueue(most, 5);
        d3.apply(new BatchPlan(List.of(), List.of(most), List.of(), 12), 5);
        d3.enqueue(handedOver("onItsWay", SLO, 12 * 16 - 1, 50, 0, 5), 5, 100);
        assertThat(d3.decodeStepMs()).isLessThan(d2.decodeStepMs());
        Router roomy = new Router(List.of(p, d3, d2), RouterOptions.defaults());
        assertThat(roomy.routeNew(request("t", 1, SLO, 5 * 16, 10, 0), 0).instance()).isSameAs(d2);
        assertThat(roomy.routeNew(request("u", 1, SLO, 4 * 16, 10, 0), 0).instance()).as("4 blocks fit")
                .isSameAs(d3);
    }

    @Test
    void decodePlacementKeepsThePaceOfTheSequencesAlreadyThere() {
        // d1 decodes 66 interactive sequences (TPOT 50 ms): a step of 10 + 66 x 0.6 = 49.6 ms, one more makes it
        // 50.2 ms. A request with a looser target (200 ms) would keep its own pace there, but slow every
        // interactive sequence past theirs: it goes to d2, which is empty.
        InstanceState d1 = instance(0, Role.DECODE, 10_000);
        InstanceState d2 = instance(1, Role.DECODE, 10_000);
        for (int i = 0; i < 66; i++) {
            d1.enqueue(handedOver("i" + i, SLO, 99, 50, 0, 5), 5);
        }
        assertThat(d1.decodeStepMs()).isLessThanOrEqualTo(50);
        Router router = new Router(List.of(d1, d2), RouterOptions.defaults());
        Request loose = handedOver("loose", Slo.interactive(1000, 200), 99, 50, 0, 10);
        assertThat(d1.decodeStepMsWith(loose.contextTokens())).isGreaterThan(50);
        assertThat(router.placeDecode(loose, 10)).containsSame(d2);
        // Within every target there, it still fills d1 first.
        Request few = handedOver("few", Slo.interactive(1000, 200), 99, 50, 0, 10);
        d1.cancel(d1.waiting().get(0), RequestState.EXPIRED, 10);
        assertThat(router.placeDecode(few, 10)).containsSame(d1);
        // A batch request whose first token came after its deadline has an even pace of 0 ms: no target to keep.
        d1.enqueue(handedOver("late", Slo.deadline(100), 99, 50, 0, 500), 500);
        d1.cancel(d1.waiting().get(0), RequestState.EXPIRED, 500);
        assertThat(router.placeDecode(handedOver("next", SLO, 99, 50, 0, 500), 500)).containsSame(d1);
    }

    @Test
    void decodePlacementTakesTheFirstInstanceWithinTpotAndStopsAdmittingUnderTheUpperThreshold() {
        InstanceState d1 = instance(0, Role.DECODE, 100);
        InstanceState d2 = instance(1, Role.DECODE, 100);
        Router router = new Router(List.of(d1, d2), RouterOptions.defaults());
        Request r = handedOver("r", SLO, 100, 10, 0, 10);
        assertThat(router.placeDecode(r, 10)).containsSame(d1);

        // Fill d1 to 96 % used: below the 5 % free stop threshold.
        Request hog = handedOver("hog", SLO, 96 * 16 - 1, 2, 0, 5);
        d1.enqueue(hog, 5);
        d1.apply(new BatchPlan(List.of(), List.of(hog), List.of(), 11), 5);
        assertThat(d1.blocks().freeFraction()).isLessThan(0.05);
        assertThat(router.placeDecode(r, 10)).containsSame(d2);
        assertThat(router.admitting(0)).isFalse();

        // Once the hog finishes, free blocks are back over the 15 % resume threshold.
        d1.complete(new BatchPlan(List.of(), List.of(hog), List.of(), 11), 16);
        assertThat(hog.state()).isEqualTo(RequestState.FINISHED_OK);
        assertThat(router.placeDecode(r, 20)).containsSame(d1);
        assertThat(router.admitting(0)).isTrue();
    }

    @Test
    void decodePlacementIsEmptyWhenNoDecodeInstanceAdmits() {
        InstanceState d1 = instance(0, Role.DECODE, 10);
        Router router = new Router(List.of(d1, instance(1, Role.PREFILL, 10)), RouterOptions.defaults());
        Request big = handedOver("big", SLO, 150, 5, 0, 1);
        Request hog = handedOver("hog", SLO, 150, 5, 0, 1);
        d1.enqueue(hog, 1);
        d1.apply(new BatchPlan(List.of(), List.of(hog), List.of(), 1), 1);
        assertThat(router.placeDecode(big, 2)).isEmpty();
    }

    @Test
    void aBurstOfHandoffsIsPlacedOnBlocksNoEarlierHandoffWasPromised() {
        // Handoffs placed one after another are queued on their decode instance at once (KV in transit), so
        // none holds blocks there yet. Each needs 30 of 100 blocks: d1 keeps its pace with all of them, but
        // has room for three; counting only its free blocks put every one of them there.
        InstanceState d1 = instance(0, Role.DECODE, 100);
        InstanceState d2 = instance(1, Role.DECODE, 100);
        Router router = new Router(List.of(d1, d2), RouterOptions.defaults());
        List<Integer> placedOn = new ArrayList<>();
        for (int i = 0; i < 5; i++) {
            Request r = handedOver("h" + i, SLO, 30 * 16 - 1, 10, 0, 10);
            InstanceState d = router.placeDecode(r, 10).orElseThrow();
            assertThat(d.enqueue(r, 10, 10 + router.handoffMs(r))).isTrue();
            placedOn.add(d.id());
        }
        assertThat(d1.blocks().freeBlocks()).as("nothing admitted yet").isEqualTo(100);
        assertThat(placedOn).as("three handoffs of 30 blocks fit on d1").containsExactly(0, 0, 0, 1, 1);

        // d1 can admit everything placed there in one step, with blocks to spare for the step after.
        d1.apply(new BatchPlan(List.of(), List.copyOf(d1.waiting()), List.of(), 14), 20);
        assertThat(d1.blocks().freeBlocks()).isEqualTo(10);
    }

    @Test
    void handoffsOnTheirWayCountAgainstTheAdmissionThreshold() {
        // 10 % free, but 8 of those blocks are promised to a sequence on its way: 2 % uncommitted is under the
        // 5 % stop threshold, so d1 stops admitting, even for a sequence that would fit in what is left.
        InstanceState d1 = instance(0, Role.DECODE, 100);
        InstanceState d2 = instance(1, Role.DECODE, 100);
        Request hog = handedOver("hog", SLO, 90 * 16 - 1, 2, 0, 5);
        d1.enqueue(hog, 5);
        d1.apply(new BatchPlan(List.of(), List.of(hog), List.of(), 11), 5);
        d1.enqueue(handedOver("onItsWay", SLO, 8 * 16 - 1, 10, 0, 5), 6, 50);
        assertThat(d1.blocks().freeBlocks()).isEqualTo(10);
        Router router = new Router(List.of(d1, d2), RouterOptions.defaults());
        assertThat(router.placeDecode(handedOver("small", SLO, 15, 10, 0, 10), 10)).containsSame(d2);
        assertThat(router.admitting(0)).isFalse();
    }

    @Test
    void handoffTimeIsBytesOverBandwidth() {
        Router router = new Router(List.of(instance(10)), RouterOptions.defaults().withLink(524_288, 2.5e7, 0.05));
        Request r = handedOver("r", SLO, 1000, 5, 0, 1);
        assertThat(router.handoffMs(r)).isCloseTo(0.05 + 1000 * 524_288 / 2.5e7, within(1e-9));
    }

    @Test
    void idlePrefillInstanceTurnsDecodeWhenNoDecodeInstanceMeetsItsTpot() {
        InstanceState p1 = instance(0, Role.PREFILL, 10_000);
        InstanceState p2 = instance(1, Role.PREFILL, 10_000);
        InstanceState d = instance(2, Role.DECODE, 100_000);
        Router router = new Router(List.of(p1, p2, d), RouterOptions.defaults());
        assertThat(router.rebalance(0)).as("nothing to fix").isEmpty();
        // 200 sequences of 4k context: a step of ~10 + 100 + 800 ms, far over 50 ms.
        for (int i = 0; i < 200; i++) {
            Request r = handedOver("d" + i, SLO, 4000, 100, 0, 1);
            d.enqueue(r, 1);
        }
        d.apply(new BatchPlan(List.of(), List.copyOf(d.waiting()), List.of(), 1), 1);
        List<Router.RoleFlip> flips = router.rebalance(2);
        assertThat(flips).hasSize(1);
        assertThat(flips.get(0).from()).isEqualTo(Role.PREFILL);
        assertThat(p1.role()).isEqualTo(Role.DECODE);
        assertThat(router.rebalance(3)).as("the last prefill instance stays").isEmpty();
        assertThat(p2.role()).isEqualTo(Role.PREFILL);
    }

    @Test
    void aBatchRequestPastItsDeadlineDoesNotTurnAPrefillInstanceDecode() {
        // d decodes one batch request whose first token came after its 100 ms deadline: its even pace to the
        // deadline is 0 ms, which no step meets, but it has no TPOT to keep. d's step (~10.6 ms) is no reason to
        // take an instance from the prefill pool.
        InstanceState p1 = instance(0, Role.PREFILL, 10_000);
        InstanceState p2 = instance(1, Role.PREFILL, 10_000);
        InstanceState d = instance(2, Role.DECODE, 10_000);
        Request late = handedOver("late", Slo.deadline(100), 100, 50, 0, 500);
        d.enqueue(late, 500);
        d.apply(new BatchPlan(List.of(), List.of(late), List.of(), 11), 500);
        Router router = new Router(List.of(p1, p2, d), RouterOptions.defaults());
        assertThat(router.rebalance(501)).isEmpty();
        assertThat(p1.role()).isEqualTo(Role.PREFILL);
    }

    @Test
    void decodeInstanceDrainsThenTurnsPrefillUnderPrefillPressure() {
        InstanceState p = instance(0, Role.PREFILL, 10_000);
        InstanceState d1 = instance(1, Role.DECODE, 10_000);
        InstanceState d2 = instance(2, Role.DECODE, 10_000);
        Request seq = handedOver("seq", SLO, 100, 2, 0, 1);
        d2.enqueue(seq, 1);
        d1.enqueue(handedOver("other", SLO, 100, 50, 0, 1), 1);
        d1.enqueue(handedOver("other2", SLO, 100, 50, 0, 1), 1);
        Router router = new Router(List.of(p, d1, d2), RouterOptions.defaults());
        load(p, 5000);

        assertThat(router.rebalance(2)).isEmpty();
        assertThat(router.draining(2)).as("the emptiest decode instance drains first").isTrue();
        assertThat(router.placeDecode(handedOver("new", SLO, 100, 5, 0, 1), 2)).containsSame(d1);

        d2.cancel(seq, RequestState.EXPIRED, 3);
        List<Router.RoleFlip> flips = router.rebalance(4);
        assertThat(flips).extracting(Router.RoleFlip::to).containsExactly(Role.PREFILL);
        assertThat(d2.role()).isEqualTo(Role.PREFILL);
        assertThat(router.rebalance(5)).as("the last decode instance stays").isEmpty();
    }

    @Test
    void noHybridPrefillWhenTheOtherDecodeInstanceIsDrainingToTurnPrefill() {
        // 1:2 under prefill pressure: d2, the emptiest, drains to turn prefill. A short prompt no prefill instance
        // serves in time would fit d1's slack (a step of ~10.6 + 10 ms under 50 x 1/2), but d1 is about to be the
        // whole decode pool: a hybrid prefill needs another decode instance to keep the pool's pace, and a draining
        // one takes no sequence. It queues on the prefill instance.
        InstanceState p = instance(0, Role.PREFILL, 10_000);
        InstanceState d1 = instance(1, Role.DECODE, 10_000);
        InstanceState d2 = instance(2, Role.DECODE, 10_000);
        d1.enqueue(handedOver("other", SLO, 100, 50, 0, 1), 1);
        load(p, 5000);
        Router router = new Router(List.of(p, d1, d2), RouterOptions.defaults());
        assertThat(router.routeNew(request("before", 1, SLO, 200, 10, 0), 0).instance()).as("hybrid while d2 admits")
                .isIn(d1, d2);
        assertThat(router.rebalance(2)).isEmpty();
        assertThat(router.draining(2)).isTrue();

        Router.Route route = router.routeNew(request("s", 1, SLO, 200, 10, 2), 2);
        assertThat(route.hybrid()).isFalse();
        assertThat(route.instance()).isSameAs(p);
    }

    @Test
    void leastLoadedIsTheMaxMinOffloadTarget() {
        InstanceState a = instance(0, Role.MIXED, 10_000);
        InstanceState b = instance(1, Role.MIXED, 10_000);
        load(a, 300);
        load(b, 200);
        assertThat(new Router(List.of(a, b), RouterOptions.defaults()).leastLoaded()).isSameAs(b);
    }
}
