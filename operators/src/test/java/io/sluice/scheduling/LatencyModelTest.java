package io.sluice.scheduling;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.within;

import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

/** The estimator: NNLS recovery of known coefficients, held-out MAPE, non-negativity, online refit. */
class LatencyModelTest {

    // A100-like Llama-2-7B: ~9.4 ms fixed, 0.06 ms/token, attention quadratic and over the cache; each of
    // a decode step's first four sequences 0.3 ms dearer than the later ones, 0.5 ms per 4-token tile.
    private static final double[] TRUE = {9.4, 0.06, 4e-6, 3e-6, 2e-4, 9.0, 0.25, 3.8e-4, 0.3, 0.5};

    private static List<LatencyModel.Sample> samples(LatencyModel truth, double noise, long seed) {
        SplittableRandom rnd = new SplittableRandom(seed);
        List<LatencyModel.Sample> out = new ArrayList<>();
        int[] news = {16, 32, 64, 128, 256, 512, 1024, 2048, 4096};
        int[] cached = {0, 512, 2048, 8192};
        for (int d : news) {
            for (int p : cached) {
                for (int rep = 0; rep < 3; rep++) {
                    double t = truth.prefillChunkMs(d, p) * (1 + noise * rnd.nextGaussian());
                    out.add(LatencyModel.Sample.prefill(d, p, t));
                }
            }
        }
        int[] batches = {1, 2, 3, 4, 5, 6, 8, 16, 32, 64, 128, 256};
        int[] ctxEach = {128, 512, 2048, 4096};
        for (int bsz : batches) {
            for (int c : ctxEach) {
                for (int rep = 0; rep < 3; rep++) {
                    long sum = (long) bsz * c;
                    double t = truth.decodeMs(bsz, sum) * (1 + noise * rnd.nextGaussian());
                    out.add(LatencyModel.Sample.decode(bsz, sum, t));
                }
            }
        }
        return out;
    }

    private static LatencyModel truth() {
        return new LatencyModel(TRUE, 512, 32);
    }

    @Test
    void recoversKnownCoefficientsFromNoisySamples() {
        LatencyModel fitted = LatencyModel.fit(samples(truth(), 0.01, 1));
        double[] c = fitted.coefficients();
        for (int i = 0; i < TRUE.length; i++) {
            assertThat(c[i]).as(LatencyModel.NAMES.get(i)).isCloseTo(TRUE[i], within(0.12 * TRUE[i]));
        }
    }

    @Test
    void recoversTheTileTermsThatALinearDecodeCostMisses() {
        // A CPU-like decode step, as the 15M model's profiles fitted it (b4 per tile well above b1 per sequence),
        // from samples with 3 % noise: the fit separates b1, b3 and b4 (B, min(B, 4) and ceil(B/4) differ only in
        // their steps below and between multiples of 4) and prices a batch of one within 2 %.
        LatencyModel truth = new LatencyModel(1.0, 0.04, 2e-5, 9e-5, 1e-3, 0.7, 0.025, 5e-4, 0.09, 0.2);
        SplittableRandom rnd = new SplittableRandom(11);
        List<LatencyModel.Sample> s = new ArrayList<>();
        for (int rep = 0; rep < 4; rep++) {
            for (int b : new int[] {1, 2, 3, 4, 5, 6, 7, 8, 12, 16, 24, 32, 48, 64}) {
                for (int ctx : new int[] {16, 64, 128, 192}) {
                    long sum = (long) b * ctx;
                    s.add(LatencyModel.Sample.decode(b, sum, truth.decodeMs(b, sum) * (1 + 0.03 * rnd.nextGaussian())));
                }
            }
        }
        double[] c = LatencyModel.fit(s).coefficients();
        assertThat(c[9]).as("b4").isCloseTo(0.2, within(0.03));
        assertThat(c[8]).as("b3").isCloseTo(0.09, within(0.02));
        assertThat(c[6]).as("b1").isCloseTo(0.025, within(0.01));
        assertThat(c[5]).as("b0").isCloseTo(0.7, within(0.1));
        LatencyModel fitted = LatencyModel.fit(s);
        double one = Math.abs(fitted.decodeMs(1, 64) / truth.decodeMs(1, 64) - 1);
        assertThat(one).as("relative error on a batch of one").isLessThan(0.02);
    }

    @Test
    void aKnownDecodeStepExtendsWithoutItsContextSum() {
        // A router knows a decode instance's step and batch size from its report, not the context sum behind them.
        LatencyModel m = new LatencyModel(10, 0.05, 0, 0, 0, 8, 0.5, 0.001, 0.2, 0.4);
        for (int batch = 0; batch <= 9; batch++) {
            long context = 1000L * batch;
            double step = m.decodeMs(batch, context);
            assertThat(m.decodeMsAdding(batch, step, 3, 700)).as("batch %d + 3", batch)
                    .isCloseTo(m.decodeMs(batch + 3, context + 700), within(1e-9));
        }
    }

    @Test
    void additiveViewNeverUndershootsAndBatchMsIsExact() {
        LatencyModel m = new LatencyModel(10, 0.05, 0, 0, 0, 8, 0.5, 0.001, 0.2, 0.4);
        Request r = TestRequests.handedOver("d", Slo.NONE, 100, 5, 0, 1);
        List<Request> decodes = new ArrayList<>();
        for (int b = 1; b <= 13; b++) {
            decodes.add(r);
            double additive = m.overheadMs(false, true) + b * m.decodeWorkMs(r.contextTokens());
            double exact = m.decodeMs(b, (long) r.contextTokens() * b);
            assertThat(m.batchMs(List.of(), decodes)).as("batch of %d", b).isCloseTo(exact, within(1e-9));
            assertThat(additive).as("batch of %d", b).isGreaterThanOrEqualTo(exact - 1e-9)
                    .isLessThanOrEqualTo(exact + 3 * 0.2 + 0.75 * 0.4 + 1e-9);
            if (b % LatencyModel.TILE == 1 && b > LatencyModel.TILE) {
                assertThat(additive).as("batch of %d", b).isCloseTo(exact, within(1e-9));
            }
        }
        assertThat(m.decodeMs(1, 100)).isCloseTo(8 + 0.5 + 0.1 + 0.2 + 0.4, within(1e-9));
        assertThat(m.decodeMs(6, 600)).isCloseTo(8 + 3.0 + 0.6 + 4 * 0.2 + 2 * 0.4, within(1e-9));
    }

    @Test
    void aModelWrittenBeforeTheTileTermsReadsThemAsZero() {
        double[] old = {10, 0.05, 0, 0, 0, 8, 0.5, 0.001};
        LatencyModel m = new LatencyModel(old, 64, 8);
        assertThat(m.coefficients()).hasSize(LatencyModel.COEFFICIENTS);
        assertThat(m.b3()).isZero();
        assertThat(m.b4()).isZero();
        assertThat(m.decodeMs(2, 200)).isCloseTo(8 + 1.0 + 0.2, within(1e-9));
        assertThatThrownBy(() -> new LatencyModel(new double[7], 64, 8)).isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("b3");
    }

    @Test
    void aFrozenCoefficientStaysZeroInTheFitTheOnlineRefitsAndCopies() {
        List<LatencyModel.Sample> s = samples(truth(), 0.01, 12);
        LatencyModel m = LatencyModel.fit(s, "b4");
        assertThat(m.b4()).isZero();
        assertThat(m.b3()).as("b3 still fitted").isPositive();
        assertThat(m.frozen()).containsExactly("b4");
        LatencyModel online = m.copy();
        for (LatencyModel.Sample x : samples(truth(), 0.01, 13)) {
            online.observe(x);
        }
        assertThat(online.b4()).as("b4 after online refits of data with a tile term").isZero();
        assertThat(online.frozen()).containsExactly("b4");
        assertThat(LatencyModel.fit(s).b4()).as("unfrozen").isCloseTo(0.5, within(0.1));
        assertThatThrownBy(() -> LatencyModel.fit(s, "b9")).isInstanceOf(IllegalArgumentException.class);
    }

    @Test
    void heldOutMapeIsSmallAndReportedPerPhase() {
        LatencyModel.FitReport report = LatencyModel.fitWithHoldout(samples(truth(), 0.02, 2), 0.25, 3);
        assertThat(report.mapePrefill()).isLessThan(4.0);
        assertThat(report.mapeDecode()).isLessThan(4.0);
        assertThat(report.trainSamples() + report.heldOutSamples()).isEqualTo(252);
    }

    @Test
    void coefficientsStayNonNegativeWhenTheDataWouldPullThemBelowZero() {
        List<LatencyModel.Sample> s = new ArrayList<>();
        for (int d = 16; d <= 4096; d *= 2) {
            // Time falling with size: a plain least-squares fit would give c1 < 0.
            s.add(LatencyModel.Sample.prefill(d, 0, Math.max(1.0, 50 - 0.01 * d)));
        }
        for (double v : LatencyModel.fit(s).coefficients()) {
            assertThat(v).isGreaterThanOrEqualTo(0.0);
        }
    }

    @Test
    void onlineRefitConvergesFromAWrongStart() {
        double[] wrong = TRUE.clone();
        for (int i = 0; i < wrong.length; i++) {
            wrong[i] *= 2;
        }
        LatencyModel m = new LatencyModel(wrong, 256, 16);
        for (LatencyModel.Sample s : samples(truth(), 0.01, 4)) {
            m.observe(s);
        }
        List<LatencyModel.Sample> test = samples(truth(), 0.0, 5);
        assertThat(m.mape(test, false)).isLessThan(3.0);
        assertThat(m.mape(test, true)).isLessThan(3.0);
        assertThat(m.observed()).isEqualTo(252);
    }

    @Test
    void slidingWindowForgetsEvictedSamplesAndFollowsADrift() {
        // Half as fast after a change: once the window holds only new samples, the fit is the new truth.
        double[] slow = TRUE.clone();
        for (int i = 0; i < slow.length; i++) {
            slow[i] *= 2;
        }
        LatencyModel slowTruth = new LatencyModel(slow, 512, 32);
        LatencyModel m = new LatencyModel(TRUE, 100, 10);
        for (int round = 0; round < 5; round++) {
            for (LatencyModel.Sample s : samples(truth(), 0.0, 10 + round)) {
                m.observe(s);
            }
        }
        for (int round = 0; round < 5; round++) {
            for (LatencyModel.Sample s : samples(slowTruth, 0.0, 20 + round)) {
                m.observe(s);
            }
        }
        List<LatencyModel.Sample> test = samples(slowTruth, 0.0, 30);
        assertThat(m.mape(test, false)).isLessThan(1.0);
        assertThat(m.mape(test, true)).isLessThan(1.0);
    }

    @Test
    void overrunMarginTracksHowFarEstimatesUndershoot() {
        LatencyModel m = new LatencyModel(TRUE, 512, 1_000_000);
        assertThat(m.overrunMargin()).isZero();
        // Every batch 10 % slower than estimated (the refit is held off): margin ~0.1.
        for (LatencyModel.Sample s : samples(truth(), 0.0, 6)) {
            m.observe(new LatencyModel.Sample(s.chunks(), s.sumNew(), s.sumNewSq(), s.sumNewCached(), s.sumCached(),
                    s.decodeBatch(), s.sumContext(), 1.1 * m.estimate(s)));
        }
        assertThat(m.overrunMargin()).isCloseTo(0.1, within(0.01));
        // Estimates that overshoot need no margin.
        LatencyModel fast = new LatencyModel(TRUE, 512, 1_000_000);
        for (LatencyModel.Sample s : samples(truth(), 0.0, 7)) {
            fast.observe(new LatencyModel.Sample(s.chunks(), s.sumNew(), s.sumNewSq(), s.sumNewCached(), s.sumCached(),
                    s.decodeBatch(), s.sumContext(), 0.8 * fast.estimate(s)));
        }
        assertThat(fast.overrunMargin()).isZero();
    }

    @Test
    void mixedBatchPaysOneOverhead() {
        LatencyModel m = new LatencyModel(10, 0.05, 0, 0, 0, 8, 0.5, 0.001);
        Request pre = new Request("p", "t", "c", 1, Slo.NONE, 100, 5, 0);
        Request dec = TestRequests.handedOver("d", Slo.NONE, 1000, 5, 0, 1);
        double mixed = m.batchMs(List.of(new Chunk(pre, 100)), List.of(dec));
        assertThat(mixed).isCloseTo(10 + 5 + 0.5 + 1.0, within(1e-9));
        assertThat(m.decodeMs(1, 1000)).isCloseTo(8 + 0.5 + 1.0, within(1e-9));
        LatencyModel tiled = new LatencyModel(10, 0.05, 0, 0, 0, 8, 0.5, 0.001, 0.25, 0.4);
        double tiledMixed = tiled.batchMs(List.of(new Chunk(pre, 100)), List.of(dec));
        assertThat(tiledMixed).as("c0 covers b3 in a mixed batch; the decode pays a quarter tile")
                .isCloseTo(mixed + 0.1, within(1e-9));
        assertThat(tiled.estimate(LatencyModel.Sample.of(new BatchPlan(List.of(new Chunk(pre, 100)), List.of(dec),
                List.of(), 0), 0))).isCloseTo(tiledMixed, within(1e-9));
        assertThat(tiled.batchMs(List.of(), List.of(dec))).isCloseTo(8 + 0.5 + 1.0 + 0.25 + 0.4, within(1e-9));
        assertThat(m.estimate(LatencyModel.Sample.of(new BatchPlan(List.of(new Chunk(pre, 100)), List.of(dec), List.of(), 0), 0)))
                .isCloseTo(mixed, within(1e-9));
    }

    @Test
    void rejectsBadInput() {
        assertThatThrownBy(() -> LatencyModel.fit(List.of())).isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> new LatencyModel(-1, 0, 0, 0, 0, 0, 0, 0))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("c0");
        assertThatThrownBy(() -> LatencyModel.Sample.decode(0, 0, 1)).isInstanceOf(IllegalArgumentException.class);
    }
}
