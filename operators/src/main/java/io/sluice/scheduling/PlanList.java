package io.sluice.scheduling;

import java.util.AbstractList;
import java.util.List;
import java.util.RandomAccess;

/**
 * An immutable list over part of a private array: what {@link PlanBuilder} hands to a {@link BatchPlan}.
 * A plan is built every round; {@code List.copyOf} of an {@code ArrayList} copies twice on Java 17
 * and yields two list classes (one or two elements, or more), so every loop over a plan sees two
 * implementations. A plan's four lists are views of one array the builder fills once, and this is
 * the only list class the hot loops see. The builder adds no nulls.
 */
final class PlanList<E> extends AbstractList<E> implements RandomAccess {

    private static final PlanList<?> EMPTY = new PlanList<>(new Object[0], 0, 0);

    private final Object[] items;
    private final int from;
    private final int size;

    private PlanList(Object[] items, int from, int size) {
        this.items = items;
        this.from = from;
        this.size = size;
    }

    /** The list of {@code items[from, from + size)}; the caller hands the array over and never changes it. */
    @SuppressWarnings("unchecked")
    static <E> List<E> view(Object[] items, int from, int size) {
        return size == 0 ? (List<E>) EMPTY : new PlanList<>(items, from, size);
    }

    @Override
    @SuppressWarnings("unchecked")
    public E get(int index) {
        if (index < 0 || index >= size) {
            throw new IndexOutOfBoundsException("index " + index + ", size " + size);
        }
        return (E) items[from + index];
    }

    @Override
    public int size() {
        return size;
    }

    @Override
    public boolean isEmpty() {
        return size == 0;
    }
}
