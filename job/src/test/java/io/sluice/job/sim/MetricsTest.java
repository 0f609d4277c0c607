package io.sluice.job.sim;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

import org.junit.jupiter.api.Test;

/** The report's numbers on a hand-computed handful of outcomes. */
class MetricsTest {

    private static final Mix MIX = Mix.parse("chat:1:w=2:ttft=100:tpot=10,batch:1:w=0.5:deadline=1000,idle:1:ttft=1");

    @Test
    void everyRequestIsInTheDenominatorAndTimeRunsFromTheFirstArrivalToTheLastEnd() {
        Metrics m = new Metrics(MIX, false);
        m.arrival(1_000);
        m.arrival(1_500);
        m.arrival(1_700);
        m.arrival(1_800);
        // chat: met, 10 tokens, one preemption; chat: refused at the door; batch: one token, past its deadline;
        // batch: dropped by the policy after 3 tokens (they are not counted as generated).
        m.finished(0, 2, true, true, 50, 5, 10, 1, 1_200);
        m.rejected(0, 2, 1_500);
        m.finished(1, 0.5, true, false, 300, 0, 1, 0, 2_500);
        m.finished(1, 0.5, false, false, 20, 4, 3, 0, 2_000);
        PolicyReport r = m.report("p", 1);

        assertThat(r.requests()).isEqualTo(4);
        assertThat(r.completed()).isEqualTo(2);
        assertThat(r.met()).isEqualTo(1);
        assertThat(r.attainment()).as("rejected and dropped count as misses").isEqualTo(0.25);
        assertThat(r.simulatedSeconds()).as("1,000 ms to 2,500 ms").isCloseTo(1.5, within(1e-12));
        assertThat(r.goodput()).isCloseTo(1 / 1.5, within(1e-12));
        assertThat(r.tokensPerSecond()).as("tokens of the requests that finished").isCloseTo(11 / 1.5, within(1e-12));
        assertThat(r.gain()).isEqualTo(2.0);
        assertThat(r.gainShare()).isCloseTo(2 / 5.0, within(1e-12));
        assertThat(r.preemptions()).isEqualTo(1);
        assertThat(r.rejections()).isEqualTo(2);
        assertThat(m.misses()).isEqualTo(3);

        ClassReport chat = r.classReport("chat");
        assertThat(chat.requests()).isEqualTo(2);
        assertThat(chat.attainment()).isEqualTo(0.5);
        // One request: every percentile is its value, to HdrHistogram's 3 significant digits.
        assertThat(chat.ttftP50()).isCloseTo(50, within(0.05));
        assertThat(chat.ttftP99()).isCloseTo(50, within(0.05));
        assertThat(chat.tpotP90()).isCloseTo(5, within(0.005));
        ClassReport batch = r.classReport("batch");
        assertThat(batch.ttftP50()).as("the dropped request has no TTFT in the percentiles").isCloseTo(300, within(0.3));
        assertThat(batch.tpotP50()).as("a one-token answer has no TPOT").isNull();
        ClassReport idle = r.classReport("idle");
        assertThat(idle.attainment()).as("no request: no attainment, not 0").isNaN();
        assertThat(idle.ttftP50()).isNull();
    }

    @Test
    void percentilesAreNearestRank() {
        Metrics m = new Metrics(MIX, false);
        m.arrival(0);
        for (int i = 1; i <= 7; i++) {
            m.finished(0, 2, true, true, 100 * i, 1, 2, 0, 1_000);
        }
        ClassReport chat = m.report("p", 1).classReport("chat");
        // 7 values: p50 is the 4th (ceil(3.5)), p90 the 7th (ceil(6.3)), p99 the 7th.
        assertThat(chat.ttftP50()).isCloseTo(400, within(0.4));
        assertThat(chat.ttftP90()).isCloseTo(700, within(0.7));
        assertThat(chat.ttftP99()).isCloseTo(700, within(0.7));
    }
}
