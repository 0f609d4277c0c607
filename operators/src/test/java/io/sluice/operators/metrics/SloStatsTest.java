package io.sluice.operators.metrics;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

import io.sluice.schemas.FinishReason;
import org.junit.jupiter.api.Test;

/** SLO statistics of a group of finished requests. */
class SloStatsTest {

    @Test
    void countsAttainmentWeightAndPercentiles() {
        SloStats stats = new SloStats();
        for (int i = 1; i <= 100; i++) {
            stats.add(FinishReason.LENGTH, i <= 80, 2.0, (double) i, i % 2 == 0 ? 10.0 : null);
        }
        stats.add(FinishReason.REJECTED, false, 1.0, null, null);
        stats.add(FinishReason.EXPIRED, false, 1.0, null, null);

        assertThat(stats.finished()).isEqualTo(102);
        assertThat(stats.met()).isEqualTo(80);
        assertThat(stats.rejected()).isEqualTo(1);
        assertThat(stats.expired()).isEqualTo(1);
        assertThat(stats.attainment()).isCloseTo(80 / 102.0, within(1e-12));
        assertThat(stats.weightMet()).isEqualTo(160.0);
        assertThat(stats.weight()).isEqualTo(202.0);
        assertThat(stats.ttftMs(50)).isCloseTo(50, within(0.1));
        assertThat(stats.ttftMs(99)).isCloseTo(99, within(0.1));
        assertThat(stats.tpotMs(90)).isCloseTo(10, within(0.01));
    }

    @Test
    void emptyGroupsReportNothingMadeUp() {
        SloStats stats = new SloStats();
        assertThat(stats.attainment()).isZero();
        assertThat(stats.ttftMs(50)).isNaN();
        assertThat(stats.tpotMs(50)).isNaN();
    }
}
