package io.sluice.gpu.exec;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.FloatBuffer;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

/** The packed GEMM against a scalar fused multiply-add chain in column order: the same bits, tile or no tile. */
class GemmTest {

    private static final int L = PackedMatrix.L;

    private static float[] random(int n, SplittableRandom r) {
        float[] a = new float[n];
        for (int i = 0; i < n; i++) {
            a[i] = (float) (r.nextDouble() * 2 - 1);
        }
        return a;
    }

    /** {@code W x} for token {@code t}, row {@code o}, as the kernel must compute it: one fma chain over i in order. */
    private static float dot(float[] w, int cols, int o, float[] x, int x0) {
        float acc = 0f;
        for (int i = 0; i < cols; i++) {
            acc = Math.fma(w[o * cols + i], x[x0 + i], acc);
        }
        return acc;
    }

    @Test
    void everyTileShapeGivesTheBitsOfAnInOrderFmaChain() {
        SplittableRandom r = new SplittableRandom(3);
        // rows: whole groups, a partial last group (7 panels: 4 + 3), a partial last panel
        for (int rows : new int[] {4 * L, 7 * L, 7 * L - 5, 3}) {
            int cols = 37;
            float[] wf = random(rows * cols, r);
            PackedMatrix w = PackedMatrix.pack(FloatBuffer.wrap(wf), rows, cols);
            for (int n : new int[] {1, 2, 3, 4, 6, 7, 9}) { // every remainder after 4-token tiles
                int xs = cols + 3;
                float[] x = random(n * xs, r);
                int os = w.panels * L + L;
                for (boolean add : new boolean[] {false, true}) {
                    float[] before = random(n * os, r);
                    float[] out = before.clone();
                    // in two calls, as the executor's work units split it: groups [0, 1) and [1, ..)
                    int split = Math.min(w.panels, PackedMatrix.GROUP);
                    Gemm.matmul(w, x, xs, n, out, os, 0, split, add);
                    Gemm.matmul(w, x, xs, n, out, os, split, w.panels, add);
                    for (int t = 0; t < n; t++) {
                        for (int o = 0; o < rows; o++) {
                            float d = dot(wf, cols, o, x, t * xs);
                            float expected = add ? before[t * os + o] + d : d;
                            assertThat(out[t * os + o]).as("rows %d, n %d, add %s: out[%d, %d]", rows, n, add, t, o)
                                    .isEqualTo(expected);
                        }
                        for (int o = w.panels * L; o < os; o++) {
                            assertThat(out[t * os + o]).as("beyond the panels, untouched").isEqualTo(before[t * os + o]);
                        }
                    }
                }
            }
        }
    }

    @Test
    void rejectsARangeThatDoesNotStartAGroup() {
        PackedMatrix w = PackedMatrix.pack(FloatBuffer.wrap(new float[8 * L * 2]), 8 * L, 2);
        assertThatThrownBy(() -> Gemm.matmul(w, new float[2], 2, 1, new float[8 * L], 8 * L, 1, 8, false))
                .isInstanceOf(IllegalArgumentException.class);
    }
}
