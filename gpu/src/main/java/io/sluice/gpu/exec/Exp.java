package io.sluice.gpu.exec;

import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorSpecies;

/**
 * {@code exp(x)} in float, on whole vectors and one value at a time, with the same operations in
 * the same order, so both give the same bits for the same input.
 *
 * <p>Why not {@code lanewise(VectorOperators.EXP)}: its JIT intrinsic (SVML) and its Java fallback
 * ({@code Math.exp} per lane) round differently, so a result would depend on whether the loop had
 * been compiled yet — and a request's sampled tokens on what ran before it. Tokens must be a
 * function of (seed, position) alone, so replays and recoveries give the same text. Basic IEEE
 * operations (add, mul, fma) round the same everywhere.
 *
 * <p>Method (Cephes {@code expf}): {@code x = k ln2 + r}, |r| <= ln2/2, a degree-6 polynomial for
 * {@code e^r}, times {@code 2^k} built from the exponent bits. Relative error under 3e-7 on
 * [-87, 88]; inputs are clamped to [-87.3, 88.3] (no infinities or subnormals).
 */
final class Exp {

    private static final float LOG2E = 1.44269504088896341f;
    // ln 2 split in two, so k * C1 is exact for the k that occur.
    private static final float C1 = 0.693359375f;
    private static final float C2 = -2.12194440e-4f;
    // Adding then subtracting 1.5 * 2^23 rounds a float to the nearest integer.
    private static final float ROUND = 12582912f;
    private static final int ROUND_BITS = Float.floatToRawIntBits(ROUND);
    private static final float LO = -87.3f;
    private static final float HI = 88.3f;
    private static final float P0 = 1.9875691500e-4f;
    private static final float P1 = 1.3981999507e-3f;
    private static final float P2 = 8.3334519073e-3f;
    private static final float P3 = 4.1665795894e-2f;
    private static final float P4 = 1.6666665459e-1f;
    private static final float P5 = 5.0000001201e-1f;

    private Exp() {}

    static float exp(float x) {
        x = Math.min(Math.max(x, LO), HI);
        float k = (x * LOG2E + ROUND) - ROUND;
        float r = Math.fma(k, -C1, x);
        r = Math.fma(k, -C2, r);
        float p = Math.fma(P0, r, P1);
        p = Math.fma(p, r, P2);
        p = Math.fma(p, r, P3);
        p = Math.fma(p, r, P4);
        p = Math.fma(p, r, P5);
        float y = Math.fma(p, r * r, r) + 1f;
        return y * Float.intBitsToFloat(((int) k + 127) << 23);
    }

    /** {@code dst[d + i] = exp(src[s + i] - shift)} for {@code i < n}; {@code src} and {@code dst} may be the same range. */
    static void expShifted(float[] src, int s, float shift, float[] dst, int d, int n) {
        exp(src, s, false, shift, dst, d, n);
    }

    /** {@code dst[d + i] = exp(-src[s + i])} for {@code i < n}; {@code src} and {@code dst} may be the same range. */
    static void expNegated(float[] src, int s, float[] dst, int d, int n) {
        exp(src, s, true, 0f, dst, d, n);
    }

    /**
     * Whole vectors, then the tail one value at a time. The polynomial is written out in the loop, not called as a
     * method taking and returning vectors: C2 inlines such a method only if it has not compiled it on its own first
     * (a compile-order race), and a vector crossing a call that is not inlined is a heap object, its operations the
     * Vector API's slow Java fallbacks (tens of times slower, and about a gigabyte a second of garbage).
     */
    private static void exp(float[] src, int s, boolean negate, float shift, float[] dst, int d, int n) {
        VectorSpecies<Float> sp = PackedMatrix.SPECIES;
        int lanes = sp.length();
        int i = 0;
        for (; i + lanes <= n; i += lanes) {
            FloatVector x = FloatVector.fromArray(sp, src, s + i);
            x = negate ? x.neg() : x.sub(shift);
            x = x.max(LO).min(HI);
            FloatVector shifted = x.mul(LOG2E).add(ROUND); // k + ROUND: k sits in the low mantissa bits
            FloatVector k = shifted.sub(ROUND);
            FloatVector r = k.fma(FloatVector.broadcast(sp, -C1), x);
            r = k.fma(FloatVector.broadcast(sp, -C2), r);
            FloatVector p = FloatVector.broadcast(sp, P0).fma(r, FloatVector.broadcast(sp, P1));
            p = p.fma(r, FloatVector.broadcast(sp, P2));
            p = p.fma(r, FloatVector.broadcast(sp, P3));
            p = p.fma(r, FloatVector.broadcast(sp, P4));
            p = p.fma(r, FloatVector.broadcast(sp, P5));
            FloatVector y = p.fma(r.mul(r), r).add(1f);
            // 2^k from k's bits in k + ROUND, not (int) k: JDK 17's C2 has no float-to-int vector cast, and one
            // op it cannot compile turns the whole loop into the Java fallback.
            IntVector bits = shifted.reinterpretAsInts().sub(ROUND_BITS - 127).lanewise(VectorOperators.LSHL, 23);
            y.mul(bits.reinterpretAsFloats()).intoArray(dst, d + i);
        }
        for (; i < n; i++) {
            float x = src[s + i];
            dst[d + i] = exp(negate ? -x : x - shift);
        }
    }
}
