package io.sluice.gpu.kv;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import org.junit.jupiter.api.Test;

class KvSnapshotTest {

    @Test
    void aSnapshotOneJavaArrayCannotHoldIsRefusedClearly() {
        // Llama 2 7B: 32 layers x 4,096 channels. Its whole 4,096-token context fits; 16,384 positions do not, and
        // the int product (2^31) wrapped to a negative array size.
        assertThat(KvSnapshot.floats(4096, 32, 4096)).isEqualTo(536_870_912);
        assertThatThrownBy(() -> KvSnapshot.floats(16_384, 32, 4096))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("16384 positions x 32 layers x 4096 channels is 2147483648 floats");
    }
}
