package io.sluice.scheduling;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.SplittableRandom;

/**
 * The latency estimator. A batch's time is a fixed overhead plus per-chunk and per-sequence work:
 * <pre>
 *   prefill part:  c0 + sum over chunks of (c1*d + c2*d^2 + c3*d*p + c4*p)   d new tokens, p cached
 *   decode part:   b0 + b1*B + b2*sum(ctx) + b3*min(B, 4) + b4*ceil(B/4)     B sequences
 * </pre>
 * A batch with both pays one overhead, c0 (one forward pass streams the weights once), so a mixed
 * batch costs c0 + prefill work + (b1 + b4/4)*B + b2*sum(ctx).
 *
 * <p>b3 and b4 are the shape of a small decode step on the CPU engine, which packs tokens in 4-token
 * GEMM tiles and reads the weights again for every tile: b4 is that read, per tile; b3 is what each
 * of the first four sequences costs beyond the later ones (the first tile, of 1 to 4 tokens, is the
 * dearest per token). On a 15M model with 2 threads the profiles fitted b4 ~0.2-0.35 ms, b3
 * ~0.07-0.17 ms and b1 only 0.006-0.045 ms; the linear form, b1 ~0.075-0.09 ms, priced a batch of one
 * 8-14 % high and batches of 5-6 up to 12 % low. Among ceil(B/4), min(B, k) for k = 2..8, max(0, B - k)
 * and pairs of them, the pair cut the held-out decode MAPE of profiles the most (6.9 to 3.4 %, 4.3 to
 * 3.0 %, 4.3 to 3.8 %; min(B, 4) alone to 4.2, 3.6, 3.9 %). In a mixed batch the decodes' tokens share
 * the chunks' tiles: b3 is left to c0, and each decode pays its share of a tile, b4/4. Fitted by non-negative least squares from
 * profile samples ({@link #fit}); refitted online from observed batch times over a bounded window
 * ({@link #observe}). Not thread-safe: one per instance, or read-only once shared.
 *
 * <p>The online refit keeps the window's normal-equation sums (X^T X, X^T y) up to date as samples
 * enter and leave, so an observation costs O(features^2) and a refit solves only the 10x10 system;
 * the sums are rebuilt from the window once per window length, so rounding from the subtractions
 * cannot accumulate. Each observation also updates a running measure of how far the estimates
 * undershoot ({@link #overrunMargin}), which deadline-sized batches use as a safety margin.
 */
public final class LatencyModel {

    /** Number of coefficients: c0..c4 then b0..b4. */
    public static final int COEFFICIENTS = 10;
    /** Coefficients of a model written before b3 and b4 existed (c0..c4, b0..b2); read with b3 = b4 = 0. */
    public static final int COEFFICIENTS_WITHOUT_TILES = 8;
    /** Names of the coefficients, in {@link #coefficients()} order. */
    public static final List<String> NAMES = List.of("c0", "c1", "c2", "c3", "c4", "b0", "b1", "b2", "b3", "b4");
    /** Tokens per GEMM tile of the engine: the first TILE decodes pay b3 each, every TILE of them b4. */
    public static final int TILE = 4;

    private static final int DEFAULT_WINDOW = 512;
    private static final int DEFAULT_REFIT_EVERY = 32;
    // Ridge weight toward the current coefficients in online refits: small enough that data wins,
    // large enough that a window of identical batch shapes cannot swing unidentified terms.
    private static final double ONLINE_RIDGE = 1e-3;

    // Weight of one observation in the running overrun statistics (~ the last 200 batches).
    private static final double ERROR_DECAY = 0.005;
    // The margin is the mean relative overrun plus this many standard deviations of it.
    private static final double MARGIN_SIGMAS = 2.0;
    // Upper bound of the margin: it shrinks budgets, and a run of wild estimates must not shrink them
    // to nothing. 0.3 was binding on the Mooncake-shaped load (prefill MAPE 14 %): interactive TPOT
    // p99 172 ms against a 50 ms SLO; at 0.5, 47 ms.
    private static final double MAX_MARGIN = 0.5;

    private final double[] c = new double[COEFFICIENTS];
    // Ring of the window's samples: COEFFICIENTS features, then the time, per slot.
    private final double[] window;
    private final int capacity;
    private final int refitEvery;
    // Coefficients outside the model's form: no fit, offline or online, moves them from 0.
    private final boolean[] frozen;
    private double[][] xtx = new double[COEFFICIENTS][COEFFICIENTS];
    private double[] xty = new double[COEFFICIENTS];
    // Samples in the window with a nonzero feature j: exact, unlike a diagonal that sums and subtracts.
    private int[] nonzero = new int[COEFFICIENTS];
    // The same sums over the samples since the last rebuild only, added from zero in arrival order.
    // At the next rebuild those samples are the whole window, in slot order, so these are the sums a
    // rebuild would add up, bit for bit: the rebuild swaps them in instead of adding the window again.
    private double[][] freshXtx = new double[COEFFICIENTS][COEFFICIENTS];
    private double[] freshXty = new double[COEFFICIENTS];
    private int[] freshNonzero = new int[COEFFICIENTS];
    private final boolean[] live = new boolean[COEFFICIENTS];
    private final double[] scratch = new double[COEFFICIENTS];
    private final Nnls.Workspace nnls = new Nnls.Workspace(COEFFICIENTS);
    private int windowSize;
    private int windowNext;
    private int sinceRefit;
    private int sinceRebuild;
    private long observed;
    private double errMean;
    private double errSq;

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
            double[] f = new double[COEFFICIENTS];
            features(f);
            return f;
        }

        void features(double[] f) {
            boolean hasPrefill = chunks > 0;
            f[0] = hasPrefill ? 1 : 0;
            f[1] = sumNew;
            f[2] = sumNewSq;
            f[3] = sumNewCached;
            f[4] = sumCached;
            f[5] = hasPrefill ? 0 : 1;
            f[6] = decodeBatch;
            f[7] = sumContext;
            tileFeatures(f, hasPrefill, decodeBatch);
        }
    }

    /** Features 8 and 9 (b3, b4) of a batch with or without prefill chunks and {@code decodes} decodes. */
    private static void tileFeatures(double[] f, boolean hasPrefill, int decodes) {
        f[8] = hasPrefill ? 0 : Math.min(decodes, TILE);
        f[9] = hasPrefill ? decodes / (double) TILE : (decodes + TILE - 1) / TILE;
    }

    /** Result of a fit with held-out evaluation; MAPE in percent, NaN when there was nothing to test. */
    public record FitReport(LatencyModel model, double mapePrefill, double mapeDecode, int trainSamples, int heldOutSamples) {
    }

    /** A model with the given coefficients (c0..c4, b0..b2), all >= 0, and b3 = b4 = 0. */
    public LatencyModel(double c0, double c1, double c2, double c3, double c4, double b0, double b1, double b2) {
        this(new double[] {c0, c1, c2, c3, c4, b0, b1, b2, 0, 0}, DEFAULT_WINDOW, DEFAULT_REFIT_EVERY);
    }

    /** A model with the given coefficients (c0..c4, b0..b4), all >= 0. */
    public LatencyModel(double c0, double c1, double c2, double c3, double c4, double b0, double b1, double b2,
            double b3, double b4) {
        this(new double[] {c0, c1, c2, c3, c4, b0, b1, b2, b3, b4}, DEFAULT_WINDOW, DEFAULT_REFIT_EVERY);
    }

    /**
     * A model with coefficients {@code coefficients} (c0..c4, b0..b4; or c0..c4, b0..b2 as written before
     * b3 and b4 existed, read with b3 = b4 = 0) that refits online every {@code refitEvery} observations over
     * the last {@code window} of them.
     */
    public LatencyModel(double[] coefficients, int window, int refitEvery) {
        if (coefficients.length != COEFFICIENTS && coefficients.length != COEFFICIENTS_WITHOUT_TILES) {
            throw new IllegalArgumentException("a latency model has " + COEFFICIENTS + " coefficients " + NAMES
                    + " (or " + COEFFICIENTS_WITHOUT_TILES + ", without b3 and b4), got " + coefficients.length);
        }
        for (int i = 0; i < coefficients.length; i++) {
            if (!(coefficients[i] >= 0) || Double.isInfinite(coefficients[i])) {
                throw new IllegalArgumentException("coefficient " + NAMES.get(i) + " must be finite and >= 0, got "
                        + coefficients[i]);
            }
        }
        if (window < 1 || refitEvery < 1) {
            throw new IllegalArgumentException("refit window and interval must be >= 1, got " + window + ", " + refitEvery);
        }
        System.arraycopy(coefficients, 0, c, 0, coefficients.length);
        this.capacity = window;
        this.window = new double[window * (COEFFICIENTS + 1)];
        this.refitEvery = refitEvery;
        this.frozen = new boolean[COEFFICIENTS];
    }

    /** A copy with the same coefficients and an empty observation window. */
    public LatencyModel copy() {
        LatencyModel m = new LatencyModel(c, capacity, refitEvery);
        System.arraycopy(frozen, 0, m.frozen, 0, COEFFICIENTS);
        return m;
    }

    /** Names of the coefficients that no fit of this model moves from 0 (see {@link #fit(List, String...)}). */
    public List<String> frozen() {
        List<String> names = new ArrayList<>();
        for (int j = 0; j < COEFFICIENTS; j++) {
            if (frozen[j]) {
                names.add(NAMES.get(j));
            }
        }
        return names;
    }

    /** Coefficients c0..c4, b0..b4 (a copy). */
    public double[] coefficients() {
        return c.clone();
    }

    public double c0() { return c[0]; }
    public double b0() { return c[5]; }
    /** Coefficient {@code j} in {@link #NAMES} order, without the copy {@link #coefficients()} makes. */
    double coefficient(int j) { return c[j]; }
    public double b3() { return c[8]; }
    public double b4() { return c[9]; }

    /**
     * How much longer than estimated a batch may run, as a fraction of the estimate: the running mean
     * plus two standard deviations of the relative overrun (actual - estimate) / estimate over recent
     * observations, at least 0 and at most 0.5; 0 before any observation. A batch sized to end by a
     * deadline should be sized to deadline / (1 + margin).
     */
    public double overrunMargin() {
        double var = Math.max(0, errSq - errMean * errMean);
        double m = errMean + MARGIN_SIGMAS * Math.sqrt(var);
        return Math.min(MAX_MARGIN, Math.max(0, m));
    }

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

    /** Work of one sequence in a decode step without the batch overhead: with its share of a tile, b4/4. */
    public double decodeWorkMs(long context) {
        return decodeFixedMs() + decodePerTokenMs() * context;
    }

    /** The part of {@link #decodeWorkMs} that does not depend on the context: b1 + b4/4. */
    double decodeFixedMs() {
        return c[6] + c[9] / TILE;
    }

    /** The per-context-token part of {@link #decodeWorkMs}: b2. */
    double decodePerTokenMs() {
        return c[7];
    }

    /**
     * Fixed overhead of a batch with or without prefill chunks and decodes, for a sum of per-chunk and
     * per-sequence work ({@link #chunkWorkMs}, {@link #decodeWorkMs}). A decode-only batch's overhead
     * includes the b3 term of a full first tile and 3/4 of a tile's b4 (a part-filled last tile costs a whole
     * one): the sum is then exact for 5, 9, 13... sequences and at most 3*b3 + 3/4*b4 high otherwise, so a
     * policy that adds sequences one at a time sees an estimate that never undershoots.
     */
    public double overheadMs(boolean hasPrefill, boolean hasDecode) {
        return hasPrefill ? c[0] : (hasDecode ? c[5] + TILE * c[8] + 0.75 * c[9] : 0.0);
    }

    /** Overhead of a batch as it is, with the b3 and b4 terms of its {@code decodes} decodes exact. */
    private double overheadMs(boolean hasPrefill, int decodes) {
        if (hasPrefill || decodes == 0) {
            return hasPrefill ? c[0] : 0.0;
        }
        int tiles = (decodes + TILE - 1) / TILE;
        // decodeWorkMs charges b4/4 a sequence; the rest of the tiles' b4 belongs here.
        return c[5] + Math.min(decodes, TILE) * c[8] + (tiles - decodes / (double) TILE) * c[9];
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
        for (int i = 0, k = chunks.size(); i < k; i++) {
            Chunk ch = chunks.get(i);
            t += chunkWorkMs(ch.tokens(), ch.cachedTokens());
        }
        return t;
    }

    /** A decode-only step of {@code batch} sequences over {@code sumContext} cached tokens. */
    public double decodeMs(int batch, long sumContext) {
        return batch <= 0 ? 0.0
                : c[5] + c[6] * batch + c[7] * sumContext + c[8] * Math.min(batch, TILE) + c[9] * ((batch + TILE - 1) / TILE);
    }

    /**
     * Decode step of a batch of {@code batch} sequences whose step is known to be {@code stepMs}, after
     * {@code more} sequences with {@code moreContext} context tokens in all join it. The context term is linear, so
     * this is exact without the batch's own context sum: what a router knows from a status report.
     */
    public double decodeMsAdding(int batch, double stepMs, int more, long moreContext) {
        return stepMs + decodeMs(batch + more, moreContext) - decodeMs(batch, 0);
    }

    /** A batch of these chunks and these decodes. */
    public double batchMs(List<Chunk> chunks, List<Request> decodes) {
        double t = overheadMs(!chunks.isEmpty(), decodes.size());
        for (int i = 0, k = chunks.size(); i < k; i++) {
            Chunk ch = chunks.get(i);
            t += chunkWorkMs(ch.tokens(), ch.cachedTokens());
        }
        for (int i = 0, k = decodes.size(); i < k; i++) {
            Request r = decodes.get(i);
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
        if (!(actualMs >= 0) || Double.isInfinite(actualMs)) {
            throw new IllegalArgumentException("batch time must be a finite number >= 0 ms, got " + actualMs);
        }
        // Features straight from the plan, as Sample.of computes them, without allocating.
        double sn = 0, sn2 = 0, snp = 0, sp = 0, ctx = 0;
        List<Chunk> chunks = plan.prefill();
        for (int i = 0, k = chunks.size(); i < k; i++) {
            Chunk ch = chunks.get(i);
            double d = ch.tokens();
            double p = ch.cachedTokens();
            sn += d;
            sn2 += d * d;
            snp += d * p;
            sp += p;
        }
        List<Request> decodes = plan.decode();
        for (int i = 0, k = decodes.size(); i < k; i++) {
            ctx += decodes.get(i).contextTokens();
        }
        double[] f = scratch;
        boolean hasPrefill = !chunks.isEmpty();
        f[0] = hasPrefill ? 1 : 0;
        f[1] = sn;
        f[2] = sn2;
        f[3] = snp;
        f[4] = sp;
        f[5] = hasPrefill ? 0 : 1;
        f[6] = decodes.size();
        f[7] = ctx;
        tileFeatures(f, hasPrefill, decodes.size());
        record(f, actualMs);
    }

    /** Records a measured sample; refits every few observations over the bounded window. */
    public void observe(Sample s) {
        s.features(scratch);
        record(scratch, s.ms());
    }

    private void record(double[] f, double ms) {
        double est = 0;
        for (int j = 0; j < COEFFICIENTS; j++) {
            est += c[j] * f[j];
        }
        if (est > 0) {
            // Clamped so that one wild sample (a stall, a cold start) moves the margin only a little.
            double rel = Math.max(-1, Math.min(1, (ms - est) / est));
            double a = observed == 0 ? 1 : ERROR_DECAY;
            errMean += a * (rel - errMean);
            errSq += a * (rel * rel - errSq);
        }
        int slot = windowNext * (COEFFICIENTS + 1);
        boolean rebuild = ++sinceRebuild >= capacity;
        boolean full = windowSize == capacity;
        if (!full) {
            windowSize++;
        }
        slide(f, ms, slot, full && !rebuild);
        System.arraycopy(f, 0, window, slot, COEFFICIENTS);
        window[slot + COEFFICIENTS] = ms;
        if (++windowNext == capacity) {
            windowNext = 0;
        }
        observed++;
        if (rebuild) {
            // A rebuild happens every capacity samples, so the window holds exactly the samples since
            // the last one, and the slots run in their arrival order (the ring has just wrapped).
            sinceRebuild = 0;
            swapInFreshSums();
        }
        if (++sinceRefit >= refitEvery) {
            sinceRefit = 0;
            for (int j = 0; j < COEFFICIENTS; j++) {
                live[j] = nonzero[j] > 0 && !frozen[j];
            }
            for (int j = 1; j < COEFFICIENTS; j++) {
                for (int k = 0; k < j; k++) {
                    xtx[j][k] = xtx[k][j];
                }
            }
            double[] fitted = Nnls.solveGram(xtx, xty, live, c, ONLINE_RIDGE, nnls);
            System.arraycopy(fitted, 0, c, 0, COEFFICIENTS);
        }
    }

    /**
     * Takes the sample in {@code slot} out of the window's sums ({@code remove}) and adds the new one,
     * features {@code f} and time {@code y}, to the window's sums and to the fresh sums, in one pass:
     * each sum gets the same products in the same order as a removal followed by an addition would
     * give it (subtract the old product, then add the new one), so the sums are the same bit for bit,
     * and each is read and written once instead of twice. Rows of zero features are skipped and only
     * the upper triangle of the symmetric X^T X is kept (mirrored before a refit): about half the
     * products. A product and its mirror are the same (multiplication commutes, a negation is exact).
     */
    private void slide(double[] f, double y, int slot, boolean remove) {
        double[] ring = window;
        double yOld = ring[slot + COEFFICIENTS];
        for (int j = 0; j < COEFFICIENTS; j++) {
            double out = remove ? -ring[slot + j] : 0;
            double in = f[j];
            double[] row = xtx[j];
            if (out != 0) {
                nonzero[j]--;
                if (in == 0) {
                    xty[j] += out * yOld;
                    for (int k = j; k < COEFFICIENTS; k++) {
                        row[k] += out * ring[slot + k];
                    }
                    continue;
                }
            } else if (in == 0) {
                continue;
            }
            nonzero[j]++;
            freshNonzero[j]++;
            double[] freshRow = freshXtx[j];
            double py = in * y;
            xty[j] = (out != 0 ? xty[j] + out * yOld : xty[j]) + py;
            freshXty[j] += py;
            if (out != 0) {
                for (int k = j; k < COEFFICIENTS; k++) {
                    double p = in * f[k];
                    row[k] = row[k] + out * ring[slot + k] + p;
                    freshRow[k] += p;
                }
            } else {
                for (int k = j; k < COEFFICIENTS; k++) {
                    double p = in * f[k];
                    row[k] += p;
                    freshRow[k] += p;
                }
            }
        }
    }

    /**
     * Recomputes the sums from the window, discarding the rounding the subtractions left: the fresh
     * sums are the window's sums added from zero in slot order, so they take the place of the sums,
     * and the fresh sums start again from zero.
     */
    private void swapInFreshSums() {
        double[][] m = xtx;
        xtx = freshXtx;
        freshXtx = m;
        double[] v = xty;
        xty = freshXty;
        freshXty = v;
        int[] n = nonzero;
        nonzero = freshNonzero;
        freshNonzero = n;
        for (double[] row : freshXtx) {
            Arrays.fill(row, 0);
        }
        Arrays.fill(freshXty, 0);
        Arrays.fill(freshNonzero, 0);
    }

    /**
     * Least-squares fit of the relative errors with every coefficient >= 0; terms the samples never exercise stay 0,
     * and so do the coefficients named in {@code frozen}, in this fit and in the model's online refits: a cost
     * that has no such term (the simulator's roofline has no GEMM tiles: "b4") then keeps the form without it.
     */
    public static LatencyModel fit(List<Sample> samples, String... frozen) {
        if (samples.isEmpty()) {
            throw new IllegalArgumentException("cannot fit a latency model to zero samples");
        }
        boolean[] mask = new boolean[COEFFICIENTS];
        for (String name : frozen) {
            int j = NAMES.indexOf(name);
            if (j < 0) {
                throw new IllegalArgumentException("no coefficient '" + name + "'; one of " + NAMES);
            }
            mask[j] = true;
        }
        double[] coef = solve(samples, mask);
        LatencyModel m = new LatencyModel(coef, DEFAULT_WINDOW, DEFAULT_REFIT_EVERY);
        System.arraycopy(mask, 0, m.frozen, 0, COEFFICIENTS);
        return m;
    }

    /**
     * Fits on a seeded random {@code 1 - holdoutFraction} of the samples and reports the mean absolute
     * percentage error on the rest, separately for batches with prefill and decode-only batches.
     */
    public static FitReport fitWithHoldout(List<Sample> samples, double holdoutFraction, long seed, String... frozen) {
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
        LatencyModel m = fit(train, frozen);
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

    /**
     * Each sample's row and time divided by its time, so the least squares are over relative errors: the MAPE the
     * estimator is judged by. Unweighted, the longest batches dominate and a 1 ms decode step got +-30 % errors
     * while a 30 ms one was within 1 %.
     */
    private static double[] solve(List<Sample> samples, boolean[] frozen) {
        double[][] rows = new double[samples.size()][];
        double[] y = new double[samples.size()];
        for (int i = 0; i < rows.length; i++) {
            Sample s = samples.get(i);
            double w = s.ms() > 0 ? 1 / s.ms() : 1;
            rows[i] = s.features();
            for (int j = 0; j < COEFFICIENTS; j++) {
                rows[i][j] = frozen[j] ? 0 : rows[i][j] * w; // an all-zero column keeps its prior, 0
            }
            y[i] = s.ms() * w;
        }
        return Nnls.solve(rows, y, new double[COEFFICIENTS], 0.0);
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
