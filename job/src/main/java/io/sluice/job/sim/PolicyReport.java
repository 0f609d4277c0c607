package io.sluice.job.sim;

import com.fasterxml.jackson.annotation.JsonInclude;
import java.util.List;

/**
 * One policy's results on one trace at one load.
 *
 * @param attainment share of all requests (rejected ones included) that met their SLO
 * @param goodput requests meeting their SLO per second of simulated time
 * @param gain sum of the priority weights of requests that met their SLO
 * @param gainShare {@code gain} over the weight of all requests, in [0, 1]
 * @param tokensPerSecond tokens of the requests that finished per second of simulated time (a
 *     dropped or expired request's tokens were never delivered, so they do not count)
 * @param rejections requests refused: longer than the model's context or too big for an
 *     instance's KV cache, plus any the policy dropped as hopeless, plus any still queued when no
 *     event was left (stalled: a policy that never schedules them; the progress line counts them)
 * @param infeasible requests that miss their SLO even alone on an idle instance (too long for the
 *     model included; under PD separation with the KV handoff a prefill instance cannot avoid): no
 *     policy can meet these
 * @param simulatedSeconds first arrival to last completion
 * @param capacity largest rate scale with attainment >= the target; null when not swept
 */
@JsonInclude(JsonInclude.Include.NON_NULL)
public record PolicyReport(
        String policy,
        double rateScale,
        long requests,
        long completed,
        long met,
        double attainment,
        double goodput,
        double gain,
        double gainShare,
        double tokensPerSecond,
        long preemptions,
        long rejections,
        long infeasible,
        double simulatedSeconds,
        List<ClassReport> classes,
        Double capacity) {

    /** The same report with a capacity attached. */
    public PolicyReport withCapacity(double capacity) {
        return new PolicyReport(policy, rateScale, requests, completed, met, attainment, goodput, gain, gainShare,
                tokensPerSecond, preemptions, rejections, infeasible, simulatedSeconds, classes, capacity);
    }

    /** The class called {@code name}. */
    public ClassReport classReport(String name) {
        return classes.stream()
                .filter(c -> c.name().equals(name))
                .findFirst()
                .orElseThrow(() -> new IllegalArgumentException("no class " + name + " in the report"));
    }
}
