package io.sluice.gpu.exec;

import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorSpecies;

/**
 * {@code out[t, o] = sum_i W[o, i] * x[t, i]} over a {@link PackedMatrix}: the register-blocked kernel of the
 * CPU engine. A 4-token x 4-panel tile keeps 16 accumulators in registers; each step loads 4 weight vectors and
 * broadcasts 4 inputs for 16 fused multiply-adds, so the weights stream once per 4 tokens and compute, not
 * memory, bounds a large batch. Every output accumulates over {@code i} in order, whatever the tile, so results do
 * not depend on batch composition.
 */
final class Gemm {

    private static final VectorSpecies<Float> S = PackedMatrix.SPECIES;
    private static final int L = PackedMatrix.L;

    private Gemm() {
    }

    /**
     * Computes panels {@code [panelFrom, panelTo)} of the output for tokens {@code [0, n)}: {@code x} rows start
     * every {@code xStride} floats, {@code out} rows every {@code outStride}.
     */
    static void matmul(PackedMatrix w, float[] x, int xStride, int n, float[] out, int outStride,
            int panelFrom, int panelTo) {
        // Blocks of tokens outside, panel groups, then 4-token tiles: a block of inputs and a group of weights
        // (4 panels x cols) stay in L2 together while every tile of the block passes over the group.
        int block = tokenBlock(w.cols);
        for (int t0 = 0; t0 < n; t0 += block) {
            int t1 = Math.min(n, t0 + block);
            int p = panelFrom;
            for (; p + 4 <= panelTo; p += 4) {
                int t = t0;
                for (; t + 4 <= t1; t += 4) {
                    tile4x4(w, p, x, t * xStride, xStride, out, t * outStride, outStride);
                }
                for (; t < t1; t++) {
                    tile1x4(w, p, x, t * xStride, out, t * outStride);
                }
            }
            for (; p < panelTo; p++) {
                int t = t0;
                for (; t + 4 <= t1; t += 4) {
                    tile4x1(w, p, x, t * xStride, xStride, out, t * outStride, outStride);
                }
                for (; t < t1; t++) {
                    tile1x1(w, p, x, t * xStride, out, t * outStride);
                }
            }
        }
    }

    /** Tokens per block: inputs of about 128 KB, a multiple of the 4-token tile. */
    static int tokenBlock(int cols) {
        return Math.max(4, Math.min(256, (128 * 1024 / (cols * Float.BYTES)) & ~3));
    }

    private static void tile4x4(PackedMatrix m, int p, float[] x, int x0, int xs, float[] out, int o0, int os) {
        float[] w = m.data;
        int cols = m.cols;
        int ps = cols * L; // floats between consecutive panels
        int w0 = p * ps;
        FloatVector c00 = FloatVector.zero(S), c01 = c00, c02 = c00, c03 = c00;
        FloatVector c10 = c00, c11 = c00, c12 = c00, c13 = c00;
        FloatVector c20 = c00, c21 = c00, c22 = c00, c23 = c00;
        FloatVector c30 = c00, c31 = c00, c32 = c00, c33 = c00;
        int x1 = x0 + xs;
        int x2 = x1 + xs;
        int x3 = x2 + xs;
        for (int i = 0; i < cols; i++) {
            int wi = w0 + i * L;
            FloatVector a0 = FloatVector.fromArray(S, w, wi);
            FloatVector a1 = FloatVector.fromArray(S, w, wi + ps);
            FloatVector a2 = FloatVector.fromArray(S, w, wi + 2 * ps);
            FloatVector a3 = FloatVector.fromArray(S, w, wi + 3 * ps);
            FloatVector b = FloatVector.broadcast(S, x[x0 + i]);
            c00 = a0.fma(b, c00);
            c01 = a1.fma(b, c01);
            c02 = a2.fma(b, c02);
            c03 = a3.fma(b, c03);
            b = FloatVector.broadcast(S, x[x1 + i]);
            c10 = a0.fma(b, c10);
            c11 = a1.fma(b, c11);
            c12 = a2.fma(b, c12);
            c13 = a3.fma(b, c13);
            b = FloatVector.broadcast(S, x[x2 + i]);
            c20 = a0.fma(b, c20);
            c21 = a1.fma(b, c21);
            c22 = a2.fma(b, c22);
            c23 = a3.fma(b, c23);
            b = FloatVector.broadcast(S, x[x3 + i]);
            c30 = a0.fma(b, c30);
            c31 = a1.fma(b, c31);
            c32 = a2.fma(b, c32);
            c33 = a3.fma(b, c33);
        }
        int rows = m.rows;
        int col = p * L;
        store(c00, out, o0 + col, rows - col);
        store(c01, out, o0 + col + L, rows - col - L);
        store(c02, out, o0 + col + 2 * L, rows - col - 2 * L);
        store(c03, out, o0 + col + 3 * L, rows - col - 3 * L);
        o0 += os;
        store(c10, out, o0 + col, rows - col);
        store(c11, out, o0 + col + L, rows - col - L);
        store(c12, out, o0 + col + 2 * L, rows - col - 2 * L);
        store(c13, out, o0 + col + 3 * L, rows - col - 3 * L);
        o0 += os;
        store(c20, out, o0 + col, rows - col);
        store(c21, out, o0 + col + L, rows - col - L);
        store(c22, out, o0 + col + 2 * L, rows - col - 2 * L);
        store(c23, out, o0 + col + 3 * L, rows - col - 3 * L);
        o0 += os;
        store(c30, out, o0 + col, rows - col);
        store(c31, out, o0 + col + L, rows - col - L);
        store(c32, out, o0 + col + 2 * L, rows - col - 2 * L);
        store(c33, out, o0 + col + 3 * L, rows - col - 3 * L);
    }

    private static void tile1x4(PackedMatrix m, int p, float[] x, int x0, float[] out, int o0) {
        float[] w = m.data;
        int cols = m.cols;
        int ps = cols * L;
        int w0 = p * ps;
        FloatVector c0 = FloatVector.zero(S), c1 = c0, c2 = c0, c3 = c0;
        for (int i = 0; i < cols; i++) {
            int wi = w0 + i * L;
            FloatVector b = FloatVector.broadcast(S, x[x0 + i]);
            c0 = FloatVector.fromArray(S, w, wi).fma(b, c0);
            c1 = FloatVector.fromArray(S, w, wi + ps).fma(b, c1);
            c2 = FloatVector.fromArray(S, w, wi + 2 * ps).fma(b, c2);
            c3 = FloatVector.fromArray(S, w, wi + 3 * ps).fma(b, c3);
        }
        int rows = m.rows;
        int col = p * L;
        store(c0, out, o0 + col, rows - col);
        store(c1, out, o0 + col + L, rows - col - L);
        store(c2, out, o0 + col + 2 * L, rows - col - 2 * L);
        store(c3, out, o0 + col + 3 * L, rows - col - 3 * L);
    }

    private static void tile4x1(PackedMatrix m, int p, float[] x, int x0, int xs, float[] out, int o0, int os) {
        float[] w = m.data;
        int cols = m.cols;
        int w0 = p * cols * L;
        FloatVector c0 = FloatVector.zero(S), c1 = c0, c2 = c0, c3 = c0;
        int x1 = x0 + xs;
        int x2 = x1 + xs;
        int x3 = x2 + xs;
        for (int i = 0; i < cols; i++) {
            FloatVector a = FloatVector.fromArray(S, w, w0 + i * L);
            c0 = a.fma(FloatVector.broadcast(S, x[x0 + i]), c0);
            c1 = a.fma(FloatVector.broadcast(S, x[x1 + i]), c1);
            c2 = a.fma(FloatVector.broadcast(S, x[x2 + i]), c2);
            c3 = a.fma(FloatVector.broadcast(S, x[x3 + i]), c3);
        }
        int valid = m.rows - p * L;
        int col = p * L;
        store(c0, out, o0 + col, valid);
        store(c1, out, o0 + os + col, valid);
        store(c2, out, o0 + 2 * os + col, valid);
        store(c3, out, o0 + 3 * os + col, valid);
    }

    private static void tile1x1(PackedMatrix m, int p, float[] x, int x0, float[] out, int o0) {
        float[] w = m.data;
        int cols = m.cols;
        int w0 = p * cols * L;
        FloatVector c = FloatVector.zero(S);
        for (int i = 0; i < cols; i++) {
            c = FloatVector.fromArray(S, w, w0 + i * L).fma(FloatVector.broadcast(S, x[x0 + i]), c);
        }
        store(c, out, o0 + p * L, m.rows - p * L);
    }

    /**
     * Stores the first {@code valid} lanes of {@code v} (all of them when {@code valid >= L}). Kept this small on
     * purpose: inlined 16 times into the 4x4 tile, anything more exhausts C2's inlining budget and the vector
     * operations fall back to (boxed, 100x slower) Java code.
     */
    private static void store(FloatVector v, float[] out, int at, int valid) {
        if (valid >= L) {
            v.intoArray(out, at);
        } else if (valid > 0) {
            v.intoArray(out, at, S.indexInRange(0, valid));
        }
    }
}
