package io.sluice.scheduling;

import java.util.Arrays;
import java.util.List;
import java.util.SplittableRandom;

/**
 * The time of one scheduling round: a policy planning a batch for an instance with a given number of queued
 * requests (a fifth of them decoding, the rest waiting prefills of three classes). The queue stays as it is
 * between rounds, so every round plans over the same backlog: what the policy costs, not the queue's drain.
 * {@code sluice bench scheduling} prints it.
 */
public final class SchedulingBenchmark {

    /** One policy's rounds: mean and percentiles in microseconds, and the size of the batch it planned. */
    public record Result(String policy, int queued, int rounds, double meanUs, double p50Us, double p99Us,
            double maxUs, int batchSequences) {}

    private SchedulingBenchmark() {
    }

    /**
     * Times {@code rounds} rounds of {@code policy} over {@code queued} requests, after as many untimed ones
     * for the JIT. The clock advances 1 ms a round (modulo 100 ms), so deadline arithmetic is exercised
     * without the queue aging into a different regime.
     */
    public static Result run(String policy, int queued, int rounds) {
        if (queued < 1 || rounds < 1) {
            throw new IllegalArgumentException("need at least one queued request and one round, got " + queued
                    + " and " + rounds);
        }
        InstanceState s = loaded(queued);
        BatchPolicy p = Policies.create(policy, PolicyOptions.defaults());
        double now = 2_000;
        BatchPlan plan = null;
        for (int i = 0; i < rounds; i++) {
            plan = p.plan(s, now + (i % 100));
        }
        long[] t = new long[rounds];
        for (int i = 0; i < rounds; i++) {
            long t0 = System.nanoTime();
            plan = p.plan(s, now + (i % 100));
            t[i] = System.nanoTime() - t0;
        }
        Arrays.sort(t);
        double mean = Arrays.stream(t).average().orElse(0) / 1e3;
        return new Result(policy, queued, rounds, mean, t[rounds / 2] / 1e3, t[(int) (rounds * 0.99)] / 1e3,
                t[rounds - 1] / 1e3, plan.sequences());
    }

    /**
     * An A100-like instance (Llama-2-7B latency model, 200,000 KV blocks) with {@code queued} requests arrived
     * over the last 2 s: 20 % decoding, the rest waiting; classes 30 % interactive (1 s TTFT, 50 ms TPOT, weight
     * 4), 50 % standard (3 s, 100 ms, weight 1), 20 % batch (10 min deadline, weight 0.25). Seeded: the same queue
     * every time.
     */
    static InstanceState loaded(int queued) {
        LatencyModel m = new LatencyModel(9.4, 0.065, 4e-6, 3e-6, 2e-4, 9.0, 0.25, 3.8e-4);
        InstanceState s = new InstanceState(0, Role.MIXED, new KvBlockAccounting(16, 200_000), m);
        SplittableRandom rnd = new SplittableRandom(42);
        int decoding = queued / 5;
        for (int i = 0; i < queued; i++) {
            double arrival = rnd.nextDouble() * 2_000;
            Slo slo = switch (i % 10) {
                case 0, 1, 2 -> Slo.interactive(1000, 50);
                case 3, 4, 5, 6, 7 -> Slo.interactive(3000, 100);
                default -> Slo.deadline(600_000);
            };
            double weight = i % 10 < 3 ? 4 : i % 10 < 8 ? 1 : 0.25;
            Request r = new Request("r" + i, "t", "c", weight, slo, 1 + rnd.nextInt(4000), 1 + rnd.nextInt(500), arrival);
            if (i < decoding) {
                r.advance(r.promptTokens(), arrival + 200);
                s.enqueue(r, arrival);
                s.apply(new BatchPlan(List.of(), List.of(r), List.of(), 1), arrival);
                s.complete(new BatchPlan(List.of(), List.of(r), List.of(), 1), arrival + 250);
            } else {
                s.enqueue(r, arrival);
            }
        }
        return s;
    }
}
