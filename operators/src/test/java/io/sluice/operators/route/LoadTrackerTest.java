package io.sluice.operators.route;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.Test;

/** The router's load view: least loaded wins, reports replace what they cover, ties rotate. */
class LoadTrackerTest {

    @Test
    void idleInstancesTakeTurns() {
        LoadTracker tracker = new LoadTracker(3);
        assertThat(new int[] {tracker.route(0, 0), tracker.route(0, 0), tracker.route(0, 0), tracker.route(0, 0)})
                .containsExactly(0, 1, 2, 0);
    }

    @Test
    void routesToTheLeastLoadedCountingWorkSentSinceTheLastReport() {
        LoadTracker tracker = new LoadTracker(2);
        tracker.report(0, 500, 100);
        tracker.report(1, 100, 100);
        assertThat(tracker.route(300, 110)).isEqualTo(1); // 500 vs 100
        assertThat(tracker.loadMs(1)).isEqualTo(400);
        assertThat(tracker.route(300, 120)).isEqualTo(1); // 500 vs 400
        assertThat(tracker.route(300, 130)).isEqualTo(0); // 500 vs 700
        // A report at 125 covers what was routed to 1 up to then, not the request routed at 130 to 0.
        tracker.report(1, 50, 125);
        assertThat(tracker.loadMs(1)).isEqualTo(50);
        assertThat(tracker.loadMs(0)).isEqualTo(800);
        tracker.report(0, 0, 140);
        assertThat(tracker.loadMs(0)).isZero();
    }

    @Test
    void olderReportsAndUnknownInstancesAreIgnored() {
        LoadTracker tracker = new LoadTracker(2);
        tracker.report(0, 300, 200);
        tracker.report(0, 10, 150);
        tracker.report(7, 10, 300);
        assertThat(tracker.loadMs(0)).isEqualTo(300);
    }
}
