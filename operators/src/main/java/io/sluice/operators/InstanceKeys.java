package io.sluice.operators;

import java.util.Arrays;
import java.util.concurrent.ConcurrentHashMap;
import org.apache.flink.runtime.state.KeyGroupRangeAssignment;

/**
 * Integer keys that land on chosen subtasks: {@code keyFor(i, p, m)} is a key that Flink's key-group
 * assignment ({@link KeyGroupRangeAssignment}) sends to subtask {@code i} of an operator with parallelism
 * {@code p} and max parallelism {@code m}. Keying by it makes "instance i" and "subtask i" the same thing, so
 * each model instance's keyed state and timers live in exactly one subtask.
 */
public final class InstanceKeys {

    /** Per (parallelism, max parallelism): the smallest key of each subtask, found once. */
    private static final ConcurrentHashMap<Long, int[]> TABLES = new ConcurrentHashMap<>();

    private InstanceKeys() {
    }

    /** The smallest non-negative key that lands on subtask {@code instance}. */
    public static int keyFor(int instance, int parallelism, int maxParallelism) {
        if (parallelism < 1) {
            throw new IllegalArgumentException("parallelism must be >= 1, got " + parallelism);
        }
        if (maxParallelism < parallelism || maxParallelism > KeyGroupRangeAssignment.UPPER_BOUND_MAX_PARALLELISM) {
            throw new IllegalArgumentException("max parallelism must be in [parallelism, "
                    + KeyGroupRangeAssignment.UPPER_BOUND_MAX_PARALLELISM + "], got " + maxParallelism
                    + " with parallelism " + parallelism);
        }
        if (instance < 0 || instance >= parallelism) {
            throw new IllegalArgumentException("instance must be in [0, " + parallelism + "), got " + instance);
        }
        return TABLES.computeIfAbsent(((long) parallelism << 32) | maxParallelism,
                k -> search(parallelism, maxParallelism))[instance];
    }

    private static int[] search(int parallelism, int maxParallelism) {
        int[] keys = new int[parallelism];
        Arrays.fill(keys, -1);
        int found = 0;
        // Every subtask owns at least one key group and murmur-hashed integers reach every group, so this ends
        // after a few times maxParallelism candidates.
        for (int key = 0; found < parallelism; key++) {
            int subtask = KeyGroupRangeAssignment.assignKeyToParallelOperator(key, maxParallelism, parallelism);
            if (keys[subtask] < 0) {
                keys[subtask] = key;
                found++;
            }
        }
        return keys;
    }
}
