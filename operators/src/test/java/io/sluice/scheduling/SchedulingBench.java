package io.sluice.scheduling;

import java.util.Arrays;
import java.util.List;
import java.util.SplittableRandom;

/**
 * Benchmark (a command that prints numbers, not a test): time of one scheduling round per policy with
 * a given number of queued requests (default 1,000: a fifth decoding, the rest waiting prefills of
 * mixed classes). Run after {@code mvn -q -o -pl operators test-compile}:
 * {@code java -cp operators/target/classes:operators/target/test-classes io.sluice.scheduling.SchedulingBench [queued] [rounds]}
 */
public final class SchedulingBench {

    private SchedulingBench() {
    }

    public static void main(String[] args) {
        int queued = args.length > 0 ? Integer.parseInt(args[0]) : 1000;
        int rounds = args.length > 1 ? Integer.parseInt(args[1]) : 20_000;
        List<String> names = args.length > 2 ? List.of(args[2].split(",")) : Policies.names();
        System.out.printf("one scheduling round, %d queued requests, %d timed rounds (after warm-up)%n", queued, rounds);
        System.out.printf("%-14s %10s %10s %10s %10s %8s%n", "policy", "mean_us", "p50_us", "p99_us", "max_us", "batch");
        for (String name : names) {
            InstanceState s = loaded(queued);
            BatchPolicy p = Policies.create(name, PolicyOptions.defaults());
            double now = 2_000;
            long[] t = new long[rounds];
            BatchPlan plan = null;
            for (int i = 0; i < rounds / 2; i++) {
                plan = p.plan(s, now + (i % 100));
            }
            for (int i = 0; i < rounds; i++) {
                long t0 = System.nanoTime();
                plan = p.plan(s, now + (i % 100));
                t[i] = System.nanoTime() - t0;
            }
            Arrays.sort(t);
            double mean = Arrays.stream(t).average().orElse(0) / 1e3;
            System.out.printf("%-14s %10.1f %10.1f %10.1f %10.1f %8d%n", name, mean, t[rounds / 2] / 1e3,
                    t[(int) (rounds * 0.99)] / 1e3, t[rounds - 1] / 1e3, plan.sequences());
        }
    }

    /** An A100-like instance with {@code queued} requests: 20 % decoding, the rest waiting. */
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
