package io.sluice.job.sim;

import static org.assertj.core.api.Assertions.assertThat;

import io.sluice.scheduling.LatencyModel;
import io.sluice.scheduling.Policies;
import io.sluice.scheduling.PolicyOptions;
import io.sluice.scheduling.RouterOptions;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * Seeded random runs of the simulator under PD separation with a KV cache a few sequences deep and a
 * host tier that fills up, with and without dropping late requests and with oracle or capped lengths:
 * every request ends exactly once, holding no block on either tier, none is left stuck, and time never
 * goes back.
 */
class SimulatorKvStressTest {

    private static final CostModel A100 = CostModels.parse("a100-llama2-7b");
    private static final LatencyModel ESTIMATOR = EstimatorProfile.fit(A100, 1).model();

    /** The A100 model with a small KV cache: a handful of long sequences fill it. */
    static CostModel tight(int blocks) {
        return new CostModel() {
            @Override public String name() { return "tight"; }
            @Override public double stepMs(BatchShape shape) { return A100.stepMs(shape); }
            @Override public int kvBlocks() { return blocks; }
            @Override public int blockSize() { return A100.blockSize(); }
            @Override public int maxContext() { return A100.maxContext(); }
            @Override public double kvBytesPerToken() { return A100.kvBytesPerToken(); }
        };
    }

    static List<String> policies() {
        return Policies.names();
    }

    @ParameterizedTest
    @MethodSource("policies")
    void tightKvWithAHostTierLosesNothing(String policy) {
        Mix mix = Mix.parse(Mix.DEFAULT);
        for (long seed = 1; seed <= 12; seed++) {
            SplittableRandom rnd = new SplittableRandom(seed);
            int n = 120;
            double rate = 2 + rnd.nextInt(20);
            List<TraceRecord> trace = new ArrayList<>();
            double now = 0;
            for (int i = 0; i < n; i++) {
                now += -1000.0 / rate * Math.log(1 - rnd.nextDouble());
                trace.add(new TraceRecord(now, 1 + rnd.nextInt(2500), 1 + rnd.nextInt(600)));
            }
            int blocks = 300 + rnd.nextInt(300);
            int hostBlocks = rnd.nextInt(4) * 100;
            String topology = (1 + rnd.nextInt(2)) + ":" + (1 + rnd.nextInt(3));
            Simulator sim = new Simulator(new Simulator.Config(tight(blocks), mix, Topology.parse(topology),
                    PolicyOptions.forDeviceMemory(80).withDropLate(seed % 2 == 0), ESTIMATOR,
                    RouterOptions.defaults().withLink(A100.kvBytesPerToken(), 25e9 / 1000, 0.05), hostBlocks, 0.02,
                    seed % 3 == 0 ? 0 : 512));
            SimulationRecorder c = new SimulationRecorder();
            String what = policy + " seed " + seed + (seed % 2 == 0 ? " (drop late)" : "") + " on " + topology + ", "
                    + blocks + " blocks, host " + hostBlocks;
            Simulator.Result r = sim.run(policy, trace, mix.assign(n, seed), 1.0, false, c);
            assertThat(c.heldBlocks).as(what).isEmpty();
            assertThat(c.timeWentBack).as(what + ": time never goes back").isFalse();
            assertThat(c.endings).as(what + ": every request ends").hasSize(n);
            assertThat(c.endings.values()).as(what + ": once").allMatch(k -> k == 1);
            assertThat(r.stalled()).as(what + ": none stuck").isZero();
        }
    }
}
