package io.sluice.scheduling;

import static io.sluice.scheduling.TestRequests.request;
import static org.assertj.core.api.Assertions.assertThat;

import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

/** The routing rules shared by the simulator's Router and the job, on plain arrays. */
class RoutingRulesTest {

    private static final RouterOptions OPTIONS = RouterOptions.defaults(); // mu 0.3, lambda 0.8, stop 5 %, resume 15 %

    private static int pickPrefill(double[] backlog, double[] ttft, double target, int first) {
        return RoutingRules.pickPrefill(backlog.length, first, i -> true, i -> backlog[i], i -> ttft[i], target,
                OPTIONS);
    }

    @Test
    void newRequestsGoToALightCandidateBeforeAModerateOneBeforeAHeavyOne() {
        // Loads (backlog / 1000 ms): 0.9 heavy, 0.5 moderate, 0.1 light but over the target, 0.2 light.
        double[] backlog = {900, 500, 100, 200};
        double[] ttft = {950, 550, 1200, 250};
        assertThat(pickPrefill(backlog, ttft, 1000, 0)).isEqualTo(3);
        ttft[3] = 1100;
        assertThat(pickPrefill(backlog, ttft, 1000, 0)).as("no light candidate: the moderate one").isEqualTo(1);
        ttft[1] = 1100;
        assertThat(pickPrefill(backlog, ttft, 1000, 0)).as("only a heavy candidate").isEqualTo(0);
        ttft[0] = 1100;
        assertThat(pickPrefill(backlog, ttft, 1000, 0)).as("no candidate").isEqualTo(RoutingRules.NONE);
        assertThat(RoutingRules.lowestTtft(4, 0, i -> i != 2, i -> ttft[i])).as("queue where TTFT is lowest")
                .isEqualTo(0);
    }

    @Test
    void theStartOnlyBreaksTies() {
        double[] backlog = {5, 0, 0};
        double[] ttft = {15, 10, 10};
        assertThat(pickPrefill(backlog, ttft, 1000, 0)).isEqualTo(1);
        assertThat(pickPrefill(backlog, ttft, 1000, 2)).isEqualTo(2);
        assertThat(pickPrefill(backlog, ttft, 1000, 1)).isEqualTo(1);
    }

    @Test
    void admissionStopsUnderTheUpperThresholdAndResumesAtTheLowerOne() {
        assertThat(RoutingRules.admits(true, 0.06, OPTIONS)).isTrue();
        assertThat(RoutingRules.admits(true, 0.04, OPTIONS)).isFalse();
        assertThat(RoutingRules.admits(false, 0.10, OPTIONS)).as("between the thresholds: stays stopped").isFalse();
        assertThat(RoutingRules.admits(false, 0.15, OPTIONS)).isTrue();
    }

    @Test
    void decodeGoesToTheFirstInstanceThatKeepsItsPaceElseTheMostFree() {
        double[] step = {60, 40, 30};
        int[] free = {500, 100, 200};
        assertThat(RoutingRules.pickDecode(3, i -> true, i -> step[i], i -> free[i], i -> 50))
                .as("first within the TPOT target, not the most free").isEqualTo(1);
        assertThat(RoutingRules.pickDecode(3, i -> true, i -> step[i], i -> free[i], i -> 20))
                .as("none within the target: the most free").isZero();
        assertThat(RoutingRules.pickDecode(3, i -> i != 0, i -> step[i], i -> free[i], i -> 20)).isEqualTo(2);
        assertThat(RoutingRules.pickDecode(3, i -> false, i -> step[i], i -> free[i], i -> 50)).isEqualTo(RoutingRules.NONE);
    }

    @Test
    void decodePlacementAsksAdmissionOnlyUpToItsPick() {
        // The Router updates admission hysteresis when the rule reaches an instance: never past the pick.
        List<Integer> asked = new ArrayList<>();
        double[] step = {60, 40, 30};
        RoutingRules.pickDecode(3, i -> asked.add(i), i -> step[i], i -> 0, i -> 50);
        assertThat(asked).containsExactly(0, 1);
    }

    @Test
    void hybridPrefillsGoToTheDecodeInstanceWithTheMostSlackUnderTheBound() {
        assertThat(RoutingRules.hybridStepBoundMs(100, 4)).isEqualTo(75);
        assertThat(RoutingRules.hybridAllowed(2048, 2, OPTIONS)).isTrue();
        assertThat(RoutingRules.hybridAllowed(2049, 2, OPTIONS)).as("too long a prompt").isFalse();
        assertThat(RoutingRules.hybridAllowed(10, 1, OPTIONS)).as("a single decode instance").isFalse();
        double[] stepWithPrefill = {70, 40, 30, 80};
        assertThat(RoutingRules.pickHybrid(4, i -> i != 2, i -> stepWithPrefill[i], 75)).isEqualTo(1);
        assertThat(RoutingRules.pickHybrid(4, i -> i == 3, i -> stepWithPrefill[i], 75)).isEqualTo(RoutingRules.NONE);
    }

    @Test
    void targetsFallBackToTheRoutersDefaultsWithoutAnSlo() {
        PolicyOptions deadlines = RoutingRules.deadlineOptions(OPTIONS);
        Request none = request("none", 1, Slo.NONE, 10, 10, 0);
        assertThat(RoutingRules.ttftTargetMs(none, deadlines)).isEqualTo(OPTIONS.defaultTtftMs());
        assertThat(RoutingRules.tpotTargetMs(none, deadlines, OPTIONS)).isEqualTo(OPTIONS.defaultTpotMs());
        Request slo = request("slo", 1, Slo.interactive(400, 30), 10, 10, 0);
        assertThat(RoutingRules.ttftTargetMs(slo, deadlines)).isEqualTo(400);
        assertThat(RoutingRules.tpotTargetMs(slo, deadlines, OPTIONS)).isEqualTo(30);
    }
}
