package io.sluice.job.sim;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

import io.sluice.scheduling.BatchPlan;
import io.sluice.scheduling.LatencyModel;
import io.sluice.scheduling.Policies;
import io.sluice.scheduling.PolicyOptions;
import io.sluice.scheduling.Request;
import io.sluice.scheduling.RequestState;
import io.sluice.scheduling.RouterOptions;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

class SimulatorTest {

    private static final CostModel A100 = CostModels.parse("a100-llama2-7b");
    private static final LatencyModel ESTIMATOR = EstimatorProfile.fit(A100, 1).model();
    private static final RouterOptions ROUTER = RouterOptions.defaults();
    private static final Mix ONE_CLASS = Mix.parse("only:1:w=1:ttft=1000:tpot=100");

    private static Simulator simulator(CostModel cost, Mix mix, String topology) {
        LatencyModel est = cost == A100 ? ESTIMATOR : EstimatorProfile.fit(cost, 1).model();
        return new Simulator(new Simulator.Config(cost, mix, Topology.parse(topology),
                PolicyOptions.forDeviceMemory(80), est, ROUTER.withLink(cost.kvBytesPerToken(), 25e9 / 1000, 0.05), 0, 0));
    }

    static List<String> policies() {
        return Policies.names();
    }

    @Test
    void oneRequestGetsTheCostModelsOwnNumbers() {
        int prompt = 1000;
        int output = 20;
        SimulationRecorder rec = new SimulationRecorder();
        Simulator.Result r = simulator(A100, ONE_CLASS, "1")
                .run("fcfs", List.of(new TraceRecord(0, prompt, output)), new int[] {0}, 1.0, false, rec);
        Request req = rec.requests.get("r0");
        double prefill = A100.stepMs(new BatchShape().addChunk(prompt, 0, true));
        assertThat(req.state()).isEqualTo(RequestState.FINISHED_OK);
        assertThat(req.ttftMs()).as("TTFT is one prefill batch").isCloseTo(prefill, within(1e-9));
        double decodes = 0;
        for (int k = 0; k < output - 1; k++) {
            decodes += A100.stepMs(new BatchShape().addDecode(prompt + k));
        }
        assertThat(req.meanTpotMs()).as("TPOT is the mean decode step").isCloseTo(decodes / (output - 1), within(1e-9));
        assertThat(req.finishMs()).isCloseTo(prefill + decodes, within(1e-9));
        assertThat(r.batches()).isEqualTo(output);
        assertThat(r.report().attainment()).isEqualTo(1.0);
        assertThat(r.report().classes().get(0).ttftP50()).isCloseTo(prefill, within(prefill * 1e-3));
    }

    @Test
    void aCappedRequestEndsAtItsTrueLengthAsIfByEos() {
        LatencyModel est = ESTIMATOR;
        for (String policy : policies()) {
            Simulator capped = new Simulator(new Simulator.Config(A100, ONE_CLASS, Topology.parse("1"),
                    PolicyOptions.forDeviceMemory(80), est, ROUTER, 0, 0, 512));
            SimulationRecorder rec = new SimulationRecorder();
            Simulator.Result r = capped.run(policy, List.of(new TraceRecord(0, 100, 20), new TraceRecord(5, 50, 1)),
                    new int[2], 1.0, false, rec);
            Request req = rec.requests.get("r0");
            assertThat(req.maxNewTokens()).as("%s: the policy sees the client's cap", policy).isEqualTo(512);
            assertThat(req.state()).as(policy).isEqualTo(RequestState.FINISHED_OK);
            assertThat(req.generatedTokens()).as("%s: ends at the true length", policy).isEqualTo(20);
            assertThat(req.kvBlocks()).as("%s: its blocks are freed", policy).isZero();
            assertThat(rec.requests.get("r1").generatedTokens()).as("%s: a one-token answer", policy).isEqualTo(1);
            assertThat(rec.endings).as("%s: one final state each", policy).containsOnly(
                    Map.entry("r0", 1), Map.entry("r1", 1));
            assertThat(r.report().completed()).isEqualTo(2);
            assertThat(r.report().attainment()).isEqualTo(1.0);
            assertThat(r.stalled()).isZero();
        }
        // Without a cap the policies are told the true length.
        SimulationRecorder oracle = new SimulationRecorder();
        simulator(A100, ONE_CLASS, "1").run("fcfs", List.of(new TraceRecord(0, 100, 20)), new int[1], 1.0, false, oracle);
        assertThat(oracle.requests.get("r0").maxNewTokens()).isEqualTo(20);
    }

    @Test
    void latencyRunsFromArrivalQueueingIncludedAndADeadlineIsCheckedAtTheEnd() {
        // r1 arrives 1 ms into r0's long prefill on the one instance and waits for it: its TTFT counts the wait.
        List<TraceRecord> trace = List.of(new TraceRecord(0, 3000, 4), new TraceRecord(1, 100, 3));
        SimulationRecorder rec = new SimulationRecorder();
        simulator(A100, ONE_CLASS, "1").run("fcfs", trace, new int[2], 1.0, false, rec);
        Request r1 = rec.requests.get("r1");
        double alone = A100.stepMs(new BatchShape().addChunk(100, 0, true));
        assertThat(r1.arrivalMs()).isEqualTo(1.0);
        assertThat(r1.ttftMs()).as("from arrival, not from admission").isEqualTo(r1.firstTokenMs() - 1.0)
                .isGreaterThan(alone + 100);
        // Twice the load halves the arrival times, and TTFT still runs from the (scaled) arrival.
        SimulationRecorder fast = new SimulationRecorder();
        simulator(A100, ONE_CLASS, "1").run("fcfs", trace, new int[2], 2.0, false, fast);
        assertThat(fast.requests.get("r1").arrivalMs()).isEqualTo(0.5);
        assertThat(fast.requests.get("r1").ttftMs()).isEqualTo(fast.requests.get("r1").firstTokenMs() - 0.5);

        // A deadline class: met when the whole answer is out by arrival + deadline, whatever its TTFT and TPOT.
        double latency = r1.finishMs() - r1.arrivalMs();
        for (double deadline : new double[] {latency, Math.nextDown(latency)}) {
            Mix batch = new Mix(List.of(new ServiceClass("batch", 1, 1, Double.POSITIVE_INFINITY,
                    Double.POSITIVE_INFINITY, deadline)));
            SimulationRecorder b = new SimulationRecorder();
            PolicyReport r = simulator(A100, batch, "1").run("fcfs", trace, new int[2], 1.0, false, b).report();
            assertThat(b.requests.get("r1").finishMs()).as("the same schedule").isEqualTo(r1.finishMs());
            assertThat(b.requests.get("r1").sloMet()).as("deadline %s ms, latency %s ms", deadline, latency)
                    .isEqualTo(deadline >= latency);
            long within = b.requests.values().stream().filter(q -> q.finishMs() - q.arrivalMs() <= deadline).count();
            assertThat(r.met()).as("the report counts exactly those").isEqualTo(within);
        }
    }

    @Test
    void countsRequestsNoScheduleCouldServe() {
        // 3,000 prompt tokens take ~200 ms on an A100: over a 100 ms TTFT whatever the policy does.
        Mix tight = Mix.parse("tight:1:ttft=100:tpot=100");
        List<TraceRecord> trace = List.of(new TraceRecord(0, 3000, 4), new TraceRecord(10_000, 100, 4),
                new TraceRecord(20_000, 4000, 200));
        PolicyReport r = simulator(A100, tight, "1").run("fcfs", trace, new int[3], 1.0, false, null).report();
        assertThat(r.infeasible()).as("slow prefill, and one over the 4,096 context").isEqualTo(2);
        assertThat(r.rejections()).isEqualTo(1);
        assertThat(r.met()).isEqualTo(1);
    }

    @Test
    void underSeparationARequestWhoseTpotTheHandoffAloneBreaksIsInfeasible() {
        // 3,000 prompt tokens: ~1.6 GB of KV, 63 ms on the 25 GB/s link, all of it in the second token's interval.
        // With 3 tokens the mean TPOT is over 30 ms whatever the policy does; with 200 the handoff is spread thin.
        // Colocated, neither pays a handoff: both are feasible there.
        Mix tight = Mix.parse("tight:1:ttft=1000:tpot=20");
        List<TraceRecord> trace = List.of(new TraceRecord(0, 3000, 3), new TraceRecord(10_000, 3000, 200));
        PolicyReport colocated = simulator(A100, tight, "1").run("fcfs", trace, new int[2], 1.0, false, null).report();
        assertThat(colocated.infeasible()).isZero();
        assertThat(colocated.met()).isEqualTo(2);
        PolicyReport separated = simulator(A100, tight, "1:1").run("fcfs", trace, new int[2], 1.0, false, null).report();
        assertThat(separated.met()).isEqualTo(1);
        assertThat(separated.infeasible()).as("the short answer behind a long handoff").isEqualTo(1);
    }

    @Test
    void separatedInstancesPayTheKvHandoff() {
        int prompt = 2000;
        int output = 5;
        SimulationRecorder rec = new SimulationRecorder();
        simulator(A100, ONE_CLASS, "1:1")
                .run("fcfs", List.of(new TraceRecord(0, prompt, output)), new int[] {0}, 1.0, false, rec);
        Request req = rec.requests.get("r0");
        double prefill = A100.stepMs(new BatchShape().addChunk(prompt, 0, true));
        double handoff = 0.05 + A100.kvBytesPerToken() * prompt / (25e9 / 1000);
        double decodes = 0;
        for (int k = 0; k < output - 1; k++) {
            decodes += A100.stepMs(new BatchShape().addDecode(prompt + k));
        }
        assertThat(req.ttftMs()).isCloseTo(prefill, within(1e-9));
        assertThat(req.finishMs()).isCloseTo(prefill + handoff + decodes, within(1e-9));
    }

    private static List<TraceRecord> randomTrace(int n, double ratePerSecond, int maxPrompt, long seed) {
        SplittableRandom rnd = new SplittableRandom(seed);
        List<TraceRecord> t = new ArrayList<>();
        double now = 0;
        for (int i = 0; i < n; i++) {
            now += -1000.0 / ratePerSecond * Math.log(1 - rnd.nextDouble());
            t.add(new TraceRecord(now, 1 + rnd.nextInt(maxPrompt), 1 + rnd.nextInt(300)));
        }
        return t;
    }

    @ParameterizedTest
    @MethodSource("policies")
    void everyRequestEndsExactlyOnceAndTimeNeverGoesBack(String policy) {
        // Some prompts exceed the 4,096-token context: those must be rejected, not lost.
        List<TraceRecord> trace = randomTrace(600, 12, 4400, 5);
        Mix mix = Mix.parse(Mix.DEFAULT);
        int[] classes = mix.assign(trace.size(), 5);
        for (String topology : List.of("2", "2:2")) {
            SimulationRecorder rec = new SimulationRecorder();
            Simulator.Result r = simulator(A100, mix, topology).run(policy, trace, classes, 1.0, false, rec);
            assertThat(rec.endings).as("%s on %s: every request ends", policy, topology).hasSize(trace.size());
            assertThat(rec.endings.values()).as("%s on %s: ends once", policy, topology).allMatch(c -> c == 1);
            assertThat(rec.requests.values()).allMatch(q -> q.state().isFinished());
            assertThat(rec.requests.size() + tooLong(trace)).isEqualTo(trace.size());
            assertThat(rec.timeWentBack).as("time never goes back").isFalse();
            assertThat(rec.overlapped).as("an instance runs one batch at a time").isFalse();
            assertThat(r.report().requests()).isEqualTo(trace.size());
            assertThat(tooLong(trace)).isPositive();
            assertThat(r.report().rejections()).isGreaterThanOrEqualTo(tooLong(trace));
            assertThat(r.stalled()).isZero();
        }
    }

    private static long tooLong(List<TraceRecord> trace) {
        return trace.stream().filter(t -> t.promptTokens() + t.outputTokens() > 4096).count();
    }

    @Test
    void sameSeedSameReport() {
        List<TraceRecord> trace = randomTrace(800, 15, 3000, 9);
        Mix mix = Mix.parse(Mix.DEFAULT);
        for (String policy : List.of("slidebatching", "fcfs")) {
            PolicyReport a = simulator(A100, mix, "2").run(policy, trace, mix.assign(800, 3), 1.5, false, null).report();
            PolicyReport b = simulator(A100, mix, "2").run(policy, trace, mix.assign(800, 3), 1.5, false, null).report();
            assertThat(a).isEqualTo(b);
            PolicyReport c = simulator(A100, mix, "2").run(policy, trace, mix.assign(800, 4), 1.5, false, null).report();
            assertThat(c).as("another seed, another class draw").isNotEqualTo(a);
        }
    }

    @Test
    void overloadMissesAndAnEarlyStopBoundsIt() {
        List<TraceRecord> trace = randomTrace(800, 4, 3000, 11);
        Mix mix = Mix.parse(Mix.DEFAULT);
        int[] classes = mix.assign(trace.size(), 1);
        Simulator sim = simulator(A100, mix, "1");
        Simulator.Result light = sim.run("fcfs", trace, classes, 0.25, false, null);
        assertThat(light.report().attainment()).isGreaterThan(0.95);
        assertThat(light.stoppedEarly()).isFalse();
        Simulator.Result heavy = sim.run("fcfs", trace, classes, 8, false, null, 200);
        assertThat(heavy.stoppedEarly()).isTrue();
        assertThat(heavy.metrics().misses()).isEqualTo(201);
        assertThat(heavy.attainmentBound(trace.size())).isEqualTo((800 - 201) / 800.0);
    }

    @Test
    void aSequenceSwappedToTheHostTierComesBackWhenNothingElseIsLeft() {
        // One decode instance of 100 blocks. A long low-weight answer decodes; a short interactive one is
        // handed over when its blocks are free but not the admission watermark beside them, so it evicts
        // the long one to the host tier, finishes, and leaves the instance with only the swapped sequence:
        // no policy plans a swapped sequence, and the simulator applied only non-empty plans (apply() is
        // what brings it back), so it stayed there until the run expired it.
        Mix mix = Mix.parse("interactive:1:w=4:ttft=1000:tpot=50,batch:1:w=0.25:deadline=600000");
        Simulator sim = new Simulator(new Simulator.Config(SimulatorKvStressTest.tight(100), mix, Topology.parse("1:1"),
                PolicyOptions.forDeviceMemory(80), ESTIMATOR, ROUTER.withLink(A100.kvBytesPerToken(), 25e9 / 1000, 0.05),
                100, 0.02));
        SimulationRecorder rec = new SimulationRecorder();
        Simulator.Result r = sim.run("slidebatching", List.of(new TraceRecord(0, 900, 300),
                new TraceRecord(1000, 585, 5)), new int[] {1, 0}, 1.0, false, rec);
        Request a = rec.requests.get("r0");
        assertThat(a.preemptions()).as("the long answer went to the host tier").isPositive();
        assertThat(a.state()).as("and came back to finish").isEqualTo(RequestState.FINISHED_OK);
        assertThat(r.stalled()).isZero();
    }

    @ParameterizedTest
    @MethodSource("policies")
    void aBurstOfHandoffsDoesNotPushRunningDecodesToTheHostTier(String policy) {
        // One decode instance of 100 blocks, with a host tier. Six prompts of 30 blocks arrive together and
        // are prefilled about together; their KV goes over one by one. The decode instance has room for three
        // with their answers (33 blocks each at the end); placing each as if the ones before it held nothing
        // queued all six there, and it admitted them as blocks came free beside the running ones, which then
        // had no block to grow into and went to the host tier.
        Mix mix = Mix.parse("only:1:w=1:ttft=100000:tpot=1000");
        Simulator sim = new Simulator(new Simulator.Config(SimulatorKvStressTest.tight(100), mix, Topology.parse("1:1"),
                PolicyOptions.forDeviceMemory(80), ESTIMATOR, ROUTER.withLink(A100.kvBytesPerToken(), 25e9 / 1000, 0.05),
                200, 0.02));
        List<TraceRecord> trace = new ArrayList<>();
        for (int i = 0; i < 6; i++) {
            trace.add(new TraceRecord(i * 0.1, 30 * 16 - 2, 40));
        }
        SimulationRecorder rec = new SimulationRecorder();
        Simulator.Result r = sim.run(policy, trace, new int[trace.size()], 1.0, false, rec);
        assertThat(rec.requests.values()).as("every request finishes").allMatch(q -> q.state() == RequestState.FINISHED_OK);
        assertThat(r.report().preemptions()).as("preemptions on the decode instance").isZero();
        assertThat(r.stalled()).isZero();
    }

    @Test
    void prefillsFinishingTogetherArePlacedSeeingEachOther() {
        // Two prompts queued behind a one-token request finish their prefill in one batch. The first decode
        // instance keeps a 10.5 ms TPOT with one of them but not with both, so the second goes to the other
        // decode instance: the router must see the first handoff on its instance from the moment it is
        // placed, not only once its KV has arrived.
        LatencyModel est = ESTIMATOR;
        assertThat(est.decodeMs(1, 2000)).isLessThan(10.5);
        assertThat(est.decodeMs(2, 4000)).isGreaterThan(10.5);
        Mix mix = Mix.parse("only:1:w=1:ttft=100000:tpot=10.5");
        Simulator sim = new Simulator(new Simulator.Config(A100, mix, Topology.parse("1:2"),
                PolicyOptions.forDeviceMemory(80), est, ROUTER.withLink(A100.kvBytesPerToken(), 25e9 / 1000, 0.05), 0, 0));
        Map<String, Integer> decodedOn = new HashMap<>();
        sim.run("slidebatching", List.of(new TraceRecord(0, 100, 1), new TraceRecord(1, 2000, 20),
                new TraceRecord(1, 2000, 20)), new int[3], 1.0,
                false, new Simulator.Listener() {
                    @Override
                    public void batch(int instance, double startMs, double endMs, BatchPlan plan) {
                        if (plan.prefill().size() == 2) {
                            decodedOn.put("one prefill batch", 1);
                        }
                        for (Request r : plan.decode()) {
                            decodedOn.put(r.id(), instance);
                        }
                    }
                });
        assertThat(decodedOn).as("both prefilled in one batch, then decoded on instances 1 and 2").containsOnly(
                Map.entry("one prefill batch", 1), Map.entry("r1", 1), Map.entry("r2", 2));
    }

    @Test
    void aDecodeInstanceWithAHandoffInTransitDoesNotTurnPrefill() {
        // 1:2. r0 decodes on instance 1; r1's step there would miss the 10.5 ms TPOT, so its KV goes to the
        // idle instance 2. While it is on the link, a burst of long prompts puts the prefill pool under
        // pressure: the emptiest decode instance drains and turns prefill once idle. Instance 2 looked
        // idle (the sequence on its way was not on it yet), so it turned prefill and r1 landed on a
        // prefill instance, its decode steps sharing batches with the prefills of the prompts after it.
        Mix mix = Mix.parse("only:1:w=1:ttft=100000:tpot=10.5");
        List<TraceRecord> trace = new ArrayList<>();
        trace.add(new TraceRecord(0, 2000, 200));
        trace.add(new TraceRecord(300, 3000, 50));
        for (int i = 0; i < 8; i++) {
            trace.add(new TraceRecord(520 + i, 3000, 5));
        }
        for (int i = 0; i < 4; i++) {
            trace.add(new TraceRecord(600 + i, 1000, 5));
        }
        Simulator sim = new Simulator(new Simulator.Config(A100, mix, Topology.parse("1:2"),
                PolicyOptions.forDeviceMemory(80), ESTIMATOR, ROUTER.withLink(A100.kvBytesPerToken(), 25e9 / 1000, 0.05),
                0, 0));
        List<String> mixed = new ArrayList<>();
        Map<String, Integer> decodedOn = new HashMap<>();
        Simulator.Result r = sim.run("slidebatching", trace, new int[trace.size()], 1.0, false, new Simulator.Listener() {
            @Override
            public void batch(int instance, double startMs, double endMs, BatchPlan plan) {
                for (Request q : plan.decode()) {
                    decodedOn.put(q.id(), instance);
                    if (q.id().equals("r1") && !plan.prefill().isEmpty()) {
                        mixed.add(instance + "@" + startMs);
                    }
                }
            }
        });
        assertThat(decodedOn).as("r1 decodes on instance 2").containsEntry("r1", 2);
        assertThat(mixed).as("batches where r1's decode shared the instance with prefills").isEmpty();
        assertThat(r.stalled()).isZero();
    }
}
