/**
 * Scheduling core: pure Java, no Flink, no clock (every time is the caller's {@code nowMs}), so the
 * simulator and the Flink operators drive the same objects.
 *
 * <p>One instance's loop, for a driver (simulator event loop or operator round timer):
 * <pre>
 *   Router router = new Router(instances, RouterOptions.defaults());
 *   BatchPolicy policy = Policies.create("slidebatching", PolicyOptions.defaults());  // one per instance
 *
 *   on arrival:      router.routeNew(r, now).instance().enqueue(r, now)      // false: REJECTED (never fits)
 *   when idle:       BatchPlan plan = policy.plan(inst, now);
 *                    ended = inst.apply(plan, now);                          // dropped requests (drop-late)
 *                    run the batch for plan.estimatedMs() (simulated) or on the executor (real)
 *   at batch end:    for (Request r : inst.complete(plan, end))
 *                      if r.state() == FINISHED_OK -> report r (r.sloMet(), ttftMs(), meanTpotMs())
 *                      if r.state() == TRANSFERRING (PREFILL instance) ->
 *                         router.placeDecode(r, end) -> d.enqueue(r, end, end + router.handoffMs(r))
 *                         empty -> enqueue back on the same instance (it decodes it itself)
 *                    inst.estimator().observe(plan, actualMs)               // online refit (real runs)
 *   periodically:    router.rebalance(now)                                   // role flips under PD separation
 * </pre>
 * A request lives on one instance at a time; each request ends exactly once (FINISHED_OK from
 * {@code complete}, REJECTED from {@code enqueue} or {@code apply}, or whatever the caller passes to
 * {@code cancel}). On a PREFILL instance {@code slidebatching} runs its prefill-only variant.
 */
package io.sluice.scheduling;
