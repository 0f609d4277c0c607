package io.sluice.job.loadgen;

import io.sluice.job.sim.Mix;
import io.sluice.job.sim.ServiceClass;
import io.sluice.job.sim.TraceRecord;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;

/**
 * Plans the requests of a load run, deterministically from a seed: classes from the mix, arrival
 * times either Poisson at a rate (synthetic prompts) or a trace's own (prompt and output lengths
 * from the trace, scaled down to what the model holds).
 */
public final class Workload {

    /** Openings of short stories: text prompts a small story model continues. */
    private static final String[] OPENINGS = {
        "Once upon a time", "One day, a little girl named Lily", "The big red dog ran",
        "Tom and his friend found a box", "In a small town there was a baker", "The sun was shining and",
        "A little bird sat on a tree", "Mia wanted to play outside but", "There was a boy who loved trains",
        "The cat looked at the moon", "Sam had a new toy car", "In the forest lived a wise old owl",
        "Anna baked a cake for her mom", "The rain stopped and the children", "A tiny frog jumped into the pond",
        "Ben could not find his shoes",
    };

    private Workload() {}

    /**
     * {@code count} requests with text prompts, Poisson arrivals at {@code ratePerSecond}, outputs of
     * {@code minNewTokens..maxNewTokens} tokens.
     */
    public static List<PlannedRequest> synthetic(int count, double ratePerSecond, Mix mix, int minNewTokens,
            int maxNewTokens, long seed) {
        if (count < 1) {
            throw new IllegalArgumentException("--requests must be at least 1, got " + count);
        }
        if (!(ratePerSecond > 0) || Double.isInfinite(ratePerSecond)) {
            throw new IllegalArgumentException("--rate must be a positive number of requests per second, got "
                    + ratePerSecond);
        }
        if (minNewTokens < 1 || maxNewTokens < minNewTokens) {
            throw new IllegalArgumentException("output length range must be 1 <= min <= max, got "
                    + minNewTokens + ".." + maxNewTokens);
        }
        SplittableRandom random = new SplittableRandom(seed);
        int[] classes = mix.assign(count, seed);
        List<PlannedRequest> planned = new ArrayList<>(count);
        double t = 0;
        for (int i = 0; i < count; i++) {
            t += -Math.log(1 - random.nextDouble()) / ratePerSecond * 1000;
            String prompt = OPENINGS[random.nextInt(OPENINGS.length)];
            int maxNew = minNewTokens + random.nextInt(maxNewTokens - minNewTokens + 1);
            planned.add(new PlannedRequest(t, requestId(seed, i), mix.classes().get(classes[i]), prompt, null,
                    maxNew, 0f, random.nextLong()));
        }
        return planned;
    }

    /**
     * Requests replaying a trace: its arrival times divided by {@code rateScale}, its lengths capped
     * so prompt and output fit {@code modelContext} (a trace of a 4k-context model on a 256-token
     * model keeps its shape, not its size). Prompts are random token ids.
     */
    public static List<PlannedRequest> replay(List<TraceRecord> trace, int limit, double rateScale, Mix mix,
            int modelContext, int vocabSize, long seed) {
        if (!(rateScale > 0)) {
            throw new IllegalArgumentException("--rate-scale must be > 0, got " + rateScale);
        }
        int n = Math.min(limit, trace.size());
        SplittableRandom random = new SplittableRandom(seed);
        int[] classes = mix.assign(n, seed);
        int maxPrompt = Math.max(1, modelContext / 2 - 1);
        int maxOutput = Math.max(1, modelContext - 1 - maxPrompt);
        double start = n == 0 ? 0 : trace.get(0).arrivalMs();
        List<PlannedRequest> planned = new ArrayList<>(n);
        for (int i = 0; i < n; i++) {
            TraceRecord record = trace.get(i);
            int[] ids = new int[Math.min(record.promptTokens(), maxPrompt)];
            for (int k = 0; k < ids.length; k++) {
                ids[k] = 3 + random.nextInt(vocabSize - 3); // skip <unk>, BOS, EOS
            }
            planned.add(new PlannedRequest((record.arrivalMs() - start) / rateScale, requestId(seed, i),
                    mix.classes().get(classes[i]), null, ids, Math.min(record.outputTokens(), maxOutput), 0f,
                    random.nextLong()));
        }
        return planned;
    }

    private static String requestId(long seed, int i) {
        return "load-" + Long.toHexString(seed) + "-" + i;
    }

    /** The SLO fields of a class, as the request schema wants them (null when the class has none). */
    static Integer slo(double ms) {
        return Double.isInfinite(ms) ? null : (int) Math.round(ms);
    }

    /** The deadline of a class for a request sent at {@code sentAtMs}, or null. */
    static Long deadline(ServiceClass c, long sentAtMs) {
        return Double.isInfinite(c.deadlineMs()) ? null : sentAtMs + Math.round(c.deadlineMs());
    }
}
