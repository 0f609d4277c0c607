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
            slidebatching | 2   | 0 | false | 5fba7da2f3257e69 met=370 rejected=0 preempted=0 batches=2838 seconds=55.965460
            fcfs          | 2   | 0 | false | e505fe3e815c76b3 met=166 rejected=0 preempted=38 batches=2229 seconds=72.777441
            sarathi       | 2   | 0 | false | 13bf73a9b772c622 met=263 rejected=0 preempted=4 batches=2677 seconds=56.159705
            priority      | 2   | 0 | false | 19b322e63e85ce5f met=166 rejected=0 preempted=34 batches=2251 seconds=71.094411
            edf           | 2   | 0 | false | 49ea8d9aceff81eb met=208 rejected=0 preempted=2 batches=2182 seconds=69.280030
            sjf           | 2   | 0 | false | 9004f45490299424 met=229 rejected=0 preempted=44 batches=2186 seconds=72.640792
            slidingserve  | 2   | 0 | false | 9ee0d85ca96e3395 met=409 rejected=0 preempted=1 batches=2860 seconds=60.257540
            scls          | 2   | 0 | false | 9e53234d813bc00a met=111 rejected=0 preempted=0 batches=12447 seconds=122.858448
            slidebatching | 1:1 | 0 | false | 3c5f573646edb677 met=282 rejected=0 preempted=0 batches=2639 seconds=93.594028
            fcfs          | 1:1 | 0 | false | 71c8c0700d464b7c met=122 rejected=0 preempted=0 batches=2508 seconds=93.518589
            slidingserve  | 1:1 | 0 | false | a46f2a68e533cb79 met=262 rejected=0 preempted=0 batches=2572 seconds=93.282842
            slidebatching | 1   | 4 | true  | 569b11b2da387459 met=320 rejected=156 preempted=0 batches=1681 seconds=65.961309
            edf           | 1   | 4 | true  | a1799db399f07d8 met=148 rejected=0 preempted=16 batches=1972 seconds=133.598176
            fcfs          | 1   | 4 | false | 68cdc20139582c74 met=117 rejected=0 preempted=36 batches=1994 seconds=136.935585
            slidingserve  | 1   | 4 | true  | 9649254f1ce3b613 met=317 rejected=168 preempted=229 batches=1513 seconds=66.109807
            scls          | 1   | 4 | false | 3c259285618fa0e8 met=105 rejected=0 preempted=0 batches=12493 seconds=245.362181
            """)
    void decisionsArePinned(String policy, String topology, double hostKvGib, boolean dropLate, String expected) {
        assertThat(run(policy, topology, hostKvGib, dropLate)).isEqualTo(expected);
    }
}
