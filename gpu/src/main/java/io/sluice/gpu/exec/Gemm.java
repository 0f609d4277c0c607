package io.sluice.gpu.exec;

import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorSpecies;

/**
 * {@code out[t, o] = sum_i W[o, i] * x[t, i]} over a {@link PackedMatrix}: the register-blocked kernel of the
 * CPU engine. A 4-token x 4-panel tile keeps 16 accumulators in registers; each step loads 4 weight vectors and
 * broadcasts 4 inputs for 16 fused multiply-adds, so the weights stream once per 4 tokens and compute, not
 * memory, bounds a large batch. Every output accumulates over {@code i} in order, whatever the tile or block, so
 * results do not depend on batch composition.
 *
 * <p>Output rows must be padded to whole panels ({@code outStride >= panels * L}): tiles store whole vectors, and
 * the padding lanes take the (zero-weight) results of the padding rows.
 */
final class Gemm {

    private static final VectorSpecies<Float> S = PackedMatrix.SPECIES;
    private static final int L = PackedMatrix.L;

    private Gemm() {
    }

    /**
     * Computes panels {@code [panelFrom, panelTo)} of the output for tokens {@code [0, n)}: {@code x} rows start
     * every {@code xStride} floats, {@code out} rows every {@code outStride} (padded to whole panels). With
     * {@code add}, the products are added to what {@code out} holds ({@code out += W x}: the residual connection; the
     * dot product is complete before it is added, so the bits are those of a separate add).
     */
    static void matmul(PackedMatrix w, float[] x, int xStride, int n, float[] out, int outStride,
            int panelFrom, int panelTo, boolean add) {
        if (outStride < w.panels * L) {
            throw new IllegalArgumentException("output rows of " + outStride + " floats do not hold " + w.panels
                    + " whole panels");
        }
        matmul(w, x, 0, xStride, n, out, 0, outStride, panelFrom, panelTo, add);
    }

    /**
     * As {@link #matmul(PackedMatrix, float[], int, int, float[], int, int, int, boolean)}, with token {@code t}'s
     * input at {@code x[xOffset + t * xStride]} and panel {@code p} of its output at
     * {@code out[outOffset + t * outStride + p * L]}: a negative {@code outOffset} of {@code -panelFrom * L} puts
     * just these panels in rows of {@code (panelTo - panelFrom) * L} floats, a scratch tile instead of a whole row.
     */
    static void matmul(PackedMatrix w, float[] x, int xOffset, int xStride, int n, float[] out, int outOffset,
            int outStride, int panelFrom, int panelTo, boolean add) {
        if (panelFrom % PackedMatrix.GROUP != 0 && panelFrom < panelTo) {
            throw new IllegalArgumentException("panel " + panelFrom + " does not start a group of " + PackedMatrix.GROUP);
        }
        if (outStride < (panelTo - panelFrom) * L) {
            throw new IllegalArgumentException("output rows of " + outStride + " floats do not hold panels "
                    + panelFrom + " to " + panelTo);
        }
        // Blocks of tokens outside, panel groups, then 4-token tiles: a block of inputs and a group of weights
        // (4 panels x cols) stay in L2 together while every tile of the block passes over the group. (Blocking the
        // columns as well, to reuse weights from L1, measured no faster here, nor did loads that touch the next group
        // ahead of its first tile: they stall retirement.)
        int block = tokenBlock(w.cols);
        for (int t0 = 0; t0 < n; t0 += block) {
            int t1 = Math.min(n, t0 + block);
            for (int p = panelFrom; p < panelTo; p += 4) {
                int t = t0;
                if (p + 4 <= panelTo) {
                    for (; t + 4 <= t1; t += 4) {
                        tile4x4(w, p, x, xOffset + t * xStride, xStride, out, outOffset + t * outStride, outStride,
                                add);
                    }
                    // the rest, 1 to 3 tokens, in one tile: a token per tile would load the weights again for each
                    int xt = xOffset + t * xStride;
                    int ot = outOffset + t * outStride;
                    if (t1 - t == 3) {
                        tile3x4(w, p, x, xt, xStride, out, ot, outStride, add);
                    } else if (t1 - t == 2) {
                        tile2x4(w, p, x, xt, xStride, out, ot, outStride, add);
                    } else if (t1 - t == 1) {
                        tile1x4(w, p, x, xt, out, ot, add);
                    }
                } else {
                    for (int q = p; q < panelTo; q++) {
                        for (t = t0; t + 4 <= t1; t += 4) {
                            tile4x1(w, q, x, xOffset + t * xStride, xStride, out, outOffset + t * outStride,
                                    outStride, add);
                        }
                        for (; t < t1; t++) {
                            tile1x1(w, q, x, xOffset + t * xStride, out, outOffset + t * outStride, add);
                        }
                    }
                }
            }
        }
    }

    /** Tokens per block: inputs of about 128 KB, a multiple of the 4-token tile. */
    static int tokenBlock(int cols) {
        return Math.max(4, Math.min(256, (128 * 1024 / (cols * Float.BYTES)) & ~3));
    }

    private static void tile4x4(PackedMatrix m, int p, float[] x, int x0, int xs, float[] out,
            int o0, int os, boolean add) {
        float[] w = m.data;
        int w0 = m.panelBase(p); // a whole group: its 4 panels' vectors of a column are adjacent
        int o1 = o0 + os;
        int o2 = o1 + os;
        int o3 = o2 + os;
        int col = p * L;
        FloatVector c00 = FloatVector.zero(S);
        FloatVector c01 = FloatVector.zero(S);
        FloatVector c02 = FloatVector.zero(S);
        FloatVector c03 = FloatVector.zero(S);
        FloatVector c10 = FloatVector.zero(S);
        FloatVector c11 = FloatVector.zero(S);
        FloatVector c12 = FloatVector.zero(S);
        FloatVector c13 = FloatVector.zero(S);
        FloatVector c20 = FloatVector.zero(S);
        FloatVector c21 = FloatVector.zero(S);
        FloatVector c22 = FloatVector.zero(S);
        FloatVector c23 = FloatVector.zero(S);
        FloatVector c30 = FloatVector.zero(S);
        FloatVector c31 = FloatVector.zero(S);
        FloatVector c32 = FloatVector.zero(S);
        FloatVector c33 = FloatVector.zero(S);
        int x1 = x0 + xs;
        int x2 = x1 + xs;
        int x3 = x2 + xs;
        for (int i = 0; i < m.cols; i++) {
            int wi = w0 + i * (4 * L);
            FloatVector a0 = FloatVector.fromArray(S, w, wi);
            FloatVector a1 = FloatVector.fromArray(S, w, wi + L);
            FloatVector a2 = FloatVector.fromArray(S, w, wi + 2 * L);
            FloatVector a3 = FloatVector.fromArray(S, w, wi + 3 * L);
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
        // Two paths, no vector reassigned in a branch: JDK 17's C2 boxes a vector that merges two values.
        if (add) {
            c00.add(FloatVector.fromArray(S, out, o0 + col)).intoArray(out, o0 + col);
            c01.add(FloatVector.fromArray(S, out, o0 + col + L)).intoArray(out, o0 + col + L);
            c02.add(FloatVector.fromArray(S, out, o0 + col + 2 * L)).intoArray(out, o0 + col + 2 * L);
            c03.add(FloatVector.fromArray(S, out, o0 + col + 3 * L)).intoArray(out, o0 + col + 3 * L);
            c10.add(FloatVector.fromArray(S, out, o1 + col)).intoArray(out, o1 + col);
            c11.add(FloatVector.fromArray(S, out, o1 + col + L)).intoArray(out, o1 + col + L);
            c12.add(FloatVector.fromArray(S, out, o1 + col + 2 * L)).intoArray(out, o1 + col + 2 * L);
            c13.add(FloatVector.fromArray(S, out, o1 + col + 3 * L)).intoArray(out, o1 + col + 3 * L);
            c20.add(FloatVector.fromArray(S, out, o2 + col)).intoArray(out, o2 + col);
            c21.add(FloatVector.fromArray(S, out, o2 + col + L)).intoArray(out, o2 + col + L);
            c22.add(FloatVector.fromArray(S, out, o2 + col + 2 * L)).intoArray(out, o2 + col + 2 * L);
            c23.add(FloatVector.fromArray(S, out, o2 + col + 3 * L)).intoArray(out, o2 + col + 3 * L);
            c30.add(FloatVector.fromArray(S, out, o3 + col)).intoArray(out, o3 + col);
            c31.add(FloatVector.fromArray(S, out, o3 + col + L)).intoArray(out, o3 + col + L);
            c32.add(FloatVector.fromArray(S, out, o3 + col + 2 * L)).intoArray(out, o3 + col + 2 * L);
            c33.add(FloatVector.fromArray(S, out, o3 + col + 3 * L)).intoArray(out, o3 + col + 3 * L);
        } else {
            c00.intoArray(out, o0 + col);
            c01.intoArray(out, o0 + col + L);
            c02.intoArray(out, o0 + col + 2 * L);
            c03.intoArray(out, o0 + col + 3 * L);
            c10.intoArray(out, o1 + col);
            c11.intoArray(out, o1 + col + L);
            c12.intoArray(out, o1 + col + 2 * L);
            c13.intoArray(out, o1 + col + 3 * L);
            c20.intoArray(out, o2 + col);
            c21.intoArray(out, o2 + col + L);
            c22.intoArray(out, o2 + col + 2 * L);
            c23.intoArray(out, o2 + col + 3 * L);
            c30.intoArray(out, o3 + col);
            c31.intoArray(out, o3 + col + L);
            c32.intoArray(out, o3 + col + 2 * L);
            c33.intoArray(out, o3 + col + 3 * L);
        }
    }

    /** 3 tokens x 4 panels: what is left of a token block after its 4-token tiles, weights loaded once. */
    private static void tile3x4(PackedMatrix m, int p, float[] x, int x0, int xs, float[] out, int o0, int os,
            boolean add) {
        float[] w = m.data;
        int w0 = m.panelBase(p);
        int col = p * L;
        FloatVector c00 = FloatVector.zero(S);
        FloatVector c01 = FloatVector.zero(S);
        FloatVector c02 = FloatVector.zero(S);
        FloatVector c03 = FloatVector.zero(S);
        FloatVector c10 = FloatVector.zero(S);
        FloatVector c11 = FloatVector.zero(S);
        FloatVector c12 = FloatVector.zero(S);
        FloatVector c13 = FloatVector.zero(S);
        FloatVector c20 = FloatVector.zero(S);
        FloatVector c21 = FloatVector.zero(S);
        FloatVector c22 = FloatVector.zero(S);
        FloatVector c23 = FloatVector.zero(S);
        int x1 = x0 + xs;
        int x2 = x1 + xs;
        for (int i = 0; i < m.cols; i++) {
            int wi = w0 + i * (4 * L);
            FloatVector a0 = FloatVector.fromArray(S, w, wi);
            FloatVector a1 = FloatVector.fromArray(S, w, wi + L);
            FloatVector a2 = FloatVector.fromArray(S, w, wi + 2 * L);
            FloatVector a3 = FloatVector.fromArray(S, w, wi + 3 * L);
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
        }
        int d0 = o0 + col;
        int d1 = d0 + os;
        int d2 = d1 + os;
        // Two paths, no vector reassigned in a branch: JDK 17's C2 boxes a vector that merges two values.
        if (add) {
            c00.add(FloatVector.fromArray(S, out, d0)).intoArray(out, d0);
            c01.add(FloatVector.fromArray(S, out, d0 + L)).intoArray(out, d0 + L);
            c02.add(FloatVector.fromArray(S, out, d0 + 2 * L)).intoArray(out, d0 + 2 * L);
            c03.add(FloatVector.fromArray(S, out, d0 + 3 * L)).intoArray(out, d0 + 3 * L);
            c10.add(FloatVector.fromArray(S, out, d1)).intoArray(out, d1);
            c11.add(FloatVector.fromArray(S, out, d1 + L)).intoArray(out, d1 + L);
            c12.add(FloatVector.fromArray(S, out, d1 + 2 * L)).intoArray(out, d1 + 2 * L);
            c13.add(FloatVector.fromArray(S, out, d1 + 3 * L)).intoArray(out, d1 + 3 * L);
            c20.add(FloatVector.fromArray(S, out, d2)).intoArray(out, d2);
            c21.add(FloatVector.fromArray(S, out, d2 + L)).intoArray(out, d2 + L);
            c22.add(FloatVector.fromArray(S, out, d2 + 2 * L)).intoArray(out, d2 + 2 * L);
            c23.add(FloatVector.fromArray(S, out, d2 + 3 * L)).intoArray(out, d2 + 3 * L);
        } else {
            c00.intoArray(out, d0);
            c01.intoArray(out, d0 + L);
            c02.intoArray(out, d0 + 2 * L);
            c03.intoArray(out, d0 + 3 * L);
            c10.intoArray(out, d1);
            c11.intoArray(out, d1 + L);
            c12.intoArray(out, d1 + 2 * L);
            c13.intoArray(out, d1 + 3 * L);
            c20.intoArray(out, d2);
            c21.intoArray(out, d2 + L);
            c22.intoArray(out, d2 + 2 * L);
            c23.intoArray(out, d2 + 3 * L);
        }
    }

    /** 2 tokens x 4 panels: what is left of a token block after its 4-token tiles, weights loaded once. */
    private static void tile2x4(PackedMatrix m, int p, float[] x, int x0, int xs, float[] out, int o0, int os,
            boolean add) {
        float[] w = m.data;
        int w0 = m.panelBase(p);
        int col = p * L;
        FloatVector c00 = FloatVector.zero(S);
        FloatVector c01 = FloatVector.zero(S);
        FloatVector c02 = FloatVector.zero(S);
        FloatVector c03 = FloatVector.zero(S);
        FloatVector c10 = FloatVector.zero(S);
        FloatVector c11 = FloatVector.zero(S);
        FloatVector c12 = FloatVector.zero(S);
        FloatVector c13 = FloatVector.zero(S);
        int x1 = x0 + xs;
        for (int i = 0; i < m.cols; i++) {
            int wi = w0 + i * (4 * L);
            FloatVector a0 = FloatVector.fromArray(S, w, wi);
            FloatVector a1 = FloatVector.fromArray(S, w, wi + L);
            FloatVector a2 = FloatVector.fromArray(S, w, wi + 2 * L);
            FloatVector a3 = FloatVector.fromArray(S, w, wi + 3 * L);
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
        }
        int d0 = o0 + col;
        int d1 = d0 + os;
        // Two paths, no vector reassigned in a branch: JDK 17's C2 boxes a vector that merges two values.
        if (add) {
            c00.add(FloatVector.fromArray(S, out, d0)).intoArray(out, d0);
            c01.add(FloatVector.fromArray(S, out, d0 + L)).intoArray(out, d0 + L);
            c02.add(FloatVector.fromArray(S, out, d0 + 2 * L)).intoArray(out, d0 + 2 * L);
            c03.add(FloatVector.fromArray(S, out, d0 + 3 * L)).intoArray(out, d0 + 3 * L);
            c10.add(FloatVector.fromArray(S, out, d1)).intoArray(out, d1);
            c11.add(FloatVector.fromArray(S, out, d1 + L)).intoArray(out, d1 + L);
            c12.add(FloatVector.fromArray(S, out, d1 + 2 * L)).intoArray(out, d1 + 2 * L);
            c13.add(FloatVector.fromArray(S, out, d1 + 3 * L)).intoArray(out, d1 + 3 * L);
        } else {
            c00.intoArray(out, d0);
            c01.intoArray(out, d0 + L);
            c02.intoArray(out, d0 + 2 * L);
            c03.intoArray(out, d0 + 3 * L);
            c10.intoArray(out, d1);
            c11.intoArray(out, d1 + L);
            c12.intoArray(out, d1 + 2 * L);
            c13.intoArray(out, d1 + 3 * L);
        }
    }

    private static void tile1x4(PackedMatrix m, int p, float[] x, int x0, float[] out, int o0, boolean add) {
        float[] w = m.data;
        int w0 = m.panelBase(p);
        int col = o0 + p * L;
        FloatVector c0 = FloatVector.zero(S);
        FloatVector c1 = FloatVector.zero(S);
        FloatVector c2 = FloatVector.zero(S);
        FloatVector c3 = FloatVector.zero(S);
        for (int i = 0; i < m.cols; i++) {
            int wi = w0 + i * (4 * L);
            FloatVector b = FloatVector.broadcast(S, x[x0 + i]);
            c0 = FloatVector.fromArray(S, w, wi).fma(b, c0);
            c1 = FloatVector.fromArray(S, w, wi + L).fma(b, c1);
            c2 = FloatVector.fromArray(S, w, wi + 2 * L).fma(b, c2);
            c3 = FloatVector.fromArray(S, w, wi + 3 * L).fma(b, c3);
        }
        // Two paths, no vector reassigned in a branch: JDK 17's C2 boxes a vector that merges two values.
        if (add) {
            c0.add(FloatVector.fromArray(S, out, col)).intoArray(out, col);
            c1.add(FloatVector.fromArray(S, out, col + L)).intoArray(out, col + L);
            c2.add(FloatVector.fromArray(S, out, col + 2 * L)).intoArray(out, col + 2 * L);
            c3.add(FloatVector.fromArray(S, out, col + 3 * L)).intoArray(out, col + 3 * L);
        } else {
            c0.intoArray(out, col);
            c1.intoArray(out, col + L);
            c2.intoArray(out, col + 2 * L);
            c3.intoArray(out, col + 3 * L);
        }
    }

    private static void tile4x1(PackedMatrix m, int p, float[] x, int x0, int xs, float[] out,
            int o0, int os, boolean add) {
        float[] w = m.data;
        int w0 = m.panelBase(p);
        int step = m.columnStride(p);
        int col = p * L;
        FloatVector c0 = FloatVector.zero(S);
        FloatVector c1 = FloatVector.zero(S);
        FloatVector c2 = FloatVector.zero(S);
        FloatVector c3 = FloatVector.zero(S);
        int x1 = x0 + xs;
        int x2 = x1 + xs;
        int x3 = x2 + xs;
        for (int i = 0; i < m.cols; i++) {
            FloatVector a = FloatVector.fromArray(S, w, w0 + i * step);
            c0 = a.fma(FloatVector.broadcast(S, x[x0 + i]), c0);
            c1 = a.fma(FloatVector.broadcast(S, x[x1 + i]), c1);
            c2 = a.fma(FloatVector.broadcast(S, x[x2 + i]), c2);
            c3 = a.fma(FloatVector.broadcast(S, x[x3 + i]), c3);
        }
        // Two paths, no vector reassigned in a branch: JDK 17's C2 boxes a vector that merges two values.
        if (add) {
            c0.add(FloatVector.fromArray(S, out, o0 + col)).intoArray(out, o0 + col);
            c1.add(FloatVector.fromArray(S, out, o0 + os + col)).intoArray(out, o0 + os + col);
            c2.add(FloatVector.fromArray(S, out, o0 + 2 * os + col)).intoArray(out, o0 + 2 * os + col);
            c3.add(FloatVector.fromArray(S, out, o0 + 3 * os + col)).intoArray(out, o0 + 3 * os + col);
        } else {
            c0.intoArray(out, o0 + col);
            c1.intoArray(out, o0 + os + col);
            c2.intoArray(out, o0 + 2 * os + col);
            c3.intoArray(out, o0 + 3 * os + col);
        }
    }

    private static void tile1x1(PackedMatrix m, int p, float[] x, int x0, float[] out, int o0, boolean add) {
        float[] w = m.data;
        int w0 = m.panelBase(p);
        int step = m.columnStride(p);
        int col = o0 + p * L;
        FloatVector c = FloatVector.zero(S);
        for (int i = 0; i < m.cols; i++) {
            c = FloatVector.fromArray(S, w, w0 + i * step).fma(FloatVector.broadcast(S, x[x0 + i]), c);
        }
        // Two paths, no vector reassigned in a branch: JDK 17's C2 boxes a vector that merges two values.
        if (add) {
            c.add(FloatVector.fromArray(S, out, col)).intoArray(out, col);
        } else {
            c.intoArray(out, col);
        }
    }
}
