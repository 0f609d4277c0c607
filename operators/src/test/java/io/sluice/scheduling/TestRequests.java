package io.sluice.scheduling;

import java.util.ArrayList;
import java.util.List;

/** Fixtures: a small latency model, instances, requests, and a plan-apply-complete driver. */
final class TestRequests {

    private TestRequests() {
    }

    /** 10 ms per batch, 0.05 ms per prefill token, decode 10 ms + 0.5 ms per sequence + 1 us per cached token. */
    static LatencyModel model() {
        return new LatencyModel(10, 0.05, 0, 0, 0, 10, 0.5, 0.001);
    }

    static InstanceState instance(int blocks) {
        return new InstanceState(0, Role.MIXED, new KvBlockAccounting(16, blocks), model());
    }

    static InstanceState instance(int id, Role role, int blocks) {
        return new InstanceState(id, role, new KvBlockAccounting(16, blocks), model());
    }

    static Request interactive(String id, int prompt, int out, double arrivalMs) {
        return new Request(id, "t", "interactive", 1.0, Slo.interactive(1000, 50), prompt, out, arrivalMs);
    }

    static Request request(String id, double weight, Slo slo, int prompt, int out, double arrivalMs) {
        return new Request(id, "t", "c", weight, slo, prompt, out, arrivalMs);
    }

    /** A request whose prefill ran elsewhere: first token at {@code firstTokenMs}, KV of its prompt ready to hand over. */
    static Request handedOver(String id, Slo slo, int prompt, int out, double arrivalMs, double firstTokenMs) {
        Request r = new Request(id, "t", "c", 1.0, slo, prompt, out, arrivalMs);
        r.advance(prompt, firstTokenMs);
        r.setState(RequestState.TRANSFERRING);
        return r;
    }

    /** Runs one plan-apply-complete cycle from {@code nowMs} to {@code endMs}. */
    static BatchPlan step(InstanceState s, BatchPolicy p, double nowMs, double endMs) {
        BatchPlan plan = p.plan(s, nowMs);
        s.apply(plan, nowMs);
        s.complete(plan, endMs);
        return plan;
    }

    /** Runs plan -> apply -> complete until the instance is idle; returns requests as they ended. */
    static List<Request> drain(InstanceState s, BatchPolicy p, double startMs, int maxRounds) {
        List<Request> ended = new ArrayList<>();
        double now = startMs;
        for (int round = 0; round < maxRounds && !s.isIdle(); round++) {
            BatchPlan plan = p.plan(s, now);
            ended.addAll(s.apply(plan, now));
            now += Math.max(plan.estimatedMs(), 1.0);
            ended.addAll(s.complete(plan, now));
        }
        return ended;
    }

    /** Feeds heavy interactive traffic well past capacity with {@code low} in it, from 2 s on. */
    static Request underOverload(String policy, Request low) {
        InstanceState s = instance(100_000);
        BatchPolicy p = Policies.create(policy);
        // It arrives once a backlog of higher-weight work has built up.
        double now = 0;
        int next = 0;
        // One 2,000-token interactive request every 90 ms is ~110 % of what this instance can prefill.
        while (now < 120_000 && !low.state().isFinished()) {
            while (next * 90.0 <= now) {
                s.enqueue(request("hi" + next, 4, Slo.interactive(1000, 50), 2000, 20, next * 90.0), now);
                next++;
            }
            if (now >= 2_000 && low.instanceId() < 0) {
                s.enqueue(low, now);
            }
            BatchPlan plan = p.plan(s, now);
            s.apply(plan, now);
            double end = now + Math.max(plan.estimatedMs(), 1.0);
            s.complete(plan, end);
            now = end;
        }
        return low;
    }
}
