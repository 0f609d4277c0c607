package io.sluice.operators.route;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.sluice.scheduling.LatencyModel;
import io.sluice.scheduling.RouterOptions;
import java.util.OptionalInt;
import org.junit.jupiter.api.Test;

/**
 * Decode placement from reports and the handoffs sent since: the first instance that keeps the TPOT target, else
 * the most free, among those admitting under the dual thresholds (stop under 10 % free, resume at 30 %).
 */
class DecodePlacementTest {

    /** Decode step: 5 ms + 1 ms per sequence + 0.001 ms per context token (no tile terms). */
    private static final LatencyModel MODEL = new LatencyModel(new double[] {1, 0.01, 0, 0, 0, 5, 1, 0.001, 0, 0},
            1, 1);
    private static final RouterOptions OPTIONS = new RouterOptions(0.3, 0.8, 0.1, 0.3, 512 * 1024, 2.5e7, 0.05, true,
            2048, 1000, 100, 200, 1000);

    private static DecodePlacement placement(int instances) {
        return new DecodePlacement(instances, 100, OPTIONS, MODEL);
    }

    @Test
    void theFirstInstanceThatKeepsTheTpotTargetWinsOverTheMostFree() {
        DecodePlacement p = placement(2);
        p.report(0, 60, 100, 5, 20, 1000);
        p.report(1, 90, 100, 0, 0, 1000);
        assertThat(p.stepMsWith(0, 1000)).as("20 ms + 1 ms for the sequence + 1 ms for its context").isEqualTo(22);
        assertThat(p.place(5, 1000, 50, 1001)).as("instance 0 keeps 50 ms; 1 has more free blocks")
                .isEqualTo(OptionalInt.of(0));
        assertThat(p.place(5, 1000, 21, 1002)).as("a 21 ms target: 0 would be at 24 ms, 1 at 7 ms")
                .isEqualTo(OptionalInt.of(1));
    }

    @Test
    void aLooseRequestGoesToTheEmptyInstanceRatherThanSlowTheInteractiveSequencesOfAnother() {
        // Instance 0 decodes interactive sequences (50 ms TPOT) at 49 ms a step; a standard request (100 ms) would
        // make it 51 ms: within its own target, past theirs. Judged by its target alone it went there, first in
        // order, while instance 1 stood empty.
        DecodePlacement p = placement(2);
        p.report(0, 60, 0, 100, 40, 49, 50, 1000);
        p.report(1, 90, 0, 100, 0, 0, Double.POSITIVE_INFINITY, 1000);
        assertThat(p.stepMsWith(0, 1000)).isEqualTo(51);
        assertThat(p.place(5, 1000, 100, Double.POSITIVE_INFINITY, 1001)).isEqualTo(OptionalInt.of(1));
        // With no TPOT SLO among its sequences (a report without one reads as none), instance 0 takes it.
        p.report(0, 60, 0, 100, 40, 49, 0, 1002);
        assertThat(p.tightestTpotMs(0)).isInfinite();
        assertThat(p.place(5, 1000, 100, Double.POSITIVE_INFINITY, 1003)).isEqualTo(OptionalInt.of(0));
    }

    @Test
    void theTpotSloOfAHandoffSentSinceAReportTightensTheInstanceUntilTheNextReport() {
        DecodePlacement p = placement(2);
        p.report(0, 100, 100, 10, 46, 1000);
        p.report(1, 100, 100, 0, 0, 1000);
        // Each sequence of 1000 tokens adds 2 ms: 48 with the interactive one, 50 with a standard one, then 52.
        assertThat(p.place(10, 1000, 50, 50, 1001)).isEqualTo(OptionalInt.of(0));
        assertThat(p.tightestTpotMs(0)).isEqualTo(50);
        assertThat(p.place(10, 1000, 100, Double.POSITIVE_INFINITY, 1002)).isEqualTo(OptionalInt.of(0));
        assertThat(p.place(10, 1000, 100, Double.POSITIVE_INFINITY, 1003)).as("52 ms is past the interactive one's 50")
                .isEqualTo(OptionalInt.of(1));
        // A report covering the sends whose sequences have ended: no pace left to keep there.
        p.report(0, 100, 0, 100, 10, 46, Double.POSITIVE_INFINITY, 1003);
        assertThat(p.tightestTpotMs(0)).isInfinite();
        assertThat(p.place(10, 1000, 100, Double.POSITIVE_INFINITY, 1004)).isEqualTo(OptionalInt.of(0));
    }

    @Test
    void whenNoInstanceKeepsTheTargetTheMostFreeAdmittingOneWins() {
        DecodePlacement p = placement(3);
        p.report(0, 50, 100, 40, 80, 1000);
        p.report(1, 80, 100, 40, 80, 1000);
        p.report(2, 9, 100, 0, 0, 1000); // under the upper threshold: does not admit, fast as it is
        assertThat(p.place(20, 100, 50, 1001)).isEqualTo(OptionalInt.of(1));
        assertThat(p.uncommittedBlocks(1)).isEqualTo(60);
        assertThat(p.place(20, 100, 50, 1002)).as("60 free vs 50").isEqualTo(OptionalInt.of(1));
        assertThat(p.place(20, 100, 50, 1003)).as("40 free vs 50").isEqualTo(OptionalInt.of(0));
    }

    @Test
    void handoffsSentSinceAReportCountInStepAndBlocksUntilTheNextReport() {
        DecodePlacement p = placement(2);
        p.report(0, 100, 100, 10, 46, 1000);
        p.report(1, 100, 100, 0, 0, 1000);
        // Each sequence of 1000 tokens adds 2 ms: 48, then 50 with the one sent before, then 52.
        assertThat(p.place(10, 1000, 50, 1001)).isEqualTo(OptionalInt.of(0));
        assertThat(p.place(10, 1000, 50, 1002)).isEqualTo(OptionalInt.of(0));
        assertThat(p.place(10, 1000, 50, 1003)).isEqualTo(OptionalInt.of(1));
        assertThat(p.uncommittedBlocks(0)).isEqualTo(80);
        // A report after the first send counts it; the second is still on its way.
        p.report(0, 90, 100, 11, 48, 1001);
        assertThat(p.uncommittedBlocks(0)).isEqualTo(80);
        assertThat(p.stepMsWith(0, 1000)).isEqualTo(52);
    }

    @Test
    void handoffsQueuedOnAnInstanceStillCountAfterItsReport() {
        // A report taken while the handoffs sent before it are queued there, not yet admitted: its free blocks do
        // not show them, its inbound blocks do. Counting only the free ones (and dropping the sends the report
        // covers) let the next burst be placed on blocks already promised.
        DecodePlacement p = placement(2);
        assertThat(p.place(30, 479, 1e9, 1001)).isEqualTo(OptionalInt.of(0));
        assertThat(p.place(30, 479, 1e9, 1002)).isEqualTo(OptionalInt.of(0));
        p.report(0, 100, 60, 100, 0, 12, 1003);
        assertThat(p.uncommittedBlocks(0)).isEqualTo(40);
        assertThat(p.place(30, 479, 1e9, 1004)).as("30 of 40 uncommitted").isEqualTo(OptionalInt.of(0));
        assertThat(p.place(30, 479, 1e9, 1005)).as("10 left on 0").isEqualTo(OptionalInt.of(1));
        p.report(0, 100, 90, 100, 0, 15, 1006);
        assertThat(p.admitting(0)).as("10 % uncommitted: at the stop threshold, still admitting").isTrue();
        p.report(0, 100, 95, 100, 0, 15, 1007);
        assertThat(p.admitting(0)).as("5 % uncommitted: under the 10 % stop threshold").isFalse();
        p.report(0, 40, 0, 100, 3, 15, 1008);
        assertThat(p.admitting(0)).as("all admitted, 40 % free: over the 30 % resume threshold").isTrue();
    }

    @Test
    void anInstanceStopsAdmittingUnderTheUpperThresholdAndResumesOverTheLowerOne() {
        DecodePlacement p = placement(1);
        p.report(0, 15, 100, 0, 0, 1000);
        assertThat(p.place(6, 10, 50, 1001)).isEqualTo(OptionalInt.of(0));
        assertThat(p.admitting(0)).as("9 of 100 free").isFalse();
        assertThat(p.place(1, 10, 50, 1002)).as("nothing admits: the caller keeps the sequence").isEmpty();
        p.report(0, 20, 100, 0, 0, 1003);
        assertThat(p.admitting(0)).as("20 % free: still under the lower threshold").isFalse();
        assertThat(p.place(1, 10, 50, 1004)).isEmpty();
        p.report(0, 30, 100, 0, 0, 1005);
        assertThat(p.admitting(0)).isTrue();
        assertThat(p.place(1, 10, 50, 1006)).isEqualTo(OptionalInt.of(0));
    }

    @Test
    void unreportedInstancesAdmitAndStaleReportsAreIgnored() {
        DecodePlacement p = placement(2);
        assertThat(p.uncommittedBlocks(1)).as("unreported: an empty pool of the job's size").isEqualTo(100);
        assertThat(p.place(10, 100, 50, 1)).isEqualTo(OptionalInt.of(0));
        p.report(0, 10, 100, 0, 0, 50);
        p.report(0, 90, 100, 0, 0, 40);
        assertThat(p.uncommittedBlocks(0)).isEqualTo(10);
        assertThat(p.place(20, 100, 50, 60)).as("10 blocks free on 0").isEqualTo(OptionalInt.of(1));
        assertThatThrownBy(() -> placement(0)).isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> new DecodePlacement(1, 0, OPTIONS, MODEL)).isInstanceOf(IllegalArgumentException.class);
    }

    @Test
    void aBurstBeforeAnyReportSpreadsByTheAdmissionThresholds() {
        DecodePlacement p = placement(2);
        // OPTIONS stop admitting under 10 % free: instance 0 takes 12 handoffs of 8 blocks (4 of 100 left).
        int[] placed = new int[2];
        for (int i = 0; i < 16; i++) {
            placed[p.place(8, 100, 1e9, i).orElseThrow()]++;
        }
        assertThat(placed).as("handoffs per instance, no report yet").containsExactly(12, 4);
        assertThat(p.admitting(0)).isFalse();
    }
}
