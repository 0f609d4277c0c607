package io.sluice.scheduling;

import java.util.Arrays;

/**
 * Sorts requests by their scratch {@code sortKey} on primitive longs: the key's order-preserving bits
 * with the low bits replaced by the position, so ties keep their prior order and no comparator or
 * boxing runs. Dropping the low mantissa bits costs ~1e-10 relative precision, far below any
 * deadline or density difference that matters.
 */
final class Sorting {

    private static final int INDEX_BITS = 20;
    private static final long INDEX_MASK = (1L << INDEX_BITS) - 1;

    private long[] keys = new long[64];
    private Request[] tmp = new Request[64];

    /** Sorts {@code a[from, to)} ascending by {@code sortKey}, stable. */
    void sort(Request[] a, int from, int to) {
        int n = to - from;
        if (n < 2) {
            return;
        }
        if (n > INDEX_MASK) {
            Arrays.sort(a, from, to, (x, y) -> Double.compare(x.sortKey, y.sortKey));
            return;
        }
        if (keys.length < n) {
            keys = new long[Math.max(n, keys.length * 2)];
            tmp = new Request[keys.length];
        }
        for (int i = 0; i < n; i++) {
            keys[i] = (orderedBits(a[from + i].sortKey) & ~INDEX_MASK) | i;
            tmp[i] = a[from + i];
        }
        Arrays.sort(keys, 0, n);
        for (int i = 0; i < n; i++) {
            a[from + i] = tmp[(int) (keys[i] & INDEX_MASK)];
        }
        Arrays.fill(tmp, 0, n, null);
    }

    /** Maps a double to a long whose signed order is the double's order (NaN sorts last). */
    static long orderedBits(double d) {
        if (Double.isNaN(d)) {
            return Long.MAX_VALUE;
        }
        long bits = Double.doubleToLongBits(d == 0.0 ? 0.0 : d);
        return bits ^ ((bits >> 63) & Long.MAX_VALUE);
    }
}
