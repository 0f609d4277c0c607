package io.sluice.job.sim;

import static org.assertj.core.api.Assertions.assertThat;

import io.sluice.scheduling.BatchPlan;
import io.sluice.scheduling.Chunk;
import io.sluice.scheduling.LatencyModel;
import io.sluice.scheduling.PolicyOptions;
import io.sluice.scheduling.Request;
import io.sluice.scheduling.RouterOptions;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.SplittableRandom;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * Pins every decision of small simulations: a fingerprint of the whole batch stream (who ran, how
 * many tokens, when) and the report's headline numbers, per policy and topology. A change that is
 * meant only to make the simulator or the policies faster must leave all of them as they are; a
 * change of behaviour updates them on purpose.
 */
class SimulatorGoldenTest {

    private static final CostModel A100 = CostModels.parse("a100-llama2-7b");
    private static final LatencyModel ESTIMATOR = EstimatorProfile.fit(A100, 1).model();

    /** Hashes every batch in order (FNV-1a over 64-bit words). */
    private static final class Fingerprint implements Simulator.Listener {
        long hash = 0xcbf29ce484222325L;

        private void mix(long v) {
            hash = (hash ^ v) * 0x100000001b3L;
        }

        @Override
        public void batch(int instance, double startMs, double endMs, BatchPlan plan) {
            mix(instance);
            mix(Double.doubleToLongBits(startMs));
            mix(Double.doubleToLongBits(endMs));
            for (Chunk c : plan.prefill()) {
                mix(c.request().id().hashCode());
                mix(c.tokens());
                mix(c.cachedTokens());
            }
            mix(-1);
            for (Request r : plan.decode()) {
                mix(r.id().hashCode());
            }
            mix(-2);
            for (Request r : plan.preempted()) {
                mix(r.id().hashCode());
            }
            mix(-3);
            for (Request r : plan.dropped()) {
                mix(r.id().hashCode());
            }
        }

        @Override
        public void finished(Request request, double nowMs) {
            mix(request.id().hashCode());
            mix(request.state().ordinal());
            mix(Double.doubleToLongBits(nowMs));
        }
    }

    private static List<TraceRecord> trace(int n, double ratePerSecond, long seed) {
        SplittableRandom rnd = new SplittableRandom(seed);
        List<TraceRecord> t = new ArrayList<>();
        double now = 0;
        for (int i = 0; i < n; i++) {
            now += -1000.0 / ratePerSecond * Math.log(1 - rnd.nextDouble());
            t.add(new TraceRecord(now, 1 + rnd.nextInt(3500), 1 + rnd.nextInt(400)));
        }
        return t;
    }

    private static String run(String policy, String topology, double hostKvGib, boolean dropLate) {
        List<TraceRecord> trace = trace(500, 14, 21);
        Mix mix = Mix.parse(Mix.DEFAULT);
        PolicyOptions options = PolicyOptions.forDeviceMemory(80).withDropLate(dropLate);
        double blockBytes = A100.kvBytesPerToken() * A100.blockSize();
        int hostBlocks = (int) (hostKvGib * 1024 * 1024 * 1024 / blockBytes);
        Simulator sim = new Simulator(new Simulator.Config(A100, mix, Topology.parse(topology), options, ESTIMATOR,
                RouterOptions.defaults().withLink(A100.kvBytesPerToken(), 25e9 / 1000, 0.05), hostBlocks,
                blockBytes / 25e9 * 1000));
        Fingerprint f = new Fingerprint();
        Simulator.Result r = sim.run(policy, trace, mix.assign(trace.size(), 7), 1.0, false, f);
        PolicyReport p = r.report();
        return String.format(Locale.ROOT, "%s met=%d rejected=%d preempted=%d batches=%d seconds=%.6f",
                Long.toHexString(f.hash), p.met(), p.rejections(), p.preemptions(), r.batches(), p.simulatedSeconds());
    }

    @ParameterizedTest(name = "{0} on {1}, host {2} GiB, drop late {3}")
    @CsvSource(delimiter = '|', textBlock = """
            slidebatching | 2   | 0 | false | ac9d26a1bc6c88e9 met=380 rejected=0 preempted=0 batches=2784 seconds=53.864298
            fcfs          | 2   | 0 | false | 6a8d3fe65e55a02a met=165 rejected=0 preempted=34 batches=2284 seconds=72.704047
            sarathi       | 2   | 0 | false | 4234f07ba6054278 met=256 rejected=0 preempted=98 batches=2467 seconds=51.970299
            priority      | 2   | 0 | false | 965047dcce6facfb met=165 rejected=0 preempted=38 batches=2252 seconds=73.678468
            edf           | 2   | 0 | false | 2f0ceef0c7d18b2e met=201 rejected=0 preempted=2 batches=2209 seconds=69.533859
            sjf           | 2   | 0 | false | 124957cb9e69015a met=228 rejected=0 preempted=33 batches=2190 seconds=71.453683
            slidingserve  | 2   | 0 | false | f3618ebdec561a1e met=404 rejected=0 preempted=1 batches=2803 seconds=62.291007
            scls          | 2   | 0 | false | 622b68d0cfa4498b met=111 rejected=0 preempted=132 batches=15027 seconds=147.644423
            slidebatching | 1:1 | 0 | false | b58be33d1699a75d met=296 rejected=0 preempted=0 batches=2556 seconds=92.811347
            fcfs          | 1:1 | 0 | false | 5e0c0bbaf9c390f0 met=122 rejected=0 preempted=22 batches=2327 seconds=94.553536
            slidingserve  | 1:1 | 0 | false | 48a2540a8486e11 met=272 rejected=0 preempted=1 batches=2483 seconds=92.635409
            slidebatching | 1   | 4 | true  | aeaab9806e6c225a met=339 rejected=151 preempted=0 batches=1677 seconds=66.384995
            edf           | 1   | 4 | true  | 16c2b68239789a62 met=146 rejected=0 preempted=14 batches=1977 seconds=133.308396
            fcfs          | 1   | 4 | false | 5762c87a6de94d5e met=117 rejected=0 preempted=41 batches=1984 seconds=140.225365
            slidingserve  | 1   | 4 | true  | 88f5edc13306d72 met=324 rejected=155 preempted=366 batches=1566 seconds=65.921239
            scls          | 1   | 4 | false | 5db121c6a66c35b7 met=104 rejected=0 preempted=422 batches=14413 seconds=282.774293
            """)
    void decisionsArePinned(String policy, String topology, double hostKvGib, boolean dropLate, String expected) {
        assertThat(run(policy, topology, hostKvGib, dropLate)).isEqualTo(expected);
    }
}
