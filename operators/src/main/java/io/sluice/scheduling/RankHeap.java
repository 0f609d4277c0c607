package io.sluice.scheduling;

/**
 * The ranking of one round, produced lazily: a binary min-heap over candidate positions keyed by
 * (group, primary key, secondary key, position). A greedy fill stops after a few dozen requests, so
 * heapifying (O(n)) and popping only what the batch takes is much cheaper than sorting every
 * queued request each round; the rest is drained (sorted) only when the tail is needed for
 * preemption. Primitive arrays only: no boxing, no comparator objects, no allocation once grown.
 */
final class RankHeap {

    /** Rounds with at most this many candidates are sorted at once rather than heaped. */
    private static final int SORT_AT_MOST = 24;

    private int[] group = new int[64];
    private double[] key = new double[64];
    private double[] key2 = new double[64];
    private int[] heap = new int[64];
    private int[] order = new int[64];
    private int size;
    private int heapSize;
    private int ordered;

    /** Starts a round with room for {@code n} candidates. */
    void reset(int n) {
        if (group.length < n) {
            int cap = Math.max(n, group.length * 2);
            group = new int[cap];
            key = new double[cap];
            key2 = new double[cap];
            heap = new int[cap];
            order = new int[cap];
        }
        size = 0;
        heapSize = 0;
        ordered = 0;
    }

    /** Sets the rank keys of candidate {@code pos}; candidates never set are left out of the order. */
    void set(int pos, int g, double k, double k2) {
        group[pos] = g;
        key[pos] = k;
        key2[pos] = k2;
        heap[heapSize++] = pos;
        size++;
    }

    /**
     * Builds the heap (Floyd, O(n)); a few candidates are sorted outright instead (insertion sort):
     * a fill usually takes all of a short queue, and for it popping costs more than sorting.
     */
    void build() {
        if (heapSize <= SORT_AT_MOST) {
            for (int i = 0; i < heapSize; i++) {
                int x = heap[i];
                int j = i;
                while (j > 0 && less(x, order[j - 1])) {
                    order[j] = order[j - 1];
                    j--;
                }
                order[j] = x;
            }
            ordered = heapSize;
            heapSize = 0;
            return;
        }
        for (int i = (heapSize >>> 1) - 1; i >= 0; i--) {
            siftDown(i);
        }
    }

    /** Number of candidates in the order. */
    int size() {
        return size;
    }

    /** The candidate position at rank {@code i} (0 = first), popping from the heap as needed; -1 past the end. */
    int at(int i) {
        while (ordered <= i && heapSize > 0) {
            order[ordered++] = pop();
        }
        return i < ordered ? order[i] : -1;
    }

    /** Ranks everything, so the tail can be read. */
    void drain() {
        while (heapSize > 0) {
            order[ordered++] = pop();
        }
    }

    private int pop() {
        int top = heap[0];
        heap[0] = heap[--heapSize];
        if (heapSize > 0) {
            siftDown(0);
        }
        return top;
    }

    private boolean less(int a, int b) {
        if (group[a] != group[b]) {
            return group[a] < group[b];
        }
        if (key[a] != key[b]) {
            return key[a] < key[b];
        }
        if (key2[a] != key2[b]) {
            return key2[a] < key2[b];
        }
        return a < b;
    }

    private void siftDown(int i) {
        int x = heap[i];
        int half = heapSize >>> 1;
        while (i < half) {
            int child = 2 * i + 1;
            int right = child + 1;
            if (right < heapSize && less(heap[right], heap[child])) {
                child = right;
            }
            if (!less(heap[child], x)) {
                break;
            }
            heap[i] = heap[child];
            i = child;
        }
        heap[i] = x;
    }
}
