package io.sluice.operators;

import org.apache.flink.metrics.Counter;
import org.apache.flink.metrics.Gauge;
import org.apache.flink.metrics.Histogram;
import org.apache.flink.metrics.Meter;
import org.apache.flink.metrics.MeterView;
import org.apache.flink.metrics.MetricGroup;
import org.apache.flink.runtime.metrics.DescriptiveStatisticsHistogram;

/**
 * One instance's Flink metrics (shown per subtask in the web UI): queue and running-set sizes, free KV blocks,
 * last batch shape and time, estimator error, TTFT/TPOT histograms, tokens, SLO attainment and KV handoffs. The gauges read
 * volatile copies that the task thread refreshes, never the scheduler's own collections (reporters run on
 * other threads).
 */
final class InstanceMetrics {

    /** Batches the estimator's running MAPE mostly reflects. */
    static final int MAPE_BATCHES = 100;
    /** Samples each histogram keeps: enough for stable p99s, small enough to be cheap. */
    private static final int HISTOGRAM_WINDOW = 1024;

    private volatile int queueLength;
    private volatile int runningSequences;
    private volatile int freeKvBlocks;
    private volatile int lastBatchSequences;
    private volatile int lastBatchTokens;
    private volatile double estimatorErrorPercent;
    private volatile double estimatorMapePercent;
    private long batches;
    private final Histogram batchTimeUs;
    private final Histogram ttftMs;
    private final Histogram tpotMs;
    private final Counter tokens;
    private final Meter tokensPerSecond;
    private final Counter finished;
    private final Counter sloMet;
    private final Counter handoffs;
    private final Counter handoffBytes;
    private final Histogram handoffMs;

    InstanceMetrics(MetricGroup group) {
        group.gauge("queueLength", (Gauge<Integer>) () -> queueLength);
        group.gauge("runningSequences", (Gauge<Integer>) () -> runningSequences);
        group.gauge("freeKvBlocks", (Gauge<Integer>) () -> freeKvBlocks);
        group.gauge("lastBatchSequences", (Gauge<Integer>) () -> lastBatchSequences);
        group.gauge("lastBatchTokens", (Gauge<Integer>) () -> lastBatchTokens);
        group.gauge("estimatorErrorPercent", (Gauge<Double>) () -> estimatorErrorPercent);
        group.gauge("estimatorMapePercent", (Gauge<Double>) () -> estimatorMapePercent);
        batchTimeUs = group.histogram("batchTimeUs", new DescriptiveStatisticsHistogram(HISTOGRAM_WINDOW));
        ttftMs = group.histogram("ttftMs", new DescriptiveStatisticsHistogram(HISTOGRAM_WINDOW));
        tpotMs = group.histogram("tpotMs", new DescriptiveStatisticsHistogram(HISTOGRAM_WINDOW));
        tokens = group.counter("tokens");
        tokensPerSecond = group.meter("tokensPerSecond", new MeterView(tokens));
        finished = group.counter("requestsFinished");
        sloMet = group.counter("requestsSloMet");
        handoffs = group.counter("kvHandoffs");
        handoffBytes = group.counter("kvHandoffBytes");
        handoffMs = group.histogram("kvHandoffMs", new DescriptiveStatisticsHistogram(HISTOGRAM_WINDOW));
        group.gauge("sloAttainment", (Gauge<Double>) () -> {
            long n = finished.getCount();
            return n == 0 ? Double.NaN : (double) sloMet.getCount() / n;
        });
    }

    void queues(int queue, int running, int freeBlocks) {
        queueLength = queue;
        runningSequences = running;
        freeKvBlocks = freeBlocks;
    }

    /** A batch ran: its shape, its time, and the estimate's relative error (percent, signed). */
    void batch(int sequences, int batchTokens, double ms, double errorPercent) {
        lastBatchSequences = sequences;
        lastBatchTokens = batchTokens;
        estimatorErrorPercent = errorPercent;
        // The last batch's error alone swings with every stall; the mean absolute error over about the last
        // MAPE_BATCHES batches (a plain mean until there are that many) is what to compare with the profile's MAPE.
        batches++;
        double weight = 1.0 / Math.min(batches, MAPE_BATCHES);
        estimatorMapePercent += weight * (Math.abs(errorPercent) - estimatorMapePercent);
        batchTimeUs.update(Math.round(ms * 1000));
    }

    /** A prefill instance handed a sequence's KV of {@code bytes} to a decode instance. */
    void handoff(long bytes) {
        handoffs.inc();
        handoffBytes.inc(bytes);
    }

    /** A decode instance received a handoff {@code ms} after the prefill instance sent it. */
    void handoffReceived(long ms) {
        handoffMs.update(ms);
    }

    void token() {
        tokens.inc();
    }

    /** A request ended; TTFT and TPOT are NaN when it produced no (or a single) token. */
    void finished(boolean metSlo, double ttft, double tpot) {
        finished.inc();
        if (metSlo) {
            sloMet.inc();
        }
        if (!Double.isNaN(ttft)) {
            ttftMs.update(Math.round(ttft));
        }
        if (!Double.isNaN(tpot)) {
            tpotMs.update(Math.round(tpot));
        }
    }

    Meter tokensPerSecond() {
        return tokensPerSecond;
    }
}
