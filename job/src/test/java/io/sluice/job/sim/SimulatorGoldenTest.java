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
            slidebatching | 2   | 0 | false | 734349fcadcbb862 met=344 rejected=0 preempted=0 batches=2797 seconds=55.231609
            fcfs          | 2   | 0 | false | 3859d4a96e6f42c1 met=167 rejected=0 preempted=39 batches=2307 seconds=72.526059
            sarathi       | 2   | 0 | false | a20546ebf7ac1dcc met=243 rejected=0 preempted=92 batches=2482 seconds=52.962238
            priority      | 2   | 0 | false | 4b5dafa891a8717 met=164 rejected=0 preempted=38 batches=2261 seconds=73.300796
            edf           | 2   | 0 | false | 4a1eba54fbaa57c met=207 rejected=0 preempted=1 batches=2197 seconds=70.033823
            sjf           | 2   | 0 | false | dfb45289a4a9985c met=236 rejected=0 preempted=41 batches=2197 seconds=71.615944
            slidingserve  | 2   | 0 | false | f98a024d4c6ea1d8 met=409 rejected=0 preempted=1 batches=2857 seconds=60.341886
            scls          | 2   | 0 | false | ee15e6fead1b2b31 met=110 rejected=0 preempted=132 batches=15303 seconds=150.862063
            slidebatching | 1:1 | 0 | false | 48b7ec010e47560f met=284 rejected=0 preempted=0 batches=2600 seconds=93.358281
            fcfs          | 1:1 | 0 | false | 5e0c0bbaf9c390f0 met=122 rejected=0 preempted=22 batches=2327 seconds=94.553536
            slidingserve  | 1:1 | 0 | false | b86c3b2f58c7bbc0 met=276 rejected=0 preempted=2 batches=2460 seconds=92.466435
            slidebatching | 1   | 4 | true  | cd5238aa0f682651 met=331 rejected=157 preempted=0 batches=1631 seconds=65.643287
            edf           | 1   | 4 | true  | 16c2b68239789a62 met=146 rejected=0 preempted=14 batches=1977 seconds=133.308396
            fcfs          | 1   | 4 | false | 5762c87a6de94d5e met=117 rejected=0 preempted=41 batches=1984 seconds=140.225365
            slidingserve  | 1   | 4 | true  | f89cdb4d6018f324 met=316 rejected=159 preempted=336 batches=1534 seconds=65.709157
            scls          | 1   | 4 | false | 5db121c6a66c35b7 met=104 rejected=0 preempted=422 batches=14413 seconds=282.774293
            """)
    void decisionsArePinned(String policy, String topology, double hostKvGib, boolean dropLate, String expected) {
        assertThat(run(policy, topology, hostKvGib, dropLate)).isEqualTo(expected);
    }
}
