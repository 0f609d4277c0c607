package io.sluice.operators;

import io.sluice.scheduling.LatencyModel;
import io.sluice.scheduling.Policies;
import io.sluice.scheduling.PolicyOptions;
import java.io.Serializable;

/**
 * What one model instance is built from: the checkpoint and tokenizer, the engine's threads and KV blocks, the
 * batching policy and its options, the starting latency model, and how often it reports its load.
 *
 * @param modelPath           llama2.c checkpoint
 * @param tokenizerPath       its tokenizer; null when there is none (token text is then empty)
 * @param threads             engine worker threads
 * @param kvBlocks            KV-cache blocks of the engine (and of the scheduler's accounting); 0 = engine default
 * @param policy              a name from {@link Policies#names()}
 * @param policyOptions       the policy's knobs; null = {@link PolicyOptions#defaults()}
 * @param latencyCoefficients starting latency model c0..c4, b0..b2 (see {@link LatencyModel}); refitted online
 * @param statusIntervalMs    how often a busy instance reports its load
 * @param idleStatusMs        how often an idle instance reports it; 0 = only when it becomes idle
 * @param engine              the real CPU engine, or a no-op one that measures the operator and scheduler alone
 */
public record InstanceConfig(String modelPath, String tokenizerPath, int threads, int kvBlocks, String policy,
                             PolicyOptions policyOptions, double[] latencyCoefficients, long statusIntervalMs,
                             long idleStatusMs, Engine engine) implements Serializable {

    /** Which executor runs the batches. */
    public enum Engine {
        /** The pure-Java Llama forward pass. */
        CPU,
        /** Computes nothing; tokens from (seed, position); for benchmarks of the operator alone. */
        NOOP
    }

    /** Idle instances report every this many ms unless told otherwise. */
    public static final long DEFAULT_IDLE_STATUS_MS = 2000;

    public InstanceConfig {
        if (modelPath == null || modelPath.isBlank()) {
            throw new IllegalArgumentException("an instance needs a model checkpoint path");
        }
        if (tokenizerPath != null && tokenizerPath.isBlank()) {
            tokenizerPath = null;
        }
        if (threads < 1) {
            throw new IllegalArgumentException("engine threads must be >= 1, got " + threads);
        }
        if (kvBlocks < 0) {
            throw new IllegalArgumentException("KV blocks must be >= 0 (0 = engine default), got " + kvBlocks);
        }
        if (policy == null || !Policies.names().contains(policy.trim().toLowerCase(java.util.Locale.ROOT))) {
            throw new IllegalArgumentException("unknown policy '" + policy + "'; one of " + Policies.names());
        }
        if (policyOptions == null) {
            policyOptions = PolicyOptions.defaults();
        }
        if (latencyCoefficients == null) {
            throw new IllegalArgumentException("the latency model needs " + LatencyModel.COEFFICIENTS
                    + " coefficients " + LatencyModel.NAMES);
        }
        latencyCoefficients = latencyCoefficients.clone();
        new LatencyModel(latencyCoefficients, 1, 1); // validates count and signs with its own messages
        if (statusIntervalMs < 1) {
            throw new IllegalArgumentException("status interval must be >= 1 ms, got " + statusIntervalMs);
        }
        if (idleStatusMs < 0) {
            throw new IllegalArgumentException("idle status interval must be >= 0 ms (0 = off), got " + idleStatusMs);
        }
        if (engine == null) {
            engine = Engine.CPU;
        }
    }

    /** The contract's form: idle instances report every {@link #DEFAULT_IDLE_STATUS_MS}. */
    public InstanceConfig(String modelPath, String tokenizerPath, int threads, int kvBlocks, String policy,
                          PolicyOptions policyOptions, double[] latencyCoefficients, long statusIntervalMs) {
        this(modelPath, tokenizerPath, threads, kvBlocks, policy, policyOptions, latencyCoefficients,
                statusIntervalMs, DEFAULT_IDLE_STATUS_MS, Engine.CPU);
    }

    /** A copy of the coefficients (the record keeps its own). */
    @Override
    public double[] latencyCoefficients() {
        return latencyCoefficients.clone();
    }

    /** The same instance with another idle reporting interval. */
    public InstanceConfig withIdleStatusMs(long ms) {
        return new InstanceConfig(modelPath, tokenizerPath, threads, kvBlocks, policy, policyOptions,
                latencyCoefficients, statusIntervalMs, ms, engine);
    }

    /** The same instance on another engine. */
    public InstanceConfig withEngine(Engine e) {
        return new InstanceConfig(modelPath, tokenizerPath, threads, kvBlocks, policy, policyOptions,
                latencyCoefficients, statusIntervalMs, idleStatusMs, e);
    }
}
