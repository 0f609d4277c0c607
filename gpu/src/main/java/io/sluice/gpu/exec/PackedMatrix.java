package io.sluice.gpu.exec;

import java.nio.FloatBuffer;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorSpecies;

/**
 * A weight matrix {@code W[rows, cols]} repacked for {@link Gemm}: rows in panels of {@code L} (the vector
 * length), panels in groups of {@link #GROUP} (the register tile's width), each group stored column by column, so
 * one vector load gives column {@code i} of {@code L} rows, and the {@code GROUP} vectors a tile needs per column
 * are adjacent.
 *
 * <pre>
 *   data: [groups][cols][width][L]   width = GROUP, or what is left for the last group
 *         data[g * cols * GROUP * L + (i * width + j) * L + r] = W[(g * GROUP + j) * L + r][i]  (rows past the end: 0)
 * </pre>
 *
 * A matrix-vector or matrix-matrix product then needs no horizontal sums: each output lane accumulates its own
 * row's dot product over {@code i} in order. A group is one contiguous run of memory, read front to back by its
 * tiles: for a matrix that comes from DRAM (the classifier) one stream per group instead of one per panel, which
 * the hardware prefetcher follows better.
 */
final class PackedMatrix {

    static final VectorSpecies<Float> SPECIES = FloatVector.SPECIES_PREFERRED;
    static final int L = SPECIES.length();
    /** Panels per group: the 4-panel register tile of {@link Gemm}. */
    static final int GROUP = 4;

    final int rows;
    final int cols;
    final int panels;
    final float[] data;

    private PackedMatrix(int rows, int cols) {
        this.rows = rows;
        this.cols = cols;
        this.panels = (rows + L - 1) / L;
        long size = (long) panels * cols * L;
        if (size > Integer.MAX_VALUE - 16) {
            throw new IllegalArgumentException("a matrix of " + rows + " x " + cols + " is too large for one Java array");
        }
        this.data = new float[(int) size];
    }

    /** Index of column 0, lane 0 of {@code panel}. */
    int panelBase(int panel) {
        int g = panel / GROUP;
        return g * cols * GROUP * L + (panel - g * GROUP) * L;
    }

    /** Floats from one column of {@code panel} to the next: the width of its group, in vectors. */
    int columnStride(int panel) {
        int g = panel / GROUP;
        return Math.min(GROUP, panels - g * GROUP) * L;
    }

    /** Packs the row-major {@code [rows, cols]} matrix at the start of {@code w}. */
    static PackedMatrix pack(FloatBuffer w, int rows, int cols) {
        PackedMatrix m = new PackedMatrix(rows, cols);
        float[] row = new float[cols];
        for (int r = 0; r < rows; r++) {
            w.get(r * cols, row, 0, cols);
            int panel = r / L;
            int base = m.panelBase(panel) + r % L;
            int step = m.columnStride(panel);
            for (int i = 0; i < cols; i++) {
                m.data[base + i * step] = row[i];
            }
        }
        return m;
    }
}
