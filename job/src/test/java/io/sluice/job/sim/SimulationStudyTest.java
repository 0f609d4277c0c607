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
    }
}
