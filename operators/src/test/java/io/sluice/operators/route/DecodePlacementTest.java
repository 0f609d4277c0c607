package io.sluice.operators.route;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.OptionalInt;
import org.junit.jupiter.api.Test;

/** Decode placement from reported free blocks, handoffs sent since, and the dual admission thresholds. */
class DecodePlacementTest {

    @Test
    void mostFreeAdmittingInstanceWinsAndSentBlocksCountUntilTheNextReport() {
        DecodePlacement p = new DecodePlacement(2, 0.1, 0.3);
        p.report(0, 60, 100, 1000);
        p.report(1, 50, 100, 1000);
        assertThat(p.place(20, 1001)).isEqualTo(OptionalInt.of(0));
        assertThat(p.freeBlocks(0)).isEqualTo(40);
        assertThat(p.place(20, 1002)).as("50 free beats 40").isEqualTo(OptionalInt.of(1));
        // A report after both sends already counts them.
        p.report(0, 40, 100, 1005);
        assertThat(p.freeBlocks(0)).isEqualTo(40);
        assertThat(p.freeBlocks(1)).isEqualTo(30);
    }

    @Test
    void anInstanceStopsAdmittingUnderTheUpperThresholdAndResumesOverTheLowerOne() {
        DecodePlacement p = new DecodePlacement(1, 0.1, 0.3);
        p.report(0, 15, 100, 1000);
        assertThat(p.place(6, 1001)).isEqualTo(OptionalInt.of(0));
        assertThat(p.admitting(0)).as("9 of 100 free").isFalse();
        assertThat(p.place(1, 1002)).isEmpty();
        p.report(0, 20, 100, 1003);
        assertThat(p.admitting(0)).as("20 % free: still under the lower threshold").isFalse();
        p.report(0, 30, 100, 1004);
        assertThat(p.admitting(0)).isTrue();
        assertThat(p.mostFree(3, 1005)).isZero();
    }

    @Test
    void unreportedInstancesShareHandoffsAndStaleReportsAreIgnored() {
        DecodePlacement p = new DecodePlacement(2, 0.1, 0.3);
        int a = p.place(10, 1).getAsInt();
        int b = p.place(10, 2).getAsInt();
        assertThat(a).isNotEqualTo(b);
        p.report(0, 10, 100, 50);
        p.report(0, 90, 100, 40);
        assertThat(p.freeBlocks(0)).isEqualTo(10);
        assertThatThrownBy(() -> new DecodePlacement(0, 0.1, 0.3)).isInstanceOf(IllegalArgumentException.class);
    }
}
