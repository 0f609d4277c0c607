package io.sluice.gpu.exec;

import java.nio.FloatBuffer;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorSpecies;

/**
 * A weight matrix {@code W[rows, cols]} repacked for {@link Gemm}: rows in panels of {@code L} (the vector
 * length), each panel stored column by column, so one vector load gives column {@code i} of {@code L} rows.
 *
 * <pre>
 *   data: [panels][cols][L]      data[(p * cols + i) * L + r] = W[p * L + r][i]   (rows past the end are 0)
 * </pre>
 *
 * A matrix-vector or matrix-matrix product then needs no horizontal sums: each output lane accumulates its own
 * row's dot product over {@code i} in order.
 */
final class PackedMatrix {

    static final VectorSpecies<Float> SPECIES = FloatVector.SPECIES_PREFERRED;
    static final int L = SPECIES.length();

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

    /** Packs the row-major {@code [rows, cols]} matrix at the start of {@code w}. */
    static PackedMatrix pack(FloatBuffer w, int rows, int cols) {
        PackedMatrix m = new PackedMatrix(rows, cols);
        float[] row = new float[cols];
        for (int r = 0; r < rows; r++) {
            w.get(r * cols, row, 0, cols);
            int base = (r / L) * cols * L + r % L;
            for (int i = 0; i < cols; i++) {
                m.data[base + i * L] = row[i];
            }
        }
        return m;
    }
}
