package io.sluice.scheduling;

import java.io.Serializable;

/**
 * Knobs of the {@link Router} and of the Flink job's routing ({@link RoutingRules}); serializable so that the job
 * carries one set of them to every function that routes.
 *
 * @param mu                 light-load bound: a prefill instance with load (backlog / TTFT target) under mu is light
 * @param lambda             heavy-load bound: load over lambda is heavy, chosen only when nothing else meets the SLO
 * @param freeStop           a decode instance stops admitting when its free KV fraction falls below this (upper threshold)
 * @param freeResume         ... and admits again once it is back above this (hysteresis, lower threshold)
 * @param kvBytesPerToken    KV bytes per token moved at handoff (Llama-2-7B fp16: 512 KiB)
 * @param linkBytesPerMs     handoff link bandwidth in bytes per millisecond (25 GB/s = 2.5e7)
 * @param linkLatencyMs      fixed handoff latency
 * @param hybrid             allow prefills on decode instances with slack when no prefill instance meets the TTFT
 * @param hybridMaxPrompt    longest prompt a decode instance takes in hybrid mode (a bounded share: short ones only)
 * @param defaultTtftMs      TTFT target for requests without one (routing only)
 * @param defaultTpotMs      TPOT target for requests without one
 * @param prefillSlackMs     the prefill pool has slack when, without one instance, the mean backlog stays under this
 * @param prefillPressureMs  the prefill pool is under pressure when even its least-loaded instance has this much backlog
 */
public record RouterOptions(double mu, double lambda, double freeStop, double freeResume, double kvBytesPerToken,
                           double linkBytesPerMs, double linkLatencyMs, boolean hybrid, int hybridMaxPrompt,
                           double defaultTtftMs, double defaultTpotMs, double prefillSlackMs, double prefillPressureMs)
        implements Serializable {

    public RouterOptions {
        if (!(mu > 0 && mu <= lambda)) {
            throw new IllegalArgumentException("need 0 < mu <= lambda, got mu=" + mu + " lambda=" + lambda);
        }
        if (!(freeStop >= 0 && freeStop <= freeResume && freeResume <= 1)) {
            throw new IllegalArgumentException("need 0 <= freeStop <= freeResume <= 1, got " + freeStop + ", " + freeResume);
        }
        if (!(kvBytesPerToken >= 0) || !(linkBytesPerMs > 0) || !(linkLatencyMs >= 0)) {
            throw new IllegalArgumentException("KV bytes per token and link latency must be >= 0 and bandwidth > 0");
        }
        if (hybridMaxPrompt < 0) {
            throw new IllegalArgumentException("hybridMaxPrompt must be >= 0, got " + hybridMaxPrompt);
        }
        if (!(defaultTtftMs > 0) || !(defaultTpotMs > 0) || !(prefillSlackMs >= 0) || !(prefillPressureMs > 0)) {
            throw new IllegalArgumentException("router time targets must be positive");
        }
        if (!(prefillSlackMs < prefillPressureMs)) {
            // A backlog that counts as slack and as pressure at once would flip a decode instance to prefill and
            // back round after round: slack must lie strictly under pressure.
            throw new IllegalArgumentException("need prefillSlackMs < prefillPressureMs (a pool with slack cannot "
                    + "also be under pressure), got slack " + prefillSlackMs + " ms, pressure " + prefillPressureMs + " ms");
        }
    }

    /** Time to move the KV of {@code tokens} tokens from a prefill to a decode instance: latency plus bytes over bandwidth. */
    public double handoffMs(long tokens) {
        return linkLatencyMs + tokens * kvBytesPerToken / linkBytesPerMs;
    }

    /** Defaults: mu 0.3, lambda 0.8, stop admitting under 5 % free blocks and resume at 15 %, 25 GB/s link. */
    public static RouterOptions defaults() {
        return new RouterOptions(0.3, 0.8, 0.05, 0.15, 512 * 1024, 2.5e7, 0.05, true, 2048, 1000, 100, 200, 1000);
    }

    public RouterOptions withLink(double bytesPerToken, double bytesPerMs, double latencyMs) {
        return new RouterOptions(mu, lambda, freeStop, freeResume, bytesPerToken, bytesPerMs, latencyMs, hybrid,
                hybridMaxPrompt, defaultTtftMs, defaultTpotMs, prefillSlackMs, prefillPressureMs);
    }

    /** The same options with other admission thresholds (free KV fractions: stop under, resume at or over). */
    public RouterOptions withAdmission(double stopUnder, double resumeAt) {
        return new RouterOptions(mu, lambda, stopUnder, resumeAt, kvBytesPerToken, linkBytesPerMs, linkLatencyMs,
                hybrid, hybridMaxPrompt, defaultTtftMs, defaultTpotMs, prefillSlackMs, prefillPressureMs);
    }

    public RouterOptions withHybrid(boolean on) {
        return new RouterOptions(mu, lambda, freeStop, freeResume, kvBytesPerToken, linkBytesPerMs, linkLatencyMs, on,
                hybridMaxPrompt, defaultTtftMs, defaultTpotMs, prefillSlackMs, prefillPressureMs);
    }
}
