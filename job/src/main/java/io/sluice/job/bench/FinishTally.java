package io.sluice.job.bench;

import io.sluice.schemas.RequestMetrics;
import org.apache.flink.api.common.functions.OpenContext;
import org.apache.flink.api.common.functions.RichFlatMapFunction;
import org.apache.flink.util.Collector;

/**
 * Counts one instance's finished requests (chained to it, so counting costs no exchange) and sends a
 * running total now and then, and when the instance has finished all of its share: a few records per
 * thousand requests reach the benchmark's client instead of one per request.
 */
final class FinishTally extends RichFlatMapFunction<RequestMetrics, FinishTally.Tally> {
    private static final long serialVersionUID = 1L;
    /** Finished requests between two totals. */
    static final int EVERY = 1000;

    private final long requests;
    private transient Tally tally;
    private transient long expected;

    /** One instance's running total; a Flink POJO. */
    public static final class Tally {
        public int instance;
        public long finished;
        public long met;
        public long tokens;
        /** Sum and largest of the finished requests' end-to-end times (ms): a run that keeps up keeps them low. */
        public double e2eSumMs;
        public double e2eMaxMs;
        /** Finish times (the metrics' finished_at, epoch ms) of its first and latest finished request. */
        public long firstFinishedAtMs = Long.MAX_VALUE;
        public long lastFinishedAtMs = Long.MIN_VALUE;

        public Tally() {}

        Tally copy() {
            Tally t = new Tally();
            t.instance = instance;
            t.finished = finished;
            t.met = met;
            t.tokens = tokens;
            t.e2eSumMs = e2eSumMs;
            t.e2eMaxMs = e2eMaxMs;
            t.firstFinishedAtMs = firstFinishedAtMs;
            t.lastFinishedAtMs = lastFinishedAtMs;
            return t;
        }
    }

    /** @param requests all requests of the run; instance i gets those numbered i mod instances */
    FinishTally(long requests) {
        this.requests = requests;
    }

    @Override
    public void open(OpenContext openContext) {
        int instance = getRuntimeContext().getTaskInfo().getIndexOfThisSubtask();
        int instances = getRuntimeContext().getTaskInfo().getNumberOfParallelSubtasks();
        expected = requests / instances + (instance < requests % instances ? 1 : 0);
        tally = new Tally();
        tally.instance = instance;
    }

    @Override
    public void flatMap(RequestMetrics m, Collector<Tally> out) {
        long at = m.getFinishedAt().toEpochMilli();
        tally.finished++;
        tally.tokens += m.getGeneratedTokens();
        tally.e2eSumMs += m.getE2eMs();
        tally.e2eMaxMs = Math.max(tally.e2eMaxMs, m.getE2eMs());
        if (m.getSloMet()) {
            tally.met++;
        }
        tally.firstFinishedAtMs = Math.min(tally.firstFinishedAtMs, at);
        tally.lastFinishedAtMs = Math.max(tally.lastFinishedAtMs, at);
        if (tally.finished % EVERY == 0 || tally.finished == expected) {
            out.collect(tally.copy());
        }
    }
}
