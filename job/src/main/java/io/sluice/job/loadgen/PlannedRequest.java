package io.sluice.job.loadgen;

import io.sluice.job.sim.ServiceClass;

/**
 * One request the load generator will send: when (ms after the start), of which class, and what.
 * Exactly one of {@code prompt} and {@code promptTokenIds} is set.
 */
public record PlannedRequest(double sendAtMs, String requestId, ServiceClass serviceClass, String prompt,
        int[] promptTokenIds, int maxNewTokens, float temperature, long seed) {}
