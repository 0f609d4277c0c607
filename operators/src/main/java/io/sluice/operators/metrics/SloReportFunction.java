package io.sluice.operators.metrics;

import io.sluice.schemas.RequestMetrics;
import io.sluice.schemas.SloReport;
import java.time.Instant;
import org.apache.flink.streaming.api.functions.windowing.ProcessWindowFunction;
import org.apache.flink.streaming.api.windowing.windows.TimeWindow;
import org.apache.flink.util.Collector;

/** Turns one window of one tenant and class's finished requests into an {@link SloReport}. */
public final class SloReportFunction extends ProcessWindowFunction<RequestMetrics, SloReport, String, TimeWindow> {
    private static final long serialVersionUID = 1L;

    /** The key a metrics record is grouped by: tenant and priority class. */
    public static String groupKey(RequestMetrics m) {
        return m.getTenant() + "\u0000" + m.getPriorityClass();
    }

    @Override
    public void process(String key, Context context, Iterable<RequestMetrics> elements, Collector<SloReport> out) {
        SloStats stats = new SloStats();
        RequestMetrics any = null;
        for (RequestMetrics m : elements) {
            stats.add(m);
            any = m;
        }
        if (any == null) {
            return;
        }
        TimeWindow window = context.window();
        double seconds = Math.max(1e-3, (window.getEnd() - window.getStart()) / 1000.0);
        out.collect(SloReport.newBuilder()
                .setTenant(any.getTenant())
                .setPriorityClass(any.getPriorityClass())
                .setWindowStart(Instant.ofEpochMilli(window.getStart()))
                .setWindowEnd(Instant.ofEpochMilli(window.getEnd()))
                .setFinished((int) stats.finished())
                .setSloMet((int) stats.met())
                .setRejected((int) stats.rejected())
                .setExpired((int) stats.expired())
                .setAttainment(stats.attainment())
                .setGoodputRps(stats.met() / seconds)
                .setTtftP50Ms(orZero(stats.ttftMs(50)))
                .setTtftP90Ms(orZero(stats.ttftMs(90)))
                .setTtftP99Ms(orZero(stats.ttftMs(99)))
                .setTpotP50Ms(orZero(stats.tpotMs(50)))
                .setTpotP90Ms(orZero(stats.tpotMs(90)))
                .setTpotP99Ms(orZero(stats.tpotMs(99)))
                .build());
    }

    /** The report's percentile fields are not nullable: a window without tokens reports 0. */
    private static double orZero(double value) {
        return Double.isNaN(value) ? 0 : value;
    }
}
