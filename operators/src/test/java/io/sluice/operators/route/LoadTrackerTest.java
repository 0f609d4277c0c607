package io.sluice.operators.route;

import static org.assertj.core.api.Assertions.assertThat;

import io.sluice.scheduling.RouterOptions;
import java.util.OptionalInt;
import org.junit.jupiter.api.Test;

/** The router's load view: candidates by predicted TTFT, least loaded wins, reports replace what they cover. */
class LoadTrackerTest {

    private static final RouterOptions OPTIONS = RouterOptions.defaults();
    private static final double LOOSE = 100_000;

    @Test
    void idleInstancesTakeTurns() {
        LoadTracker tracker = new LoadTracker(3, OPTIONS);
        int[] picks = new int[4];
        for (int k = 0; k < picks.length; k++) {
            picks[k] = tracker.routeWithin(0, 0, LOOSE, 0).getAsInt();
        }
        assertThat(picks).containsExactly(0, 1, 2, 0);
    }

    @Test
    void routesToTheLeastLoadedCountingWorkSentSinceTheLastReport() {
        LoadTracker tracker = new LoadTracker(2, OPTIONS);
        tracker.report(0, 500, 100);
        tracker.report(1, 100, 100);
        assertThat(tracker.routeWithin(0, 300, LOOSE, 110)).isEqualTo(OptionalInt.of(1)); // 500 vs 100
        assertThat(tracker.loadMs(1)).isEqualTo(400);
        assertThat(tracker.routeWithin(0, 300, LOOSE, 120)).isEqualTo(OptionalInt.of(1)); // 500 vs 400
        assertThat(tracker.routeWithin(0, 300, LOOSE, 130)).isEqualTo(OptionalInt.of(0)); // 500 vs 700
        // A report at 125 covers what was routed to 1 up to then, not the request routed at 130 to 0.
        tracker.report(1, 50, 125);
        assertThat(tracker.loadMs(1)).isEqualTo(50);
        assertThat(tracker.loadMs(0)).isEqualTo(800);
        tracker.report(0, 0, 140);
        assertThat(tracker.loadMs(0)).isZero();
    }

    @Test
    void aRequestNoInstanceCanServeInTimeQueuesWhereItsTtftIsLowest() {
        LoadTracker tracker = new LoadTracker(2, OPTIONS);
        tracker.report(0, 900, 100);
        tracker.report(1, 700, 100);
        // Waited 200 ms + load + 150 ms of its own: 1250 and 1050 ms, both over a 1000 ms target.
        assertThat(tracker.routeWithin(200, 150, 1000, 110)).isEmpty();
        assertThat(tracker.loadMs(1)).as("nothing recorded for an empty pick").isEqualTo(700);
        assertThat(tracker.routeToLowestTtft(150, 110)).isEqualTo(1);
        assertThat(tracker.loadMs(1)).isEqualTo(850);
    }

    @Test
    void olderReportsAndUnknownInstancesAreIgnored() {
        LoadTracker tracker = new LoadTracker(2, OPTIONS);
        tracker.report(0, 300, 200);
        tracker.report(0, 10, 150);
        tracker.report(7, 10, 300);
        assertThat(tracker.loadMs(0)).isEqualTo(300);
    }
}
