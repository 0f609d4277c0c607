package io.sluice.job.cli;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.sluice.job.sim.ClassReport;
import io.sluice.job.sim.CostModel;
import io.sluice.job.sim.CostModels;
import io.sluice.job.sim.EstimatorProfile;
import io.sluice.job.sim.Mix;
import io.sluice.job.sim.Plots;
import io.sluice.job.sim.PolicyReport;
import io.sluice.job.sim.RooflineCostModel;
import io.sluice.job.sim.ServiceClass;
import io.sluice.job.sim.SimulationStudy;
import io.sluice.job.sim.Simulator;
import io.sluice.job.sim.Sweep;
import io.sluice.job.sim.Topology;
import io.sluice.job.sim.TraceFormat;
import io.sluice.job.sim.TraceReader;
import io.sluice.job.sim.TraceRecord;
import io.sluice.scheduling.LatencyModel;
import io.sluice.scheduling.Policies;
import io.sluice.scheduling.PolicyOptions;
import io.sluice.scheduling.RouterOptions;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.PrintWriter;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/** {@code sluice simulate}: compares batching policies on a request trace in the discrete-event simulator. */
@Command(
        name = "simulate",
        mixinStandardHelpOptions = true,
        description = "Replays a request trace through the production scheduling policies on simulated instances"
                + " (a roofline cost model of a model on a device, or a profile of the real engine) and reports SLO"
                + " attainment, goodput, weighted gain and latency percentiles per policy and class. Progress goes"
                + " to stderr.",
        sortOptions = false)
public final class SimulateCommand implements Callable<Integer> {

    private static final double GIB = 1024.0 * 1024 * 1024;

    @Spec CommandSpec spec;

    @Option(names = "--trace", required = true, description = "Trace file.")
    Path trace;

    @Option(names = "--format", description = "azure (also BurstGPT) | mooncake | lengths (default: from the file: JSON lines are"
            + " mooncake, a CSV with a timestamp column azure, else lengths).")
    String format;

    @Option(names = "--policy", split = ",", description = "Policies to compare (default: all: ${DEFAULT-VALUE}).")
    List<String> policies = new ArrayList<>(Policies.names());

    @Option(names = "--instances", defaultValue = "4", description = "N colocated instances, or P:D for PD separation"
            + " (default: ${DEFAULT-VALUE}).")
    String instances;

    @Option(names = "--cost-model", defaultValue = "a100-llama2-7b", description = "a100-llama2-7b | h100-llama2-7b |"
            + " h100-llama3-8b | profile:FILE (default: ${DEFAULT-VALUE}).")
    String costModel;

    @Option(names = "--mix", defaultValue = Mix.DEFAULT, description = "Classes: name:share[:w=W][:ttft=MS][:tpot=MS]"
            + "[:deadline=MS],... (default: ${DEFAULT-VALUE}).")
    String mix;

    @Option(names = "--rate-scale", defaultValue = "1", description = "Divides arrival times: 2 doubles the load"
            + " (default: ${DEFAULT-VALUE}).")
    double rateScale;

    @Option(names = "--rate", defaultValue = "1", description = "Poisson arrivals per second for a lengths trace"
            + " (default: ${DEFAULT-VALUE}).")
    double rate;

    @Option(names = "--arrival-cv", defaultValue = "1", description = "Coefficient of variation of a lengths trace's"
            + " arrival gaps: 1 is Poisson, above 1 bursty (gamma gaps, same mean rate) (default: ${DEFAULT-VALUE}).")
    double arrivalCv;

    @Option(names = "--limit", description = "Use only the first N requests of the trace (default: all).")
    Integer limit;

    @Option(names = "--sweep", description = "Find each policy's capacity (largest rate scale with attainment >= "
            + "--target) and compare all policies at the load where --reference-policy attains --reference-attainment.")
    boolean sweep;

    @Option(names = "--target", defaultValue = "0.9", description = "Attainment that defines capacity (default: ${DEFAULT-VALUE}).")
    double target;

    @Option(names = "--reference-policy", defaultValue = "fcfs", description = "Policy whose attainment defines the"
            + " reference load in a sweep; 'none' to skip (default: ${DEFAULT-VALUE}).")
    String referencePolicy;

    @Option(names = "--reference-attainment", defaultValue = "0.8", description = "Attainment of the reference policy"
            + " that defines the reference load (default: ${DEFAULT-VALUE}).")
    double referenceAttainment;

    @Option(names = "--seed", defaultValue = "1", description = "Seeds class assignment and Poisson arrivals"
            + " (default: ${DEFAULT-VALUE}).")
    long seed;

    @Option(names = "--link-gbytes", defaultValue = "25", description = "KV handoff bandwidth between prefill and decode"
            + " instances, GB/s (default: ${DEFAULT-VALUE}).")
    double linkGBytes;

    @Option(names = "--host-kv-gib", defaultValue = "0", description = "Host-tier KV capacity per instance in GiB;"
            + " 0 means preemption recomputes (default: ${DEFAULT-VALUE}).")
    double hostKvGib;

    @Option(names = "--host-link-gbytes", defaultValue = "25", description = "Device<->host copy bandwidth, GB/s"
            + " (default: ${DEFAULT-VALUE}).")
    double hostLinkGBytes;

    @Option(names = "--max-batch-tokens", description = "Override the policies' token budget per batch (default: vLLM's"
            + " per-device default).")
    Integer maxBatchTokens;

    @Option(names = "--max-seqs", description = "Override the policies' running-sequence limit (default: each policy's own).")
    Integer maxSeqs;

    // Real clients send a cap and learn the length at EOS, so that is the default: policies tuned with the true
    // length in advance (0, an oracle) would be tuned for the trace file, not for traffic.
    @Option(names = "--max-new-tokens", defaultValue = "512", description = "The max_new_tokens every client sends"
            + " (at least a request's true length, at most what its context leaves); requests end at the trace's"
            + " output length as if by EOS, unknown to the policies. 0: policies are given the true length"
            + " (an oracle; default: ${DEFAULT-VALUE}).")
    int maxNewTokens;

    @Option(names = "--drop-late", description = "Let policies reject requests that can no longer meet their SLO.")
    boolean dropLate;

    @Option(names = "--threads", description = "Simulations run at once: policies, sweeps and the reference search"
            + " are independent runs; the report is the same for any count (default: the processor count).")
    Integer threads;

    @Option(names = "--repeat", defaultValue = "1", description = "Run the whole study this many times in one JVM and"
            + " print each pass's speed: the first pass also pays for the JIT compiling the simulator, later ones"
            + " show its steady speed. Every pass must give the same results (the report is the last one's)"
            + " (default: ${DEFAULT-VALUE}).")
    int repeat;

    @Option(names = "--json", description = "Print one JSON object instead of tables.")
    boolean json;

    @Option(names = "--plot", description = "Write attainment-vs-load and TTFT-CDF charts to this PNG.")
    Path plot;

    @Override
    public Integer call() throws IOException {
        try {
            return simulate();
        } catch (IllegalArgumentException e) {
            // A user error (bad trace, spec or option): say what is wrong, not where in the code.
            spec.commandLine().getErr().println("sluice simulate: " + e.getMessage());
            spec.commandLine().getErr().flush();
            return 2;
        }
    }

    private int simulate() throws IOException {
        PrintWriter out = spec.commandLine().getOut();
        PrintWriter progress = spec.commandLine().getErr();
        TraceFormat fmt = format != null ? TraceFormat.parse(format) : guessFormat(trace);
        checkNumbers();
        for (String p : policies) {
            Policies.create(p, PolicyOptions.defaults());
        }
        int threadCount = threads != null ? threads : Runtime.getRuntime().availableProcessors();
        OptionChecks.atLeast("--threads", threadCount, 1);
        CostModel cost = CostModels.parse(costModel);
        Mix classes = Mix.parse(mix);
        Topology topology = Topology.parse(instances);
        List<TraceRecord> records = TraceReader.read(trace, fmt, rate, seed, arrivalCv);
        if (limit != null) {
            records = records.subList(0, Math.min(limit, records.size()));
        }
        int[] assigned = classes.assign(records.size(), seed);

        LatencyModel.FitReport fit = EstimatorProfile.fit(cost, seed);
        progress.printf(Locale.ROOT, "%s: %d requests, %s, %s instances, estimator fitted on %d shapes "
                        + "(held-out MAPE prefill %s, decode %s)%n", trace.getFileName(), records.size(), cost,
                topology, fit.trainSamples(), mape(fit.mapePrefill()), mape(fit.mapeDecode()));
        long tooLong = records.stream().filter(r -> (long) r.promptTokens() + r.outputTokens() > cost.maxContext())
                .count();
        if (tooLong > 0) {
            // Without this, a trace made for a larger model reads as a policy that serves nothing.
            progress.printf(Locale.ROOT, "%d of %d requests are longer than the model's context (%d tokens): each is"
                    + " refused and counted as rejected and infeasible%n", tooLong, records.size(), cost.maxContext());
        }

        PolicyOptions options = policyOptions(cost);
        double blockBytes = cost.kvBytesPerToken() * cost.blockSize();
        int hostBlocks = blockBytes > 0 ? (int) Math.min(Integer.MAX_VALUE, hostKvGib * GIB / blockBytes) : 0;
        double hostCopyMsPerBlock = blockBytes / (hostLinkGBytes * 1e9) * 1000.0;
        RouterOptions router = RouterOptions.defaults().withLink(cost.kvBytesPerToken(), linkGBytes * 1e9 / 1000.0,
                RouterOptions.defaults().linkLatencyMs());
        Simulator simulator = new Simulator(new Simulator.Config(cost, classes, topology, options, fit.model(),
                router, hostBlocks, hostCopyMsPerBlock, maxNewTokens));
        String ref = sweep && !"none".equalsIgnoreCase(referencePolicy) ? referencePolicy : null;
        if (ref != null) {
            Policies.create(ref, options);
        }
        List<SimulationStudy.Outcome> passes = new ArrayList<>();
        for (int pass = 1; pass <= repeat; pass++) {
            if (repeat > 1) {
                progress.printf(Locale.ROOT, "pass %d of %d%s%n", pass, repeat,
                        pass == 1 ? " (the JIT compiles the simulator while it runs)" : "");
            }
            SimulationStudy.Outcome o = new SimulationStudy(simulator, records, assigned, progress, threadCount)
                    .run(policies, rateScale, sweep, target, ref, referenceAttainment, plot != null);
            progress.printf(Locale.ROOT, "%ssimulated %d requests (%d batches) in %.1f s wall, %.1f s CPU: %.0f requests/s"
                            + " wall, %.0f requests/s and %.0f batches/s of CPU%n", repeat > 1 ? "pass " + pass + ": " : "",
                    o.simulatedRequests(), o.simulatedBatches(), o.wallSeconds(), o.cpuSeconds(), o.requestsPerSecond(),
                    o.simulatedRequests() / o.cpuSeconds(), o.simulatedBatches() / o.cpuSeconds());
            if (!passes.isEmpty() && !passes.get(0).sameResults(o)) {
                // Each run is deterministic by design; a difference is a bug, not noise.
                spec.commandLine().getErr().printf(Locale.ROOT, "sluice simulate: pass %d's results differ from pass 1's:"
                        + " the simulator is not deterministic%n", pass);
                spec.commandLine().getErr().flush();
                return 1;
            }
            passes.add(o);
        }
        SimulationStudy.Outcome outcome = passes.get(passes.size() - 1);
        if (repeat > 1) {
            double[] warm = passes.subList(1, passes.size()).stream()
                    .mapToDouble(SimulationStudy.Outcome::requestsPerSecond).sorted().toArray();
            // One warm pass has no median to speak of.
            String warmSpeed = warm.length == 1 ? String.format(Locale.ROOT, "pass 2 %.0f", warm[0])
                    : String.format(Locale.ROOT, "passes 2-%d median %.0f (min %.0f, max %.0f)", repeat, median(warm),
                            warm[0], warm[warm.length - 1]);
            progress.printf(Locale.ROOT, "requests/s wall: pass 1 %.0f (cold); %s; every pass gave the same results%n",
                    passes.get(0).requestsPerSecond(), warmSpeed);
        }

        if (plot != null) {
            writePlot(outcome, classes, cost, topology);
            progress.println("wrote " + plot);
            progress.flush();
        }
        if (json) {
            out.println(toJson(outcome, passes, cost, topology, records.size(), fit, ref, threadCount));
        } else {
            printTables(out, outcome, classes, ref);
        }
        out.flush();
        return 0;
    }

    /**
     * Every number is checked before the first line of progress (NaN and infinity included: a NaN --host-kv-gib
     * and an infinite --link-gbytes used to run), each message naming its option and the value given.
     */
    private void checkNumbers() {
        OptionChecks.positive("--rate-scale", rateScale);
        OptionChecks.positive("--rate", rate);
        OptionChecks.positive("--arrival-cv", arrivalCv);
        OptionChecks.positive("--link-gbytes", linkGBytes);
        OptionChecks.positive("--host-link-gbytes", hostLinkGBytes);
        if (!(hostKvGib >= 0) || Double.isInfinite(hostKvGib)) {
            throw new IllegalArgumentException("--host-kv-gib must be a number >= 0 (0 = no host tier), got " + hostKvGib);
        }
        if (!(target > 0 && target <= 1)) {
            throw new IllegalArgumentException("--target must be in (0, 1], got " + target);
        }
        if (!(referenceAttainment > 0 && referenceAttainment <= 1)) {
            throw new IllegalArgumentException("--reference-attainment must be in (0, 1], got " + referenceAttainment);
        }
        if (maxNewTokens < 0) {
            throw new IllegalArgumentException("--max-new-tokens must be >= 1, or 0 for the trace's true lengths, got "
                    + maxNewTokens);
        }
        OptionChecks.atLeastIfGiven("--max-batch-tokens", maxBatchTokens, 1);
        OptionChecks.atLeastIfGiven("--max-seqs", maxSeqs, 1);
        OptionChecks.atLeastIfGiven("--limit", limit, 1);
        OptionChecks.atLeast("--repeat", repeat, 1);
    }

    private static double median(double[] sorted) {
        int n = sorted.length;
        return n % 2 == 1 ? sorted[n / 2] : 0.5 * (sorted[n / 2 - 1] + sorted[n / 2]);
    }

    private PolicyOptions policyOptions(CostModel cost) {
        double memoryGib = cost instanceof RooflineCostModel r ? r.device().memoryBytes() / GIB : 0;
        PolicyOptions o = PolicyOptions.forDeviceMemory(memoryGib);
        if (maxBatchTokens != null || maxSeqs != null) {
            o = o.withBatchLimits(maxBatchTokens != null ? maxBatchTokens : o.maxBatchTokens(),
                    maxSeqs != null ? maxSeqs : o.maxSequences());
        }
        return o.withDropLate(dropLate);
    }

    /** A held-out error for the first line; "n/a" where there were no held-out shapes to measure it on. */
    private static String mape(double percent) {
        return Double.isFinite(percent) ? String.format(Locale.ROOT, "%.1f %%", percent) : "n/a";
    }

    static TraceFormat guessFormat(Path file) throws IOException {
        String name = file.getFileName().toString().toLowerCase(Locale.ROOT);
        if (name.endsWith(".jsonl") || name.endsWith(".json")) {
            return TraceFormat.MOONCAKE;
        }
        if (!Files.isRegularFile(file)) {
            throw new IllegalArgumentException("trace file " + file + " does not exist");
        }
        try (BufferedReader in = Files.newBufferedReader(file, StandardCharsets.UTF_8)) {
            String header = in.readLine();
            if (header != null && header.replace("\uFEFF", "").strip().startsWith("{")) {
                return TraceFormat.MOONCAKE; // JSON lines under another name (.txt, .log, none)
            }
            return header != null && header.toUpperCase(Locale.ROOT).contains("TIMESTAMP")
                    ? TraceFormat.AZURE : TraceFormat.LENGTHS;
        } catch (java.nio.charset.CharacterCodingException e) {
            throw TraceReader.notUtf8(file, e);
        }
    }

    private void writePlot(SimulationStudy.Outcome outcome, Mix classes, CostModel cost, Topology topology)
            throws IOException {
        Map<String, List<double[]>> attainment = new LinkedHashMap<>();
        Map<String, Map<String, double[]>> ttft = new LinkedHashMap<>();
        for (SimulationStudy.Entry e : outcome.entries()) {
            List<double[]> pts = new ArrayList<>();
            for (Sweep.Point p : e.points()) {
                // A run stopped early only bounds attainment from above: not a point on the curve.
                if (!p.stoppedEarly()) {
                    pts.add(new double[] {p.rateScale(), p.attainment()});
                }
            }
            attainment.put(e.report().policy(), pts);
            ttft.put(e.report().policy(), e.ttftByClass());
        }
        List<String> names = classes.classes().stream().map(ServiceClass::name).toList();
        Plots.write(plot, attainment, ttft, names, "SLO attainment vs load: " + trace.getFileName() + ", "
                + cost.name() + ", " + topology + " instances");
    }

    private String toJson(SimulationStudy.Outcome outcome, List<SimulationStudy.Outcome> passes, CostModel cost,
            Topology topology, int requests,
            LatencyModel.FitReport fit, String ref, int threadCount) throws IOException {
        ObjectMapper mapper = new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT);
        ObjectNode root = mapper.createObjectNode();
        root.put("trace", trace.getFileName().toString());
        root.put("requests", requests);
        root.put("cost_model", cost.name());
        root.put("instances", topology.toString());
        root.put("mix", mix);
        root.put("seed", seed);
        root.put("rate_scale", rateScale);
        root.put("estimator_mape_prefill", fit.mapePrefill());
        root.put("estimator_mape_decode", fit.mapeDecode());
        if (ref != null) {
            ObjectNode r = root.putObject("reference");
            r.put("policy", ref);
            r.put("attainment", referenceAttainment);
            if (outcome.referenceScale() != null) {
                r.put("rate_scale", outcome.referenceScale());
            } else {
                r.putNull("rate_scale");
            }
        }
        if (maxNewTokens > 0) {
            root.put("max_new_tokens", maxNewTokens);
        }
        root.put("threads", threadCount);
        root.put("simulated_requests", outcome.simulatedRequests());
        root.put("wall_seconds", outcome.wallSeconds());
        root.put("simulated_batches", outcome.simulatedBatches());
        root.put("cpu_seconds", outcome.cpuSeconds());
        root.put("requests_per_second", outcome.requestsPerSecond());
        root.put("requests_per_cpu_second", outcome.simulatedRequests() / outcome.cpuSeconds());
        if (passes.size() > 1) {
            // The top-level speed is the last pass's; each pass's is here, the first one cold.
            ArrayNode speeds = root.putArray("passes");
            for (SimulationStudy.Outcome o : passes) {
                speeds.addObject().put("wall_seconds", o.wallSeconds()).put("cpu_seconds", o.cpuSeconds())
                        .put("requests_per_second", o.requestsPerSecond());
            }
        }
        ArrayNode arr = root.putArray("policies");
        for (SimulationStudy.Entry e : outcome.entries()) {
            ObjectNode p = mapper.valueToTree(e.report());
            if (e.atReference() != null) {
                p.set("at_reference", mapper.valueToTree(e.atReference()));
            }
            if (sweep) {
                ArrayNode pts = p.putArray("sweep");
                for (Sweep.Point pt : e.points()) {
                    ObjectNode o = pts.addObject().put("rate_scale", pt.rateScale());
                    if (pt.stoppedEarly()) {
                        o.put("attainment_at_most", pt.attainment());
                    } else {
                        o.put("attainment", pt.attainment()).put("gain", pt.report().gain());
                    }
                }
            }
            arr.add(p);
        }
        return mapper.writeValueAsString(nonFiniteAsNull(root));
    }

    /**
     * JSON has no NaN: a number that is not finite (the attainment of a class no request fell into) is written as
     * null, as a percentile with no samples is, rather than as the string "NaN".
     */
    private static com.fasterxml.jackson.databind.JsonNode nonFiniteAsNull(com.fasterxml.jackson.databind.JsonNode node) {
        if (node instanceof ObjectNode o) {
            o.fields().forEachRemaining(e -> e.setValue(nonFiniteAsNull(e.getValue())));
        } else if (node instanceof com.fasterxml.jackson.databind.node.ArrayNode a) {
            for (int i = 0; i < a.size(); i++) {
                a.set(i, nonFiniteAsNull(a.get(i)));
            }
        } else if (node.isNumber() && !Double.isFinite(node.doubleValue())) {
            return com.fasterxml.jackson.databind.node.NullNode.getInstance();
        }
        return node;
    }

    /** A share as a percentage, or "-" for none (a class no request fell into). */
    private static String percent(double share, int width) {
        return Double.isFinite(share) ? String.format(Locale.ROOT, "%" + width + ".1f%%", 100 * share)
                : String.format(Locale.ROOT, "%" + (width + 1) + "s", "-");
    }

    private void printTables(PrintWriter out, SimulationStudy.Outcome outcome, Mix classes, String ref) {
        List<ServiceClass> cls = classes.classes();
        out.printf(Locale.ROOT, "%nload x%s%n", scale(rateScale));
        printSummary(out, cls, outcome.entries().stream().map(SimulationStudy.Entry::report).toList(), true);
        if (ref != null && outcome.referenceScale() != null) {
            out.printf(Locale.ROOT, "%nat the reference load x%s (%s attains %.0f %%)%n",
                    scale(outcome.referenceScale()), ref, 100 * referenceAttainment);
            printSummary(out, cls, outcome.entries().stream().map(SimulationStudy.Entry::atReference).toList(), false);
        }
        out.printf(Locale.ROOT, "%nlatency at load x%s (ms): TTFT p50/p90/p99 | TPOT p50/p90/p99%n",
                scale(rateScale));
        for (SimulationStudy.Entry e : outcome.entries()) {
            for (ClassReport c : e.report().classes()) {
                out.printf(Locale.ROOT, "%-14s %-12s %9s %9s %9s | %7s %7s %7s%n", e.report().policy(), c.name(),
                        ms(c.ttftP50()), ms(c.ttftP90()), ms(c.ttftP99()), ms(c.tpotP50()), ms(c.tpotP90()),
                        ms(c.tpotP99()));
            }
        }
    }

    private static void printSummary(PrintWriter out, List<ServiceClass> cls, List<PolicyReport> reports,
            boolean withCapacity) {
        StringBuilder h = new StringBuilder(String.format(Locale.ROOT, "%-14s %7s", "policy", "attain"));
        for (ServiceClass c : cls) {
            h.append(String.format(Locale.ROOT, " %12s", c.name()));
        }
        h.append(String.format(Locale.ROOT, " %9s %9s %6s %9s %8s %8s %10s", "goodput/s", "gain", "gain%", "tokens/s",
                "preempt", "rejected", "infeasible"));
        if (withCapacity) {
            h.append(String.format(Locale.ROOT, " %9s", "capacity"));
        }
        out.println(h);
        for (PolicyReport r : reports) {
            StringBuilder row = new StringBuilder(String.format(Locale.ROOT, "%-14s ", r.policy()))
                    .append(percent(r.attainment(), 6));
            for (ClassReport c : r.classes()) {
                row.append(' ').append(percent(c.attainment(), 11));
            }
            row.append(String.format(Locale.ROOT, " %9.2f %9.1f %5.1f%% %9.0f %8d %8d %10d", r.goodput(), r.gain(),
                    100 * r.gainShare(), r.tokensPerSecond(), r.preemptions(), r.rejections(), r.infeasible()));
            if (withCapacity && r.capacity() != null) {
                row.append(String.format(Locale.ROOT, " %9s", scale(r.capacity())));
            }
            out.println(row);
        }
    }

    private static String ms(Double v) {
        return v == null ? "-" : String.format(Locale.ROOT, "%.1f", v);
    }

    private static String scale(double s) {
        return String.format(Locale.ROOT, "%.4g", s);
    }
}
