package io.sluice.job.sim;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import org.HdrHistogram.Histogram;

/**
 * Collects per-class outcomes of finished requests and turns them into a {@link PolicyReport}.
 * Latencies go into HdrHistograms at microsecond resolution (3 significant digits).
 */
final class Metrics {

    private final Mix mix;
    private final int n;
    private final long[] requests;
    private final long[] met;
    private final long[] rejected;
    private final long[] infeasible;
    private final Histogram[] ttft;
    private final Histogram[] tpot;
    private final List<double[]> ttftSamples;
    private final int[] ttftCounts;
    private final boolean keepTtftSamples;
    private double weightMet;
    private double weightAll;
    private long generatedTokens;
    private long preemptions;
    private long misses;
    private double firstArrivalMs = Double.POSITIVE_INFINITY;
    private double lastEventMs = Double.NEGATIVE_INFINITY;

    Metrics(Mix mix, boolean keepTtftSamples) {
        this.mix = mix;
        this.n = mix.classes().size();
        this.requests = new long[n];
        this.met = new long[n];
        this.rejected = new long[n];
        this.infeasible = new long[n];
        this.ttft = new Histogram[n];
        this.tpot = new Histogram[n];
        this.ttftSamples = new ArrayList<>(n);
        this.keepTtftSamples = keepTtftSamples;
        this.ttftCounts = new int[n];
        for (int i = 0; i < n; i++) {
            ttft[i] = new Histogram(3);
            tpot[i] = new Histogram(3);
            ttftSamples.add(new double[16]);
        }
    }

    void arrival(double arrivalMs) {
        firstArrivalMs = Math.min(firstArrivalMs, arrivalMs);
    }

    /** A request whose SLO no schedule can meet: it misses even alone on an idle instance. */
    void infeasible(int cls) {
        infeasible[cls]++;
    }

    /** A request refused before it ran (too long for the model or the instance). */
    void rejected(int cls, double weight, double nowMs) {
        requests[cls]++;
        rejected[cls]++;
        misses++;
        weightAll += weight;
        lastEventMs = Math.max(lastEventMs, nowMs);
    }

    /** Whether TTFT samples are kept for {@link #sortedTtft}. */
    boolean keepsTtftSamples() {
        return keepTtftSamples;
    }

    /** Requests that ended without meeting their SLO (rejections included). */
    long misses() {
        return misses;
    }

    /** A request that ran to completion (or was dropped by the policy: {@code ok} false). */
    void finished(int cls, double weight, boolean ok, boolean sloMet, double ttftMs, double meanTpotMs,
            int generated, int preempted, double finishMs) {
        requests[cls]++;
        weightAll += weight;
        preemptions += preempted;
        lastEventMs = Math.max(lastEventMs, finishMs);
        if (!ok) {
            rejected[cls]++;
            misses++;
            return;
        }
        generatedTokens += generated;
        if (sloMet) {
            met[cls]++;
            weightMet += weight;
        } else {
            misses++;
        }
        ttft[cls].recordValue(micros(ttftMs));
        if (keepTtftSamples) {
            double[] s = ttftSamples.get(cls);
            if (ttftCounts[cls] == s.length) {
                s = Arrays.copyOf(s, s.length * 2);
                ttftSamples.set(cls, s);
            }
            s[ttftCounts[cls]++] = ttftMs;
        }
        if (generated >= 2) {
            tpot[cls].recordValue(micros(meanTpotMs));
        }
    }

    private static long micros(double ms) {
        return Math.max(0, Math.round(ms * 1000.0));
    }

    /** TTFT samples of class {@code cls}, sorted (only when kept). */
    double[] sortedTtft(int cls) {
        double[] s = Arrays.copyOf(ttftSamples.get(cls), ttftCounts[cls]);
        Arrays.sort(s);
        return s;
    }

    PolicyReport report(String policy, double rateScale) {
        long all = 0;
        long allMet = 0;
        long allRejected = 0;
        long allInfeasible = 0;
        List<ClassReport> classes = new ArrayList<>(n);
        for (int i = 0; i < n; i++) {
            all += requests[i];
            allMet += met[i];
            allRejected += rejected[i];
            allInfeasible += infeasible[i];
            classes.add(new ClassReport(mix.classes().get(i).name(), requests[i], met[i],
                    requests[i] == 0 ? Double.NaN : (double) met[i] / requests[i], rejected[i], infeasible[i],
                    pct(ttft[i], 50), pct(ttft[i], 90), pct(ttft[i], 99),
                    pct(tpot[i], 50), pct(tpot[i], 90), pct(tpot[i], 99)));
        }
        double seconds = all == 0 ? 0 : Math.max(1e-9, (lastEventMs - firstArrivalMs) / 1000.0);
        return new PolicyReport(policy, rateScale, all, all - allRejected, allMet,
                all == 0 ? Double.NaN : (double) allMet / all,
                all == 0 ? 0 : allMet / seconds,
                weightMet,
                weightAll == 0 ? Double.NaN : weightMet / weightAll,
                all == 0 ? 0 : generatedTokens / seconds,
                preemptions, allRejected, allInfeasible, seconds, List.copyOf(classes), null);
    }

    private static Double pct(Histogram h, double p) {
        return h.getTotalCount() == 0 ? null : h.getValueAtPercentile(p) / 1000.0;
    }
}
