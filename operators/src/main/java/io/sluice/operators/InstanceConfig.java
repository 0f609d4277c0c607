package io.sluice.operators;

import io.sluice.scheduling.LatencyModel;
import io.sluice.scheduling.Policies;
import io.sluice.scheduling.PolicyOptions;
import io.sluice.scheduling.Role;
import io.sluice.scheduling.RouterOptions;
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
 * @param latencyCoefficients starting latency model c0..c4, b0..b4 (see {@link LatencyModel}); refitted online
 * @param statusIntervalMs    how often a busy instance reports its load
 * @param idleStatusMs        how often an idle instance reports it; 0 = only when it becomes idle
 * @param engine              the real CPU engine, or a no-op one that measures the operator and scheduler alone
 * @param role                MIXED (colocated), or PREFILL / DECODE under PD separation
 * @param firstInstanceId     global id of subtask 0 (decode instances are numbered after the prefill ones)
 * @param decodeInstances     decode instances a PREFILL instance hands over to; 0 otherwise
 * @param hostKvBlocks        host-tier KV blocks preempted sequences can swap to; 0 = recompute only
 * @param hybrid              a PREFILL instance keeps and decodes a sequence itself when no decode instance admits
 * @param router              the job's router options: a PREFILL instance places its handoffs by them; null =
 *                            {@link RouterOptions#defaults()}
 */
public record InstanceConfig(String modelPath, String tokenizerPath, int threads, int kvBlocks, String policy,
                             PolicyOptions policyOptions, double[] latencyCoefficients, long statusIntervalMs,
                             long idleStatusMs, Engine engine, Role role, int firstInstanceId, int decodeInstances,
                             int hostKvBlocks, boolean hybrid, RouterOptions router) implements Serializable {

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
        if (role == null) {
            role = Role.MIXED;
        }
        if (firstInstanceId < 0 || decodeInstances < 0 || hostKvBlocks < 0) {
            throw new IllegalArgumentException("instance ids, decode instances and host KV blocks must be >= 0");
        }
        if (role == Role.PREFILL && decodeInstances < 1) {
            throw new IllegalArgumentException("a prefill instance needs at least one decode instance to hand over to");
        }
        if (router == null) {
            router = RouterOptions.defaults();
        }
    }

    /** An instance with the default router options. */
    public InstanceConfig(String modelPath, String tokenizerPath, int threads, int kvBlocks, String policy,
                          PolicyOptions policyOptions, double[] latencyCoefficients, long statusIntervalMs,
                          long idleStatusMs, Engine engine, Role role, int firstInstanceId, int decodeInstances,
                          int hostKvBlocks, boolean hybrid) {
        this(modelPath, tokenizerPath, threads, kvBlocks, policy, policyOptions, latencyCoefficients,
                statusIntervalMs, idleStatusMs, engine, role, firstInstanceId, decodeInstances, hostKvBlocks, hybrid,
                null);
    }

    /** A colocated instance without a host tier. */
    public InstanceConfig(String modelPath, String tokenizerPath, int threads, int kvBlocks, String policy,
                          PolicyOptions policyOptions, double[] latencyCoefficients, long statusIntervalMs,
                          long idleStatusMs, Engine engine) {
        this(modelPath, tokenizerPath, threads, kvBlocks, policy, policyOptions, latencyCoefficients,
                statusIntervalMs, idleStatusMs, engine, Role.MIXED, 0, 0, 0, false);
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
                latencyCoefficients, statusIntervalMs, ms, engine, role, firstInstanceId, decodeInstances,
                hostKvBlocks, hybrid, router);
    }

    /** The same instance on another engine. */
    public InstanceConfig withEngine(Engine e) {
        return new InstanceConfig(modelPath, tokenizerPath, threads, kvBlocks, policy, policyOptions,
                latencyCoefficients, statusIntervalMs, idleStatusMs, e, role, firstInstanceId, decodeInstances,
                hostKvBlocks, hybrid, router);
    }

    /**
     * The same instance in a PD role: {@code firstId} is the global id of its subtask 0, {@code decode} the decode
     * instances a prefill instance hands over to, {@code keepWhenFull} the hybrid rule.
     */
    public InstanceConfig withRole(Role r, int firstId, int decode, boolean keepWhenFull) {
        return new InstanceConfig(modelPath, tokenizerPath, threads, kvBlocks, policy, policyOptions,
                latencyCoefficients, statusIntervalMs, idleStatusMs, engine, r, firstId, decode, hostKvBlocks,
                keepWhenFull, router);
    }

    /** The same instance with a host tier of {@code blocks} KV blocks. */
    public InstanceConfig withHostKvBlocks(int blocks) {
        return new InstanceConfig(modelPath, tokenizerPath, threads, kvBlocks, policy, policyOptions,
                latencyCoefficients, statusIntervalMs, idleStatusMs, engine, role, firstInstanceId, decodeInstances,
                blocks, hybrid, router);
    }

    /** The same instance with other router options. */
    public InstanceConfig withRouter(RouterOptions options) {
        return new InstanceConfig(modelPath, tokenizerPath, threads, kvBlocks, policy, policyOptions,
                latencyCoefficients, statusIntervalMs, idleStatusMs, engine, role, firstInstanceId, decodeInstances,
                hostKvBlocks, hybrid, options);
    }
}
