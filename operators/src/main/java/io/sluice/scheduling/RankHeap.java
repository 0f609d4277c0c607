package io.sluice.scheduling;

/**
 * The ranking of one round, produced lazily: candidate positions ordered by (group, primary key,
 * secondary key, position). The order is group by group, so each group gets its own binary min-heap
 * over a segment of one array, and the ranks of a group are known before anything is popped (the
 * group sizes fix where each group starts). A greedy fill stops after a few dozen requests, so
 * heapifying (O(n)) and popping only what the batch takes is much cheaper than sorting every
 * queued request each round; a fill that passes over the rest of a group ({@link #groupEnd}) pops
 * none of it; the rest is drained (sorted) only when the tail is needed for preemption. A group the
 * fill does take whole (every decode of a busy instance) is sorted instead, once it is small or a
 * few of it have been popped: a merge sort compares about half as often as a pop each. Primitive
 * arrays only: no boxing, no comparator objects, no allocation once grown.
 */
final class RankHeap {

    /** Groups are 0 to GROUPS - 1. */
    static final int GROUPS = 8;
    /** Rounds with at most this many candidates are sorted at once rather than heaped. */
    private static final int SORT_AT_MOST = 24;
    /** A group at most this large is sorted whole when the order first reaches it, not heapified. */
    private static final int SORT_GROUP_AT_MOST = 64;
    /**
     * Pops from one group after which the rest of it is sorted at once: a fill that has taken this
     * many is usually taking the whole group (every decode of a busy instance), and a merge sort
     * compares about half as often as popping each from the heap.
     */
    private static final int POPS_BEFORE_SORT = 16;

    private int[] group = new int[64];
    private double[] key = new double[64];
    private double[] key2 = new double[64];
    /** Positions in the order set() saw them; after build() of a large round, the group segments' heaps. */
    private int[] heap = new int[64];
    private int[] spare = new int[64];
    private int[] order = new int[64];
    /** Per group: candidates, first rank, ranks materialized in {@code order}, heap size. */
    private final int[] count = new int[GROUPS];
    private final int[] start = new int[GROUPS + 1];
    private final int[] popped = new int[GROUPS];
    private final int[] heapSize = new int[GROUPS];
    /** Whether group g's segment is a heap yet: a group the fill never reaches is never heapified. */
    private final boolean[] heapified = new boolean[GROUPS];
    private int size;
    private boolean sorted;
    /**
     * Whether a key is NaN this round. Without NaN the order is a strict total order (ties end at the
     * position), so a sort and a sequence of pops give the same order; with one the heaps' pops define
     * it, and nothing is sorted.
     */
    private boolean nanKeys;

    /** Starts a round with room for {@code n} candidates. */
    void reset(int n) {
        if (group.length < n) {
            int cap = Math.max(n, group.length * 2);
            group = new int[cap];
            key = new double[cap];
            key2 = new double[cap];
            heap = new int[cap];
            spare = new int[cap];
            order = new int[cap];
        }
        size = 0;
        nanKeys = false;
        java.util.Arrays.fill(count, 0);
    }

    /** Sets the rank keys of candidate {@code pos}; candidates never set are left out of the order. */
    void set(int pos, int g, double k, double k2) {
        if (g < 0 || g >= GROUPS) {
            throw new IllegalArgumentException("rank group must be in [0, " + GROUPS + "), got " + g);
        }
        group[pos] = g;
        key[pos] = k;
        key2[pos] = k2;
        if (k != k || k2 != k2) {
            nanKeys = true;
        }
        heap[size++] = pos;
        count[g]++;
    }

    /**
     * Builds one heap per group (Floyd, O(n)); a few candidates are sorted outright instead (insertion
     * sort): a fill usually takes all of a short queue, and for it popping costs more than sorting.
     */
    void build() {
        start[0] = 0;
        for (int g = 0; g < GROUPS; g++) {
            start[g + 1] = start[g] + count[g];
        }
        if (size <= SORT_AT_MOST) {
            for (int i = 0; i < size; i++) {
                int x = heap[i];
                int j = i;
                while (j > 0 && less(x, order[j - 1])) {
                    order[j] = order[j - 1];
                    j--;
                }
                order[j] = x;
            }
            sorted = true;
            return;
        }
        sorted = false;
        // Counting sort into the group segments; each is heapified when the order first reaches it.
        for (int g = 0; g < GROUPS; g++) {
            popped[g] = start[g];
            heapSize[g] = 0;
            heapified[g] = false;
        }
        for (int i = 0; i < size; i++) {
            int pos = heap[i];
            int g = group[pos];
            spare[start[g] + heapSize[g]++] = pos;
        }
        int[] t = heap;
        heap = spare;
        spare = t;
    }

    /** Floyd's O(n) heap construction over group g's segment, or for a small group its sorted order. */
    private void heapify(int g) {
        heapified[g] = true;
        int hs = heapSize[g];
        if (hs <= SORT_GROUP_AT_MOST && !nanKeys) {
            sortRest(g);
            return;
        }
        for (int i = (hs >>> 1) - 1; i >= 0; i--) {
            siftDown(start[g], hs, i);
        }
    }

    /** Number of candidates in the order. */
    int size() {
        return size;
    }

    /** The candidate position at rank {@code i} (0 = first), popping from its group's heap as needed; -1 past the end. */
    int at(int i) {
        if (i < 0 || i >= size) {
            return -1;
        }
        if (sorted) {
            return order[i];
        }
        int g = 0;
        while (i >= start[g + 1]) {
            g++;
        }
        if (!heapified[g]) {
            heapify(g);
        }
        // popped[g] is the next rank of group g to materialize.
        while (popped[g] <= i) {
            if (popped[g] - start[g] >= POPS_BEFORE_SORT && !nanKeys) {
                sortRest(g);
                break;
            }
            order[popped[g]++] = pop(g);
        }
        return order[i];
    }

    /** The first rank after the group of rank {@code i}: a fill jumps there to pass over the rest of that group. */
    int groupEnd(int i) {
        int g = 0;
        while (i >= start[g + 1]) {
            g++;
        }
        return start[g + 1];
    }

    /** Ranks everything, so the tail can be read. */
    void drain() {
        if (sorted) {
            return;
        }
        for (int g = 0; g < GROUPS; g++) {
            if (!heapified[g]) {
                heapify(g);
            }
            if (!nanKeys) {
                sortRest(g);
            }
            while (heapSize[g] > 0) {
                order[popped[g]++] = pop(g);
            }
        }
    }

    /**
     * Ranks what is left of group {@code g} at once: its heap holds exactly the candidates not yet
     * popped, all after those in the order, so their sorted order follows the popped ones.
     */
    private void sortRest(int g) {
        int hs = heapSize[g];
        int at = popped[g];
        System.arraycopy(heap, start[g], order, at, hs);
        // spare is free after build(): it held the candidates in the order set() saw them.
        mergeSort(order, spare, at, at + hs);
        popped[g] = at + hs;
        heapSize[g] = 0;
    }

    /** Sorts {@code a[lo, hi)} of one group by {@link #sameGroupLess}, with {@code buf[lo, hi)} as scratch. */
    private void mergeSort(int[] a, int[] buf, int lo, int hi) {
        if (hi - lo <= 12) {
            for (int i = lo + 1; i < hi; i++) {
                int x = a[i];
                int j = i;
                while (j > lo && sameGroupLess(x, a[j - 1])) {
                    a[j] = a[j - 1];
                    j--;
                }
                a[j] = x;
            }
            return;
        }
        int mid = (lo + hi) >>> 1;
        mergeSort(a, buf, lo, mid);
        mergeSort(a, buf, mid, hi);
        if (!sameGroupLess(a[mid], a[mid - 1])) {
            return;
        }
        System.arraycopy(a, lo, buf, lo, hi - lo);
        int i = lo;
        int j = mid;
        int k = lo;
        while (i < mid && j < hi) {
            a[k++] = sameGroupLess(buf[j], buf[i]) ? buf[j++] : buf[i++];
        }
        while (i < mid) {
            a[k++] = buf[i++];
        }
        while (j < hi) {
            a[k++] = buf[j++];
        }
    }

    /**
     * Removes the top of group {@code g}'s heap. Bottom-up (Floyd): the hole at the root follows the
     * smaller children down to a leaf, one comparison per level, and the last element rises from
     * there, usually a step or two, where a plain sift-down compares twice per level. A comparison
     * is most of a pop, and a fill pops every request it takes.
     */
    private int pop(int g) {
        int base = start[g];
        int hs = --heapSize[g];
        int top = heap[base];
        if (hs == 0) {
            return top;
        }
        int x = heap[base + hs];
        int i = 0;
        int child;
        while ((child = 2 * i + 1) < hs) {
            int c = heap[base + child];
            int right = child + 1;
            if (right < hs) {
                int rc = heap[base + right];
                if (sameGroupLess(rc, c)) {
                    child = right;
                    c = rc;
                }
            }
            heap[base + i] = c;
            i = child;
        }
        while (i > 0) {
            int parent = (i - 1) >>> 1;
            int p = heap[base + parent];
            if (!sameGroupLess(x, p)) {
                break;
            }
            heap[base + i] = p;
            i = parent;
        }
        heap[base + i] = x;
        return top;
    }

    private boolean less(int a, int b) {
        if (group[a] != group[b]) {
            return group[a] < group[b];
        }
        return sameGroupLess(a, b);
    }

    private boolean sameGroupLess(int a, int b) {
        if (key[a] != key[b]) {
            return key[a] < key[b];
        }
        if (key2[a] != key2[b]) {
            return key2[a] < key2[b];
        }
        return a < b;
    }

    /** Sift-down in the heap of {@code hs} elements at {@code heap[base...]}; one group, so the group is not compared. */
    private void siftDown(int base, int hs, int i) {
        int x = heap[base + i];
        int half = hs >>> 1;
        while (i < half) {
            int child = 2 * i + 1;
            int right = child + 1;
            int c = heap[base + child];
            if (right < hs) {
                int rc = heap[base + right];
                if (sameGroupLess(rc, c)) {
                    child = right;
                    c = rc;
                }
            }
            if (!sameGroupLess(c, x)) {
                break;
            }
            heap[base + i] = c;
            i = child;
        }
        heap[base + i] = x;
    }
}
