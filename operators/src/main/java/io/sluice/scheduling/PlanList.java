package io.sluice.scheduling;

import java.util.AbstractList;
import java.util.ArrayList;
import java.util.List;
import java.util.RandomAccess;

/**
 * An immutable list over a private array copy: what {@link PlanBuilder} hands to a {@link BatchPlan}.
 * A plan is built every round; {@code List.copyOf} of an {@code ArrayList} copies twice on Java 17
 * and yields two list classes (one or two elements, or more), so every loop over a plan sees two
 * implementations. This one copies once and is the only class the hot loops see. Nulls are refused.
 */
final class PlanList<E> extends AbstractList<E> implements RandomAccess {

    private static final PlanList<?> EMPTY = new PlanList<>(new Object[0]);

    private final Object[] items;

    private PlanList(Object[] items) {
        this.items = items;
    }

    /** An immutable copy of {@code source}'s elements. */
    @SuppressWarnings("unchecked")
    static <E> List<E> copyOf(ArrayList<E> source) {
        if (source.isEmpty()) {
            return (List<E>) EMPTY;
        }
        Object[] a = source.toArray();
        for (Object o : a) {
            if (o == null) {
                throw new NullPointerException("a plan list holds no nulls");
            }
        }
        return new PlanList<>(a);
    }

    @Override
    @SuppressWarnings("unchecked")
    public E get(int index) {
        return (E) items[index];
    }

    @Override
    public int size() {
        return items.length;
    }

    @Override
    public boolean isEmpty() {
        return items.length == 0;
    }
}
