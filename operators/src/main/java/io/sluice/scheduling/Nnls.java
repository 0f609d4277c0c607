package io.sluice.scheduling;

import java.util.Arrays;

/**
 * Non-negative least squares (Lawson and Hanson's active-set method) on the normal equations, for
 * the handful of latency-model coefficients. Columns are scaled to unit norm first: the features
 * range from 1 to sums of squared chunk lengths (~1e10), and scaling keeps the solves well
 * conditioned without changing the sign constraint.
 */
final class Nnls {

    private Nnls() {
    }

    /**
     * Solves min |A x - b|^2 + rho * sum_j |a_j|^2 (x_j - prior_j)^2 subject to x >= 0, where a_j is
     * column j. {@code rows[i]} is row i of A. A column that is all zero keeps its prior value.
     */
    static double[] solve(double[][] rows, double[] b, double[] prior, double rho) {
        int n = prior.length;
        double[][] ata = new double[n][n];
        double[] atb = new double[n];
        boolean[] live = new boolean[n];
        for (int i = 0; i < rows.length; i++) {
            double[] row = rows[i];
            for (int j = 0; j < n; j++) {
                if (row[j] == 0) {
                    continue;
                }
                live[j] = true;
                atb[j] += row[j] * b[i];
                for (int k = 0; k < n; k++) {
                    ata[j][k] += row[j] * row[k];
                }
            }
        }
        return solveGram(ata, atb, live, prior, rho);
    }

    /**
     * The same problem given its normal-equation sums: {@code ata} = A^T A (symmetric bit for bit, as
     * sums of the same products are), {@code atb} = A^T b, and
     * {@code live[j]} true when column j has a nonzero entry (a column that has none keeps its prior
     * value; the caller knows this exactly, where a diagonal that sums and subtracts may not be 0).
     * The inputs are not modified.
     */
    static double[] solveGram(double[][] ata, double[] atb, boolean[] live, double[] prior, double rho) {
        return solveGram(ata, atb, live, prior, rho, new Workspace(prior.length));
    }

    /**
     * Scratch arrays for {@link #solveGram(double[][], double[], boolean[], double[], double, Workspace)}:
     * an online refit runs every few batches, and allocating a dozen arrays (two of them
     * two-dimensional, which the JIT allocates through the runtime) per solve cost more than the solve.
     */
    static final class Workspace {
        final int n;
        final double[] norm;
        final boolean[] use;
        final double[][] g;
        final double[] h;
        final double[] x;
        final boolean[] passive;
        final double[] w;
        final int[] idx;
        final double[][] l;
        final double[] t;
        final double[] z;
        final double[] result;
        // The rows of l that hold the factor of g over factorIdx[0, factorRows) with factorJitter:
        // the active set changes by one column at a time, and the rows before it stay the same.
        final int[] factorIdx;
        int factorRows;
        double factorJitter;

        Workspace(int n) {
            this.n = n;
            norm = new double[n];
            use = new boolean[n];
            g = new double[n][n];
            h = new double[n];
            x = new double[n];
            passive = new boolean[n];
            w = new double[n];
            idx = new int[n];
            l = new double[n][n];
            t = new double[n];
            z = new double[n];
            result = new double[n];
            factorIdx = new int[n];
        }
    }

    /** The same, in {@code ws}; the answer is {@code ws.result}, valid until the next solve in {@code ws}. */
    static double[] solveGram(double[][] ata, double[] atb, boolean[] live, double[] prior, double rho, Workspace ws) {
        int n = prior.length;
        if (ws.n != n) {
            throw new IllegalArgumentException("workspace for " + ws.n + " unknowns, problem has " + n);
        }
        double[] norm = ws.norm;
        boolean[] use = ws.use;
        for (int j = 0; j < n; j++) {
            norm[j] = Math.sqrt(Math.max(0, ata[j][j]));
            use[j] = live[j] && norm[j] > 0;
        }
        // Normal equations in scaled space: G = S A^T A S, h = S A^T b, with S = diag(1/norm).
        double[][] g = ws.g;
        double[] h = ws.h;
        // Only the entries of used columns are set: nothing reads the others (the passive set and the
        // columns the gradient looks at are used ones), so they are not cleared either. h is: its
        // largest entry sets the tolerance.
        Arrays.fill(h, 0);
        for (int j = 0; j < n; j++) {
            if (!use[j]) {
                continue;
            }
            h[j] = atb[j] / norm[j];
            // A^T A is symmetric and the product of the norms commutes, so g[k][j] is g[j][k] bit for
            // bit: one division per pair. (A caller's ata must be exactly symmetric, as sums of the
            // same products are.)
            for (int k = j; k < n; k++) {
                if (use[k]) {
                    g[j][k] = ata[j][k] / (norm[j] * norm[k]);
                    g[k][j] = g[j][k];
                }
            }
            // Ridge toward the prior, in scaled units (the prior of y_j = x_j * norm_j).
            g[j][j] += rho;
            h[j] += rho * Math.max(0, prior[j]) * norm[j];
        }
        double[] y = solveNormal(g, h, use, ws);
        double[] x = ws.result;
        for (int j = 0; j < n; j++) {
            x[j] = use[j] ? y[j] / norm[j] : Math.max(0, prior[j]);
        }
        return x;
    }

    /** Lawson-Hanson on G y = h, y >= 0, over the live columns, in {@code ws}; the answer is {@code ws.x}. */
    private static double[] solveNormal(double[][] g, double[] h, boolean[] live, Workspace ws) {
        int n = h.length;
        double[] x = ws.x;
        boolean[] passive = ws.passive;
        double[] w = ws.w;
        Arrays.fill(x, 0);
        Arrays.fill(passive, false);
        ws.factorRows = 0; // a new g
        double tol = 1e-12 * (1 + maxAbs(h));
        for (int outer = 0; outer < 3 * n + 10; outer++) {
            gradient(g, h, x, live, passive, w);
            int best = -1;
            for (int j = 0; j < n; j++) {
                if (live[j] && !passive[j] && w[j] > tol && (best < 0 || w[j] > w[best])) {
                    best = j;
                }
            }
            if (best < 0) {
                break;
            }
            passive[best] = true;
            for (int inner = 0; inner < 3 * n + 10; inner++) {
                double[] z = solvePassive(g, h, passive, ws);
                boolean allPositive = true;
                for (int j = 0; j < n; j++) {
                    if (passive[j] && z[j] <= 0) {
                        allPositive = false;
                        break;
                    }
                }
                if (allPositive) {
                    System.arraycopy(z, 0, x, 0, n);
                    break;
                }
                double alpha = Double.POSITIVE_INFINITY;
                for (int j = 0; j < n; j++) {
                    if (passive[j] && z[j] <= 0) {
                        double denom = x[j] - z[j];
                        alpha = Math.min(alpha, denom > 0 ? x[j] / denom : 0.0);
                    }
                }
                for (int j = 0; j < n; j++) {
                    x[j] += alpha * (z[j] - x[j]);
                    if (passive[j] && x[j] <= tol) {
                        passive[j] = false;
                        x[j] = 0;
                    }
                }
            }
        }
        return x;
    }

    /**
     * w = h - G x, in the entries the search for the next column reads: the live columns outside the
     * passive set (the others are left as they were). Off the passive set x is exactly 0, so each term
     * left out is a zero: subtracting it changes at most the sign of a zero sum, which the comparisons
     * of w with the tolerance and with each other do not see. A refit runs this every outer step, and
     * most of the 10x10 products were of those zeros.
     */
    private static void gradient(double[][] g, double[] h, double[] x, boolean[] live, boolean[] passive, double[] w) {
        for (int j = 0; j < h.length; j++) {
            if (!live[j] || passive[j]) {
                continue;
            }
            double[] row = g[j];
            double s = h[j];
            for (int k = 0; k < h.length; k++) {
                if (passive[k]) {
                    s -= row[k] * x[k];
                }
            }
            w[j] = s;
        }
    }

    /** Unconstrained solve of G_PP z_P = h_P by Cholesky, z zero off P; the answer is {@code ws.z}. */
    private static double[] solvePassive(double[][] g, double[] h, boolean[] passive, Workspace ws) {
        int n = h.length;
        int[] idx = ws.idx;
        int m = 0;
        for (int j = 0; j < n; j++) {
            if (passive[j]) {
                idx[m++] = j;
            }
        }
        double[][] l = ws.l;
        double jitter = 0;
        for (int attempt = 0; attempt < 8; attempt++) {
            if (cholesky(g, idx, m, l, jitter, ws)) {
                break;
            }
            jitter = jitter == 0 ? 1e-12 : jitter * 100;
        }
        double[] t = ws.t;
        for (int i = 0; i < m; i++) {
            double s = h[idx[i]];
            for (int k = 0; k < i; k++) {
                s -= l[i][k] * t[k];
            }
            t[i] = s / l[i][i];
        }
        for (int i = m - 1; i >= 0; i--) {
            double s = t[i];
            for (int k = i + 1; k < m; k++) {
                s -= l[k][i] * t[k];
            }
            t[i] = s / l[i][i];
        }
        double[] z = ws.z;
        Arrays.fill(z, 0);
        for (int i = 0; i < m; i++) {
            z[idx[i]] = t[i];
        }
        return z;
    }

    /**
     * Cholesky factor of g over the columns {@code idx[0, m)} (plus {@code jitter} on the diagonal)
     * into {@code l}. Row i of the factor depends only on the columns idx[0..i] and the jitter, so the
     * rows a previous call left for the same leading columns and jitter are kept as they are (the
     * same numbers, computed the same way) and only the rows from the first changed column on are
     * computed.
     */
    private static boolean cholesky(double[][] g, int[] idx, int m, double[][] l, double jitter, Workspace ws) {
        int from = 0;
        if (jitter == ws.factorJitter) {
            int kept = Math.min(m, ws.factorRows);
            while (from < kept && idx[from] == ws.factorIdx[from]) {
                from++;
            }
        }
        System.arraycopy(idx, 0, ws.factorIdx, 0, m);
        ws.factorJitter = jitter;
        for (int i = from; i < m; i++) {
            Arrays.fill(l[i], 0, m, 0);
        }
        for (int i = from; i < m; i++) {
            for (int j = 0; j <= i; j++) {
                double s = g[idx[i]][idx[j]] + (i == j ? jitter : 0);
                for (int k = 0; k < j; k++) {
                    s -= l[i][k] * l[j][k];
                }
                if (i == j) {
                    if (!(s > 0)) {
                        ws.factorRows = i;
                        return false;
                    }
                    l[i][i] = Math.sqrt(s);
                } else {
                    l[i][j] = s / l[j][j];
                }
            }
        }
        ws.factorRows = m;
        return true;
    }

    private static double maxAbs(double[] v) {
        double m = 0;
        for (double d : v) {
            m = Math.max(m, Math.abs(d));
        }
        return m;
    }
}
