package io.sluice.job.loadgen;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.sluice.operators.metrics.SloStats;
import io.sluice.schemas.RequestMetrics;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.HdrHistogram.Histogram;

/**
 * What a load run measured: per priority class the SLO attainment and TTFT/TPOT percentiles (from
 * the job's per-request metrics, TTFT counted from the client's send time), goodput, and the
 * totals: requests sent, finished, rejected, expired.
 */
public final class LoadReport {

    private final Map<String, SloStats> classes = new LinkedHashMap<>();
    private final SloStats overall = new SloStats();
    private final Histogram clientTtftMicros = new Histogram(3);
    private final long requests;
    private final double seconds;

    /**
     * @param classOrder classes in the order to report them (those of the mix)
     * @param clientTtftMs per request, from its send to its first token reaching the client (the
     *     job's metrics stop at the token's emission; this includes the way back through Kafka)
     * @param seconds    from the first send to the last final event
     */
    public LoadReport(List<String> classOrder, long requests, List<RequestMetrics> metrics, List<Double> clientTtftMs,
            double seconds) {
        this.requests = requests;
        this.seconds = seconds;
        classOrder.forEach(c -> classes.put(c, new SloStats()));
        for (RequestMetrics m : metrics) {
            classes.computeIfAbsent(m.getPriorityClass(), c -> new SloStats()).add(m);
            overall.add(m);
        }
        clientTtftMs.forEach(ms -> clientTtftMicros.recordValue(Math.max(0, Math.round(ms * 1000))));
    }

    public long requests() { return requests; }
    public long finished() { return overall.finished(); }
    public long rejected() { return overall.rejected(); }
    public long expired() { return overall.expired(); }
    public double attainment() { return overall.attainment(); }
    public SloStats byClass(String name) { return classes.get(name); }

    /** Requests per second that met their SLO. */
    public double goodput() {
        return seconds <= 0 ? 0 : overall.met() / seconds;
    }

    /** Client-side TTFT percentile in ms, NaN when no token arrived. */
    public double clientTtftMs(double percentile) {
        return clientTtftMicros.getTotalCount() == 0 ? Double.NaN
                : clientTtftMicros.getValueAtPercentile(percentile) / 1000.0;
    }

    /** A table for people. */
    public void print(PrintStream out) {
        out.printf("%-12s %8s %8s %11s %9s %9s %9s %9s %9s %9s%n", "class", "finished", "met", "attainment",
                "ttft p50", "ttft p90", "ttft p99", "tpot p50", "tpot p90", "tpot p99");
        for (Map.Entry<String, SloStats> e : classes.entrySet()) {
            row(out, e.getKey(), e.getValue());
        }
        row(out, "all", overall);
        out.printf("client-side TTFT (send to first token received): p50 %s, p90 %s, p99 %s ms%n",
                ms(clientTtftMs(50)), ms(clientTtftMs(90)), ms(clientTtftMs(99)));
        out.printf("requests %d, finished %d, rejected %d, expired %d, goodput %.2f req/s over %.1f s%n",
                requests, overall.finished(), overall.rejected(), overall.expired(), goodput(), seconds);
    }

    private static void row(PrintStream out, String name, SloStats s) {
        out.printf("%-12s %8d %8d %10.1f%% %9s %9s %9s %9s %9s %9s%n", name, s.finished(), s.met(),
                100 * s.attainment(), ms(s.ttftMs(50)), ms(s.ttftMs(90)), ms(s.ttftMs(99)),
                ms(s.tpotMs(50)), ms(s.tpotMs(90)), ms(s.tpotMs(99)));
    }

    private static String ms(double v) {
        return Double.isNaN(v) ? "-" : String.format("%.1f", v);
    }

    /** The same report as JSON; a percentile no request produced is null. */
    public ObjectNode toJson() {
        ObjectMapper mapper = new ObjectMapper();
        ObjectNode root = mapper.createObjectNode();
        root.put("requests", requests);
        root.put("finished", overall.finished());
        root.put("rejected", overall.rejected());
        root.put("expired", overall.expired());
        root.put("attainment", overall.attainment());
        root.put("goodput", goodput());
        root.put("seconds", seconds);
        for (double p : new double[] {50, 90, 99}) {
            putMs(root, "client_ttft_p" + (int) p + "_ms", clientTtftMs(p));
        }
        ArrayNode array = root.putArray("classes");
        for (Map.Entry<String, SloStats> e : classes.entrySet()) {
            SloStats s = e.getValue();
            ObjectNode c = array.addObject();
            c.put("class", e.getKey());
            c.put("finished", s.finished());
            c.put("met", s.met());
            c.put("attainment", s.attainment());
            c.put("rejected", s.rejected());
            c.put("expired", s.expired());
            c.put("goodput", seconds <= 0 ? 0 : s.met() / seconds);
            for (double p : new double[] {50, 90, 99}) {
                putMs(c, "ttft_p" + (int) p + "_ms", s.ttftMs(p));
                putMs(c, "tpot_p" + (int) p + "_ms", s.tpotMs(p));
            }
        }
        return root;
    }

    public void writeJson(Path file) throws IOException {
        new ObjectMapper().writerWithDefaultPrettyPrinter().writeValue(file.toFile(), toJson());
    }

    private static void putMs(ObjectNode node, String field, double value) {
        if (Double.isNaN(value)) {
            node.putNull(field);
        } else {
            node.put(field, value);
        }
    }
}
