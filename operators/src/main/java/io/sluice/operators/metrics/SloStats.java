package io.sluice.operators.metrics;

import io.sluice.schemas.FinishReason;
import io.sluice.schemas.RequestMetrics;
import org.HdrHistogram.Histogram;

/**
 * SLO outcome of a group of finished requests (a class, a tenant, a window): how many met their
 * SLO, how many were rejected or expired, the weight that met, and TTFT/TPOT percentiles
 * (HdrHistogram, microsecond resolution, 3 significant digits). Not thread-safe.
 */
public final class SloStats {

    private final Histogram ttftMicros = new Histogram(3);
    private final Histogram tpotMicros = new Histogram(3);
    private long finished;
    private long met;
    private long rejected;
    private long expired;
    private double weight;
    private double weightMet;

    /** Adds one finished request. */
    public void add(RequestMetrics m) {
        add(m.getFinishReason(), m.getSloMet(), m.getPriorityWeight(), m.getTtftMs(), m.getTpotMs());
    }

    /**
     * Adds one finished request.
     *
     * @param ttftMs null when it produced no token
     * @param tpotMs null with fewer than two tokens
     */
    public void add(FinishReason reason, boolean sloMet, double priorityWeight, Double ttftMs, Double tpotMs) {
        finished++;
        weight += priorityWeight;
        if (sloMet) {
            met++;
            weightMet += priorityWeight;
        }
        if (reason == FinishReason.REJECTED) {
            rejected++;
        } else if (reason == FinishReason.EXPIRED) {
            expired++;
        }
        record(ttftMicros, ttftMs);
        record(tpotMicros, tpotMs);
    }

    private static void record(Histogram histogram, Double ms) {
        if (ms != null && ms >= 0 && Double.isFinite(ms)) {
            histogram.recordValue(Math.round(ms * 1000));
        }
    }

    public long finished() { return finished; }
    public long met() { return met; }
    public long rejected() { return rejected; }
    public long expired() { return expired; }
    /** Sum of priority weights of requests that met their SLO. */
    public double weightMet() { return weightMet; }
    public double weight() { return weight; }

    /** Share of finished requests that met their SLO; 0 when none finished. */
    public double attainment() {
        return finished == 0 ? 0 : (double) met / finished;
    }

    /** TTFT percentile in ms (e.g. 99.0), NaN when no request produced a token. */
    public double ttftMs(double percentile) {
        return percentileMs(ttftMicros, percentile);
    }

    /** Mean-TPOT percentile in ms, NaN when no request produced two tokens. */
    public double tpotMs(double percentile) {
        return percentileMs(tpotMicros, percentile);
    }

    /** Percentile in ms of a histogram of microseconds; NaN when it is empty. */
    public static double percentileMs(Histogram histogram, double percentile) {
        return histogram.getTotalCount() == 0 ? Double.NaN : histogram.getValueAtPercentile(percentile) / 1000.0;
    }
}
