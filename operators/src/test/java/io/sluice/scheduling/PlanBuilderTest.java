package io.sluice.scheduling;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

/** The chunk search finds the same chunk as a scan over every size would. */
class PlanBuilderTest {

    @Test
    void largestChunkWithinIsTheLargestChunkThatFits() {
        SplittableRandom rnd = new SplittableRandom(3);
        for (int trial = 0; trial < 300; trial++) {
            // Linear to strongly convex estimates, with and without a decode in the batch.
            LatencyModel m = new LatencyModel(rnd.nextDouble(20), rnd.nextDouble(0.2),
                    trial % 3 == 0 ? 0 : rnd.nextDouble(1e-3), rnd.nextDouble(1e-4), rnd.nextDouble(1e-3), 5, 0.5, 1e-3);
            InstanceState s = new InstanceState(0, Role.MIXED, new KvBlockAccounting(16, 100_000), m);
            PlanBuilder b = new PlanBuilder();
            b.reset(s);
            if (rnd.nextBoolean()) {
                Request d = TestRequests.handedOver("d", Slo.interactive(1000, 50), 40, 10, 0, 5);
                b.addDecode(d);
            }
            int prompt = 1 + rnd.nextInt(8000);
            Request r = TestRequests.interactive("r" + trial, prompt, 4, 0);
            int maxN = 1 + rnd.nextInt(prompt);
            int from = rnd.nextInt(3) == 0 ? 0 : 1 + rnd.nextInt(maxN);
            double budget = b.timeWithChunk(r, 1 + rnd.nextInt(maxN)) + rnd.nextDouble(2) - 1;
            if (from > 0 && b.timeWithChunk(r, from) > budget) {
                budget = b.timeWithChunk(r, from);
            }
            int expected = from;
            for (int n = Math.max(from, 1); n <= maxN; n++) {
                if (b.timeWithChunk(r, n) <= budget) {
                    expected = n;
                }
            }
            assertThat(b.largestChunkWithin(r, from, maxN, budget))
                    .as("trial %d: from %d, max %d, budget %.4f", trial, from, maxN, budget).isEqualTo(expected);
        }
    }
}
