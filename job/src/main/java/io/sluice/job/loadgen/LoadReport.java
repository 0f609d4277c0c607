package io.sluice.job.loadgen;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.sluice.operators.metrics.SloStats;
import io.sluice.schemas.RequestMetrics;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.file.Path;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.StringJoiner;
import java.util.TreeMap;
import org.HdrHistogram.Histogram;

/**
 * What a load run measured: per priority class the SLO attainment and TTFT/TPOT percentiles (from
 * the job's per-request metrics, TTFT counted from the client's send time), goodput, the totals:
 * requests sent, finished, rejected, expired; the client-side TTFT with where it went (see
 * {@link FirstToken}); and the requests per pair of prefill and decode instance, with preemptions.
 */
public final class LoadReport {

    private final Map<String, SloStats> classes = new LinkedHashMap<>();
    private final SloStats overall = new SloStats();
    private final Histogram clientTtftMicros = new Histogram(3);
    private final Histogram jobMicros = new Histogram(3);
    private final Histogram toSinkMicros = new Histogram(3);
    private final Histogram throughKafkaMicros = new Histogram(3);
    /** Requests per (prefill instance, decode instance) pair, -1 for a request that had no decode step. */
    private final Map<List<Integer>, Integer> placements = new TreeMap<>(
            Comparator.<List<Integer>>comparingInt(l -> l.get(0)).thenComparingInt(l -> l.get(1)));
    private long preemptions;
    private long preemptedRequests;
    private final long requests;
    private final double seconds;

    /**
     * @param classOrder classes in the order to report them (those of the mix)
     * @param firstTokens per request that got a token, its first token's times (the job's metrics
     *     stop at the token's emission; the client's TTFT includes the way back through Kafka)
     * @param seconds    from the first send to the last final event
     */
    public LoadReport(List<String> classOrder, long requests, List<RequestMetrics> metrics, List<FirstToken> firstTokens,
            double seconds) {
        this.requests = requests;
        this.seconds = seconds;
        classOrder.forEach(c -> classes.put(c, new SloStats()));
        for (RequestMetrics m : metrics) {
            classes.computeIfAbsent(m.getPriorityClass(), c -> new SloStats()).add(m);
            overall.add(m);
            if (m.getPrefillInstance() >= 0) { // ran on an instance (not rejected at admission)
                placements.merge(List.of(m.getPrefillInstance(), m.getDecodeInstance()), 1, Integer::sum);
            }
            if (m.getPreemptions() > 0) {
                preemptions += m.getPreemptions();
                preemptedRequests++;
            }
        }
        for (FirstToken t : firstTokens) {
            record(clientTtftMicros, t.clientMs());
            record(jobMicros, t.jobMs());
            record(toSinkMicros, t.toSinkMs());
            record(throughKafkaMicros, t.throughKafkaMs());
        }
    }

    private static void record(Histogram h, long ms) {
        // Clocks read in whole ms on different threads: a part can come out -1 where it took under 1 ms.
        h.recordValue(Math.max(0, ms) * 1000);
    }

    public long requests() { return requests; }
    public long finished() { return overall.finished(); }
    public long rejected() { return overall.rejected(); }
    public long expired() { return overall.expired(); }
    public double attainment() { return overall.attainment(); }
    public SloStats byClass(String name) { return classes.get(name); }

    /**
     * Requests that ran on each pair of instances, "prefill->decode" (global ids: under PD separation the prefill
     * pool is 0..P-1, the decode pool P..P+D-1, so a pair with both ids equal is a hybrid conversion); the decode
     * id is "-" for a request with no decode step. Colocated, both ids are the one instance.
     */
    public Map<String, Integer> placements() {
        Map<String, Integer> out = new LinkedHashMap<>();
        placements.forEach((pd, n) -> out.put(pd.get(0) + "->" + (pd.get(1) < 0 ? "-" : pd.get(1)), n));
        return out;
    }

    /** Preemptions over all requests (each a swap to host memory or a recompute). */
    public long preemptions() { return preemptions; }

    /** Requests preempted at least once. */
    public long preemptedRequests() { return preemptedRequests; }

    /** Requests per second that met their SLO. */
    public double goodput() {
        return seconds <= 0 ? 0 : overall.met() / seconds;
    }

    /** Client-side TTFT percentile in ms, NaN when no token arrived. */
    public double clientTtftMs(double percentile) {
        return SloStats.percentileMs(clientTtftMicros, percentile);
    }

    /** Percentile in ms of the first token's send to its emission by the job (NaN without tokens). */
    public double firstTokenJobMs(double percentile) {
        return SloStats.percentileMs(jobMicros, percentile);
    }

    /** Percentile in ms of the first token's emission to its send by the job's Kafka producer. */
    public double firstTokenToSinkMs(double percentile) {
        return SloStats.percentileMs(toSinkMicros, percentile);
    }

    /** Percentile in ms of the first token's send by the job's producer to its read by the client. */
    public double firstTokenThroughKafkaMs(double percentile) {
        return SloStats.percentileMs(throughKafkaMicros, percentile);
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
        out.printf("  where it went, p50/p90: send to job emission %s/%s, emission to the job's producer %s/%s, "
                        + "producer to client %s/%s ms%n",
                ms(firstTokenJobMs(50)), ms(firstTokenJobMs(90)), ms(firstTokenToSinkMs(50)),
                ms(firstTokenToSinkMs(90)), ms(firstTokenThroughKafkaMs(50)), ms(firstTokenThroughKafkaMs(90)));
        if (!placements.isEmpty()) {
            StringJoiner pairs = new StringJoiner(", ");
            placements().forEach((pair, n) -> pairs.add(pair + " " + n));
            out.printf("requests per instance, prefill->decode: %s; preemptions %d (%d requests)%n", pairs,
                    preemptions, preemptedRequests);
        }
        out.printf("requests %d, finished %d, rejected %d, expired %d, goodput %.2f req/s over %.1f s%n",
                requests, overall.finished(), overall.rejected(), overall.expired(), goodput(), seconds);
    }

    private static void row(PrintStream out, String name, SloStats s) {
        // A class with nothing finished has no attainment (as the simulator's report): "-", not a failing 0 %.
        out.printf("%-12s %8d %8d %11s %9s %9s %9s %9s %9s %9s%n", name, s.finished(), s.met(),
                s.finished() == 0 ? "-" : String.format("%.1f%%", 100 * s.attainment()), ms(s.ttftMs(50)), ms(s.ttftMs(90)), ms(s.ttftMs(99)),
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
        putAttainment(root, overall);
        root.put("goodput", goodput());
        root.put("seconds", seconds);
        ObjectNode parts = mapper.createObjectNode();
        for (double p : new double[] {50, 90, 99}) {
            putMs(root, "client_ttft_p" + (int) p + "_ms", clientTtftMs(p));
            putMs(parts, "job_p" + (int) p + "_ms", firstTokenJobMs(p));
            putMs(parts, "to_sink_p" + (int) p + "_ms", firstTokenToSinkMs(p));
            putMs(parts, "through_kafka_p" + (int) p + "_ms", firstTokenThroughKafkaMs(p));
        }
        root.set("first_token", parts);
        ArrayNode instances = root.putArray("instances");
        placements.forEach((pd, n) -> {
            ObjectNode pair = instances.addObject();
            pair.put("prefill_instance", pd.get(0));
            pair.put("decode_instance", pd.get(1));
            pair.put("requests", n);
        });
        root.put("preemptions", preemptions);
        root.put("preempted_requests", preemptedRequests);
        ArrayNode array = root.putArray("classes");
        for (Map.Entry<String, SloStats> e : classes.entrySet()) {
            SloStats s = e.getValue();
            ObjectNode c = array.addObject();
            c.put("class", e.getKey());
            c.put("finished", s.finished());
            c.put("met", s.met());
            putAttainment(c, s);
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

    private static void putAttainment(ObjectNode node, SloStats s) {
        if (s.finished() == 0) {
            node.putNull("attainment");
        } else {
            node.put("attainment", s.attainment());
        }
    }

    private static void putMs(ObjectNode node, String field, double value) {
        if (Double.isNaN(value)) {
            node.putNull(field);
        } else {
            node.put(field, value);
        }
    }
}
