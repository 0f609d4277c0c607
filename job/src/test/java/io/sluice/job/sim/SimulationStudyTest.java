package io.sluice.job.sim;

import static org.assertj.core.api.Assertions.assertThat;

import io.sluice.scheduling.PolicyOptions;
import io.sluice.scheduling.RouterOptions;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

class SimulationStudyTest {

    @Test
    void aRunStopsAtTheFirstMissThatPutsTheTargetOutOfReach() {
        // A run stops once its misses exceed the limit, and its bound (n - misses) / n then counts as a fail. So the
        // limit is the most misses that still reach the target: one more must not. (1 - 0.9) * 300 is
        // 29.999999999999996 in floating point; flooring it let a run stop at 30 misses, exactly at the target, and
        // the stopped run passed: a 300-request sweep at 48 % attainment reported capacity x4096.
        assertThat(SimulationStudy.maxMisses(0.9, 300)).isEqualTo(30);
        assertThat(SimulationStudy.maxMisses(0.8, 10)).isEqualTo(2);
        assertThat(SimulationStudy.maxMisses(1.0, 50)).isZero();
        for (int n = 1; n <= 2_000; n++) {
            for (double target : new double[] {0.5, 0.7, 0.8, 0.9, 0.95, 0.99, 1.0}) {
                long m = SimulationStudy.maxMisses(target, n);
                assertThat((double) (n - m) / n).as("n %d, target %s: %d misses reach it", n, target, m)
                        .isGreaterThanOrEqualTo(target);
                assertThat((double) (n - m - 1) / n).as("n %d, target %s: %d misses do not", n, target, m + 1)
                        .isLessThan(target);
            }
        }
    }

    @Test
    void aCompleteRunAtAScaleReplacesAStoppedOneThere() {
        // A policy's capacity search may probe the reference scale (both bisect the same grid from 1) and stop
        // early there; the run at the reference load then measured the attainment that the stopped run only
        // bounds. The sweep kept the bound: --json showed attainment_at_most and no gain, the plot lost the point.
        PolicyReport full = new PolicyReport("edf", 1.0703125, 100, 100, 81, 0.81, 1, 81, 0.81, 10, 0, 0, 0, 100,
                List.of(), null);
        PolicyReport cut = new PolicyReport("edf", 1.0703125, 20, 20, 9, 0.45, 1, 9, 0.45, 10, 0, 0, 0, 10,
                List.of(), null);
        Sweep.Point stopped = new Sweep.Point(1.0703125, cut, 0.89, true);
        Sweep.Point complete = new Sweep.Point(1.0703125, full, 0.81, false);
        Sweep.Point other = new Sweep.Point(1.0, full, 0.9, false);

        List<Sweep.Point> merged = SimulationStudy.withPoint(List.of(other, stopped), complete);
        assertThat(merged).as("the measurement replaces the bound").containsExactly(other, complete);
        assertThat(SimulationStudy.withPoint(List.of(complete), stopped)).as("a bound never replaces a measurement")
                .containsExactly(complete);
        assertThat(SimulationStudy.withPoint(List.of(stopped), new Sweep.Point(0.5, full, 0.95, false)))
                .as("sorted by scale").extracting(Sweep.Point::rateScale).containsExactly(0.5, 1.0703125);
    }

    @Test
    void theOutcomeDoesNotDependOnTheThreadCount() {
        CostModel a100 = CostModels.parse("a100-llama2-7b");
        Mix mix = Mix.parse(Mix.DEFAULT);
        Simulator sim = new Simulator(new Simulator.Config(a100, mix, Topology.parse("2"),
                PolicyOptions.forDeviceMemory(80), EstimatorProfile.fit(a100, 1).model(),
                RouterOptions.defaults().withLink(a100.kvBytesPerToken(), 25e9 / 1000, 0.05), 0, 0));
        SplittableRandom rnd = new SplittableRandom(3);
        List<TraceRecord> trace = new ArrayList<>();
        double now = 0;
        for (int i = 0; i < 300; i++) {
            now += -1000.0 / 6 * Math.log(1 - rnd.nextDouble());
            trace.add(new TraceRecord(now, 1 + rnd.nextInt(2000), 1 + rnd.nextInt(200)));
        }
        int[] classes = mix.assign(trace.size(), 1);
        List<String> policies = List.of("slidebatching", "fcfs", "edf");
        StringWriter log = new StringWriter();
        PrintWriter quiet = new PrintWriter(log);
        SimulationStudy.Outcome one = new SimulationStudy(sim, trace, classes, quiet, 1)
                .run(policies, 1.0, true, 0.9, "fcfs", 0.8, false);
        SimulationStudy.Outcome three = new SimulationStudy(sim, trace, classes, quiet, 3)
                .run(policies, 1.0, true, 0.9, "fcfs", 0.8, false);
        assertThat(one.referenceScale()).isNotNull();
        assertThat(log.toString()).as("a sweep's first probe is the run at the requested load")
                .contains("the same run as before");
        assertThat(three.referenceScale()).isEqualTo(one.referenceScale());
        assertThat(three.simulatedRequests()).isEqualTo(one.simulatedRequests());
        assertThat(three.simulatedBatches()).isEqualTo(one.simulatedBatches());
        for (int i = 0; i < policies.size(); i++) {
            SimulationStudy.Entry a = one.entries().get(i);
            SimulationStudy.Entry b = three.entries().get(i);
            assertThat(b.report()).as(policies.get(i)).isEqualTo(a.report());
            assertThat(a.report().policy()).isEqualTo(policies.get(i));
            assertThat(b.capacity()).isEqualTo(a.capacity());
            assertThat(b.atReference()).isEqualTo(a.atReference());
            assertThat(b.points()).isEqualTo(a.points());
        }
        assertThat(three.sameResults(one)).isTrue();
        // Any difference in what the report shows is a different result; the time taken is not.
        SimulationStudy.Entry e = one.entries().get(0);
        List<SimulationStudy.Entry> otherCapacity = new ArrayList<>(one.entries());
        otherCapacity.set(0, new SimulationStudy.Entry(e.report(), e.capacity() * 2, e.atReference(), e.points(),
                e.ttftByClass()));
        assertThat(new SimulationStudy.Outcome(otherCapacity, one.referenceScale(), one.simulatedRequests(),
                one.simulatedBatches(), 1, 1).sameResults(one)).isFalse();
        assertThat(new SimulationStudy.Outcome(one.entries(), one.referenceScale() * 2, one.simulatedRequests(),
                one.simulatedBatches(), 1, 1).sameResults(one)).isFalse();
        assertThat(new SimulationStudy.Outcome(one.entries(), one.referenceScale(), one.simulatedRequests(),
                one.simulatedBatches(), 99, 99).sameResults(one)).isTrue();
    }
}
