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
        h.report(0, 30, 0, 100, 0, 100, 16, 10);
        h.report(1, 20, 0, 100, 0, 100, 16, 10);
        assertThat(h.pick(100, 5, 100, 11)).as("prompt over the limit").isEmpty();
        assertThat(h.pick(10, 5, 100, 11)).isEqualTo(OptionalInt.of(1));
        assertThat(h.pick(10, 5, 100, 12)).as("instance 1's share is used until it reports").isEqualTo(OptionalInt.of(0));
        assertThat(h.pick(10, 5, 100, 13)).isEmpty();
        h.report(1, 20, 0, 100, 0, 100, 16, 14);
        assertThat(h.pick(10, 5, 100, 15)).isEqualTo(OptionalInt.of(1));
    }

    @Test
    void aDecodeInstanceThatStoppedAdmittingHandoffsTakesNoPrefill() {
        // Instance 0 steps faster, but its blocks decide (stop under 5 % uncommitted, resume at 15 %).
        HybridPrefills h = new HybridPrefills(2, OPTIONS);
        h.report(0, 10, 0, 4, 0, 100, 16, 10);
        h.report(1, 20, 0, 100, 0, 100, 16, 10);
        assertThat(h.admitting(0)).as("4 % free").isFalse();
        assertThat(h.pick(10, 5, 100, 11)).isEqualTo(OptionalInt.of(1));
        h.report(0, 10, 0, 12, 0, 100, 16, 12);
        h.report(1, 20, 0, 100, 0, 100, 16, 12);
        assertThat(h.admitting(0)).as("12 %: still under the resume threshold").isFalse();
        assertThat(h.pick(10, 5, 100, 13)).isEqualTo(OptionalInt.of(1));
        h.report(0, 10, 0, 60, 37, 100, 16, 14);
        assertThat(h.admitting(0)).as("60 free, 37 promised to queued handoffs: 23 % uncommitted").isTrue();
        assertThat(h.pick(10, 5, 100, 15)).isEqualTo(OptionalInt.of(0));
        h.report(0, 10, 0, 40, 37, 100, 16, 16);
        h.report(1, 20, 0, 100, 0, 100, 16, 16);
        assertThat(h.admitting(0)).as("40 free but 3 % uncommitted").isFalse();
        assertThat(h.pick(10, 5, 100, 17)).isEqualTo(OptionalInt.of(1));
    }

    @Test
    void aPromptMustFitBesideTheHandoffsOnTheirWay() {
        // 20 blocks free, 12 promised: 8 uncommitted (8 %, admitting). A prompt of 64 tokens in blocks of 8 needs 8.
        HybridPrefills h = new HybridPrefills(2, OPTIONS);
        h.report(0, 10, 0, 20, 12, 100, 8, 10);
        h.report(1, 20, 0, 100, 0, 100, 16, 10);
        assertThat(h.pick(64, 5, 100, 11)).as("8 blocks fit in 8").isEqualTo(OptionalInt.of(0));
        h.report(0, 10, 0, 20, 13, 100, 8, 12);
        assertThat(h.admitting(0)).as("7 % uncommitted").isTrue();
        assertThat(h.pick(64, 5, 100, 13)).as("not in 7").isEqualTo(OptionalInt.of(1));
    }

    @Test
    void busyOrSlowDecodeInstancesAndASingleDecodeInstanceTakeNone() {
        HybridPrefills h = new HybridPrefills(2, OPTIONS);
        h.report(0, 10, 3, 100, 0, 100, 16, 10); // queued work
        h.report(1, 46, 0, 100, 0, 100, 16, 10); // 46 + 5 > 100 x 1/2
        assertThat(h.pick(10, 5, 100, 11)).isEmpty();
        HybridPrefills one = new HybridPrefills(1, OPTIONS);
        one.report(0, 1, 0, 100, 0, 100, 16, 10);
        assertThat(one.pick(10, 1, 100, 11)).as("the only decode instance keeps its pace").isEmpty();
    }
}
