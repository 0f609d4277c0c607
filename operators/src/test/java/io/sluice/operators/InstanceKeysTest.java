package io.sluice.operators;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.HashSet;
import java.util.Set;
import org.apache.flink.runtime.state.KeyGroupRangeAssignment;
import org.junit.jupiter.api.Test;

class InstanceKeysTest {

    @Test
    void keyOfInstanceILandsOnSubtaskI() {
        int[][] shapes = {{1, 1}, {1, 128}, {2, 128}, {3, 128}, {4, 4}, {7, 128}, {16, 128}, {5, 32768}, {128, 128}};
        for (int[] shape : shapes) {
            int parallelism = shape[0];
            int maxParallelism = shape[1];
            Set<Integer> keys = new HashSet<>();
            for (int i = 0; i < parallelism; i++) {
                int key = InstanceKeys.keyFor(i, parallelism, maxParallelism);
                assertThat(KeyGroupRangeAssignment.assignKeyToParallelOperator(key, maxParallelism, parallelism))
                        .as("subtask of the key of instance %d at parallelism %d / %d", i, parallelism, maxParallelism)
                        .isEqualTo(i);
                keys.add(key);
            }
            assertThat(keys).hasSize(parallelism);
        }
    }

    @Test
    void impossibleShapesAreRefused() {
        assertThatThrownBy(() -> InstanceKeys.keyFor(2, 2, 128)).isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("instance");
        assertThatThrownBy(() -> InstanceKeys.keyFor(0, 4, 2)).isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("max parallelism");
        assertThatThrownBy(() -> InstanceKeys.keyFor(0, 0, 128)).isInstanceOf(IllegalArgumentException.class);
    }
}
