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

    static FloatVector exp(FloatVector x) {
        VectorSpecies<Float> s = x.species();
        x = x.max(LO).min(HI);
        FloatVector k = x.mul(LOG2E).add(ROUND).sub(ROUND);
        FloatVector r = k.fma(FloatVector.broadcast(s, -C1), x);
        r = k.fma(FloatVector.broadcast(s, -C2), r);
        FloatVector p = FloatVector.broadcast(s, P0).fma(r, FloatVector.broadcast(s, P1));
        p = p.fma(r, FloatVector.broadcast(s, P2));
        p = p.fma(r, FloatVector.broadcast(s, P3));
        p = p.fma(r, FloatVector.broadcast(s, P4));
        p = p.fma(r, FloatVector.broadcast(s, P5));
        FloatVector y = p.fma(r.mul(r), r).add(1f);
        IntVector bits = ((IntVector) k.convert(VectorOperators.F2I, 0)).add(127).lanewise(VectorOperators.LSHL, 23);
        return y.mul(bits.reinterpretAsFloats());
    }
}
