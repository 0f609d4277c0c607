package io.sluice.scheduling;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.SplittableRandom;

/**
 * The latency estimator. A batch's time is a fixed overhead plus per-chunk and per-sequence work:
 * <pre>
 *   prefill part:  c0 + sum over chunks of (c1*d + c2*d^2 + c3*d*p + c4*p)   d new tokens, p cached
 *   decode part:   b0 + b1*B + b2*sum(ctx)                                   B sequences
 * </pre>
 * A batch with both pays one overhead, c0 (one forward pass streams the weights once), so a mixed
 * batch costs c0 + prefill work + b1*B + b2*sum(ctx). Fitted by non-negative least squares from
 * profile samples ({@link #fit}); refitted online from observed batch times over a bounded window
 * ({@link #observe}). Not thread-safe: one per instance, or read-only once shared.
 */
public final class LatencyModel {

    /** Number of coefficients: c0..c4 then b0..b2. */
    public static final int COEFFICIENTS = 8;
    /** Names of the coefficients, in {@link #coefficients()} order. */
    public static final List<String> NAMES = List.of("c0", "c1", "c2", "c3", "c4", "b0", "b1", "b2");

    private static final int DEFAULT_WINDOW = 512;
    private static final int DEFAULT_REFIT_EVERY = 32;
    // Ridge weight toward the current coefficients in online refits: small enough that data wins,
    // large enough that a window of identical batch shapes cannot swing unidentified terms.
    private static final double ONLINE_RIDGE = 1e-3;

    private final double[] c = new double[COEFFICIENTS];
    private final Sample[] window;
    private final int refitEvery;
    private int windowSize;
    private int windowNext;
    private int sinceRefit;
    private long observed;

    /**
     * One observed batch: its features and its time. A prefill-only, decode-only or mixed batch.
     * {@code chunks} is the number of prefill chunks, {@code decodeBatch} the number of decodes.
     */
    public record Sample(int chunks, double sumNew, double sumNewSq, double sumNewCached, double sumCached,
                         int decodeBatch, double sumContext, double ms) {
        public Sample {
            if (chunks < 0 || decodeBatch < 0 || chunks + decodeBatch == 0) {
                throw new IllegalArgumentException("a sample needs at least one chunk or decode, got "
                        + chunks + " chunks and " + decodeBatch + " decodes");
            }
            if (!(ms >= 0) || Double.isInfinite(ms)) {
                throw new IllegalArgumentException("sample time must be a finite number >= 0 ms, got " + ms);
            }
        }

        /** A batch of one prefill chunk of {@code newTokens} over {@code cachedTokens} already cached. */
        public static Sample prefill(int newTokens, int cachedTokens, double ms) {
            return new Sample(1, newTokens, (double) newTokens * newTokens, (double) newTokens * cachedTokens,
                    cachedTokens, 0, 0, ms);
        }

        /** A decode step of {@code batch} sequences attending over {@code sumContext} cached tokens in all. */
        public static Sample decode(int batch, long sumContext, double ms) {
            return new Sample(0, 0, 0, 0, 0, batch, sumContext, ms);
        }

        /** The features of a plan, with its measured time. */
        public static Sample of(BatchPlan plan, double ms) {
            double sn = 0, sn2 = 0, snp = 0, sp = 0, ctx = 0;
            for (Chunk ch : plan.prefill()) {
                double d = ch.tokens();
                double p = ch.cachedTokens();
                sn += d;
                sn2 += d * d;
                snp += d * p;
                sp += p;
            }
            for (Request r : plan.decode()) {
                ctx += r.contextTokens();
            }
            return new Sample(plan.prefill().size(), sn, sn2, snp, sp, plan.decode().size(), ctx, ms);
        }

        /** True when the sample has no prefill chunk. */
        public boolean decodeOnly() {
            return chunks == 0;
        }

        double[] features() {
            boolean hasPrefill = chunks > 0;
            return new double[] {hasPrefill ? 1 : 0, sumNew, sumNewSq, sumNewCached, sumCached,
                    hasPrefill ? 0 : 1, decodeBatch, sumContext};
        }
    }

    /** Result of a fit with held-out evaluation; MAPE in percent, NaN when there was nothing to test. */
    public record FitReport(LatencyModel model, double mapePrefill, double mapeDecode, int trainSamples, int heldOutSamples) {
    }

    /** A model with the given coefficients (c0..c4, b0..b2), all >= 0. */
    public LatencyModel(double c0, double c1, double c2, double c3, double c4, double b0, double b1, double b2) {
        this(new double[] {c0, c1, c2, c3, c4, b0, b1, b2}, DEFAULT_WINDOW, DEFAULT_REFIT_EVERY);
    }

    /**
     * A model with coefficients {@code coefficients} (c0..c4, b0..b2) that refits online every
     * {@code refitEvery} observations over the last {@code window} of them.
     */
    public LatencyModel(double[] coefficients, int window, int refitEvery) {
        if (coefficients.length != COEFFICIENTS) {
            throw new IllegalArgumentException("a latency model has " + COEFFICIENTS + " coefficients " + NAMES
                    + ", got " + coefficients.length);
        }
        for (int i = 0; i < COEFFICIENTS; i++) {
            if (!(coefficients[i] >= 0) || Double.isInfinite(coefficients[i])) {
                throw new IllegalArgumentException("coefficient " + NAMES.get(i) + " must be finite and >= 0, got "
                        + coefficients[i]);
            }
        }
        if (window < 1 || refitEvery < 1) {
            throw new IllegalArgumentException("refit window and interval must be >= 1, got " + window + ", " + refitEvery);
        }
        System.arraycopy(coefficients, 0, c, 0, COEFFICIENTS);
        this.window = new Sample[window];
        this.refitEvery = refitEvery;
    }

    /** A copy with the same coefficients and an empty observation window. */
    public LatencyModel copy() {
        return new LatencyModel(c, window.length, refitEvery);
    }

    /** Coefficients c0..c4, b0..b2 (a copy). */
    public double[] coefficients() {
        return c.clone();
    }

    public double c0() { return c[0]; }
    public double b0() { return c[5]; }

    /** Batches observed so far. */
    public long observed() {
        return observed;
    }

    // ---- estimates ----

    /** Work of one chunk without the batch overhead. */
    public double chunkWorkMs(int newTokens, int cachedTokens) {
        double d = newTokens;
        double p = cachedTokens;
        return c[1] * d + c[2] * d * d + c[3] * d * p + c[4] * p;
    }

    /** Work of one sequence in a decode step without the batch overhead. */
    public double decodeWorkMs(long context) {
        return c[6] + c[7] * context;
    }

    /** Fixed overhead of a batch with or without prefill chunks and decodes. */
    public double overheadMs(boolean hasPrefill, boolean hasDecode) {
        return hasPrefill ? c[0] : (hasDecode ? c[5] : 0.0);
    }

    /** A batch of one chunk alone. */
    public double prefillChunkMs(int newTokens, int cachedTokens) {
        return c[0] + chunkWorkMs(newTokens, cachedTokens);
    }

    /** A prefill-only batch. */
    public double prefillMs(List<Chunk> chunks) {
        if (chunks.isEmpty()) {
            return 0.0;
        }
        double t = c[0];
        for (Chunk ch : chunks) {
            t += chunkWorkMs(ch.tokens(), ch.cachedTokens());
        }
        return t;
    }

    /** A decode-only step of {@code batch} sequences over {@code sumContext} cached tokens. */
    public double decodeMs(int batch, long sumContext) {
        return batch <= 0 ? 0.0 : c[5] + c[6] * batch + c[7] * sumContext;
    }

    /** A batch of these chunks and these decodes. */
    public double batchMs(List<Chunk> chunks, List<Request> decodes) {
        double t = overheadMs(!chunks.isEmpty(), !decodes.isEmpty());
        for (Chunk ch : chunks) {
            t += chunkWorkMs(ch.tokens(), ch.cachedTokens());
        }
        for (Request r : decodes) {
            t += decodeWorkMs(r.contextTokens());
        }
        return t;
    }

    /** A plan's batch time. */
    public double batchMs(BatchPlan plan) {
        return batchMs(plan.prefill(), plan.decode());
    }

    /** Estimate for a sample's batch shape. */
    public double estimate(Sample s) {
        double[] f = s.features();
        double t = 0;
        for (int i = 0; i < COEFFICIENTS; i++) {
            t += c[i] * f[i];
        }
        return t;
    }

    // ---- fitting ----

    /**
     * Records an executed plan and its measured time; refits every few observations. Chunks carry
     * their cached counts; decode contexts are read from the requests, so call this before
     * {@link InstanceState#complete} (after it, each decode's context reads one token longer).
     */
    public void observe(BatchPlan plan, double actualMs) {
        if (plan.isEmpty()) {
            return;
        }
        observe(Sample.of(plan, actualMs));
    }

    /** Records a measured sample; refits every few observations over the bounded window. */
    public void observe(Sample s) {
        window[windowNext] = s;
        windowNext = (windowNext + 1) % window.length;
        windowSize = Math.min(windowSize + 1, window.length);
        observed++;
        if (++sinceRefit >= refitEvery) {
            sinceRefit = 0;
            double[] fitted = solve(Arrays.asList(window).subList(0, windowSize), c, ONLINE_RIDGE);
            System.arraycopy(fitted, 0, c, 0, COEFFICIENTS);
        }
    }

    /** Least-squares fit with every coefficient >= 0; terms the samples never exercise stay 0. */
    public static LatencyModel fit(List<Sample> samples) {
        if (samples.isEmpty()) {
            throw new IllegalArgumentException("cannot fit a latency model to zero samples");
        }
        double[] coef = solve(samples, new double[COEFFICIENTS], 0.0);
        return new LatencyModel(coef, DEFAULT_WINDOW, DEFAULT_REFIT_EVERY);
    }

    /**
     * Fits on a seeded random {@code 1 - holdoutFraction} of the samples and reports the mean absolute
     * percentage error on the rest, separately for batches with prefill and decode-only batches.
     */
    public static FitReport fitWithHoldout(List<Sample> samples, double holdoutFraction, long seed) {
        if (!(holdoutFraction > 0 && holdoutFraction < 1)) {
            throw new IllegalArgumentException("holdout fraction must be in (0, 1), got " + holdoutFraction);
        }
        List<Sample> shuffled = new ArrayList<>(samples);
        SplittableRandom rnd = new SplittableRandom(seed);
        for (int i = shuffled.size() - 1; i > 0; i--) {
            int j = rnd.nextInt(i + 1);
            Sample t = shuffled.get(i);
            shuffled.set(i, shuffled.get(j));
            shuffled.set(j, t);
        }
        int test = (int) Math.round(shuffled.size() * holdoutFraction);
        if (test < 1 || test >= shuffled.size()) {
            throw new IllegalArgumentException("need more samples to hold out " + holdoutFraction + " of them, got "
                    + shuffled.size());
        }
        List<Sample> heldOut = shuffled.subList(0, test);
        List<Sample> train = shuffled.subList(test, shuffled.size());
        LatencyModel m = fit(train);
        return new FitReport(m, m.mape(heldOut, false), m.mape(heldOut, true), train.size(), heldOut.size());
    }

    /** Mean absolute percentage error (percent) over the decode-only or the other samples; NaN if none. */
    public double mape(List<Sample> samples, boolean decodeOnly) {
        double sum = 0;
        int n = 0;
        for (Sample s : samples) {
            if (s.decodeOnly() != decodeOnly || s.ms() <= 0) {
                continue;
            }
            sum += Math.abs(estimate(s) - s.ms()) / s.ms();
            n++;
        }
        return n == 0 ? Double.NaN : 100.0 * sum / n;
    }

    private static double[] solve(List<Sample> samples, double[] prior, double rho) {
        double[][] rows = new double[samples.size()][];
        double[] y = new double[samples.size()];
        for (int i = 0; i < rows.length; i++) {
            rows[i] = samples.get(i).features();
            y[i] = samples.get(i).ms();
        }
        return Nnls.solve(rows, y, prior, rho);
    }

    @Override
    public String toString() {
        StringBuilder sb = new StringBuilder("LatencyModel[");
        for (int i = 0; i < COEFFICIENTS; i++) {
            sb.append(i == 0 ? "" : ", ").append(NAMES.get(i)).append('=').append(c[i]);
        }
        return sb.append(']').toString();
    }
}
