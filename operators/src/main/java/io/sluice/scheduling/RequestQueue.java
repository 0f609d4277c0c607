package io.sluice.scheduling;

import java.util.AbstractList;
import java.util.Arrays;
import java.util.List;
import java.util.RandomAccess;

/**
 * An instance's queue of requests (waiting or running), in order, read by index through the
 * {@link List} interface (read-only there) and changed only by {@link InstanceState}. The elements
 * sit in {@code items[head, head + size)} with room on both sides, so taking requests out near
 * either end, or putting preempted ones back in front, reads and moves the few requests near that
 * end instead of the whole queue (thousands under overload).
 *
 * <pre>
 *   items: [ free | head ... head+size-1 | free ]
 * </pre>
 */
final class RequestQueue extends AbstractList<Request> implements RandomAccess {

    /** A request's state as one of the queue's own (it stays) or not (it has left). */
    interface Membership {
        boolean holds(RequestState s);
    }

    private final Membership membership;
    private Request[] items = new Request[32];
    private int head = 16;
    private int size;

    RequestQueue(Membership membership) {
        this.membership = membership;
    }

    @Override
    public Request get(int index) {
        if (index < 0 || index >= size) {
            throw new IndexOutOfBoundsException("index " + index + ", size " + size);
        }
        return items[head + index];
    }

    @Override
    public int size() {
        return size;
    }

    /** Appends {@code r}. */
    void append(Request r) {
        if (head + size == items.length) {
            makeRoom(0, 1);
        }
        items[head + size++] = r;
    }

    /** Puts {@code rs} in front, in their order. */
    void prependAll(List<Request> rs) {
        int k = rs.size();
        if (head < k) {
            makeRoom(k, 0);
        }
        head -= k;
        for (int i = 0; i < k; i++) {
            items[head + i] = rs.get(i);
        }
        size += k;
    }

    /** Removes the first occurrence of {@code r}; false when it is not here. */
    boolean delete(Request r) {
        for (int i = 0; i < size; i++) {
            if (items[head + i] == r) {
                System.arraycopy(items, head + i + 1, items, head + i, size - i - 1);
                items[head + --size] = null;
                return true;
            }
        }
        return false;
    }

    /**
     * Removes the {@code count} requests that have left the queue (their state is not one of its
     * own), keeping the order of the rest. It reads requests from both ends at once and stops when
     * it has found them all, so requests leaving near either end (an FCFS admission takes the
     * oldest, a deadline-ordered one under overload mostly the newest) cost a read of those near
     * that end, not of the thousands between; the unread middle does not move.
     */
    void removeLeft(int count) {
        int end = head + size;
        int lo = head;
        int hi = end - 1;
        int found = 0;
        while (found < count && lo <= hi) {
            if (!membership.holds(items[lo++].state())) {
                found++;
            }
            if (found < count && lo <= hi && !membership.holds(items[hi--].state())) {
                found++;
            }
        }
        if (found == 0) {
            return;
        }
        // The ones that left are in [head, lo) and (hi, end): close each gap toward the middle.
        int w = lo - 1;
        for (int i = lo - 1; i >= head; i--) {
            Request x = items[i];
            if (membership.holds(x.state())) {
                items[w--] = x;
            }
        }
        int newHead = w + 1;
        Arrays.fill(items, head, newHead, null);
        w = hi + 1;
        for (int i = hi + 1; i < end; i++) {
            Request x = items[i];
            if (membership.holds(x.state())) {
                items[w++] = x;
            }
        }
        Arrays.fill(items, w, end, null);
        head = newHead;
        size = w - newHead;
    }

    /** Grows or recentres so that {@code front} slots are free before the head and {@code back} after the tail. */
    private void makeRoom(int front, int back) {
        int need = size + front + back;
        Request[] to = items.length >= 2 * need ? items : new Request[Math.max(32, 2 * need + 16)];
        int newHead = front + (to.length - need) / 2;
        if (to == items) {
            System.arraycopy(items, head, items, newHead, size);
            if (newHead > head) {
                Arrays.fill(items, head, Math.min(newHead, head + size), null);
            } else {
                Arrays.fill(items, Math.max(newHead + size, head), head + size, null);
            }
        } else {
            System.arraycopy(items, head, to, newHead, size);
            items = to;
        }
        head = newHead;
    }
}
