package io.sluice.operators.route;

import static org.assertj.core.api.Assertions.assertThat;

import io.sluice.scheduling.RouterOptions;
import java.util.OptionalInt;
import org.junit.jupiter.api.Test;

/** Which decode instance takes a short prefill in hybrid mode, and how often. */
class HybridPrefillsTest {

    /** Hybrid prompts of at most 64 tokens. */
    private static final RouterOptions OPTIONS = new RouterOptions(0.3, 0.8, 0.05, 0.15, 512 * 1024, 2.5e7, 0.05,
            true, 64, 1000, 100, 200, 1000);

    @Test
    void fastestDecodeInstanceWithSlackTakesOneShortPrefillPerReport() {
        HybridPrefills h = new HybridPrefills(2, OPTIONS);
        assertThat(h.pick(10, 5, 100, 1)).as("no reports yet").isEmpty();
        h.report(0, 30, 0, 10);
        h.report(1, 20, 0, 10);
        assertThat(h.pick(100, 5, 100, 11)).as("prompt over the limit").isEmpty();
        assertThat(h.pick(10, 5, 100, 11)).isEqualTo(OptionalInt.of(1));
        assertThat(h.pick(10, 5, 100, 12)).as("instance 1's share is used until it reports").isEqualTo(OptionalInt.of(0));
        assertThat(h.pick(10, 5, 100, 13)).isEmpty();
        h.report(1, 20, 0, 14);
        assertThat(h.pick(10, 5, 100, 15)).isEqualTo(OptionalInt.of(1));
    }

    @Test
    void busyOrSlowDecodeInstancesAndASingleDecodeInstanceTakeNone() {
        HybridPrefills h = new HybridPrefills(2, OPTIONS);
        h.report(0, 10, 3, 10); // queued work
        h.report(1, 46, 0, 10); // 46 + 5 > 100 x 1/2
        assertThat(h.pick(10, 5, 100, 11)).isEmpty();
        HybridPrefills one = new HybridPrefills(1, OPTIONS);
        one.report(0, 1, 0, 10);
        assertThat(one.pick(10, 1, 100, 11)).as("the only decode instance keeps its pace").isEmpty();
    }
}
