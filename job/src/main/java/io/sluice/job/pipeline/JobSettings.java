package io.sluice.job.pipeline;

import io.sluice.operators.InstanceConfig;
import io.sluice.operators.ingest.RequestFormat;
import io.sluice.scheduling.LatencyModel;
import io.sluice.scheduling.PolicyOptions;
import io.sluice.scheduling.RouterOptions;
import java.io.Serializable;
import java.util.Properties;

/**
 * Everything the inference job is built from; validated here so that a bad flag fails before
 * anything starts.
 *
 * @param bootstrap         Kafka bootstrap servers
 * @param kafkaProperties   passed through to every Kafka client (security settings and the like)
 * @param groupId           consumer group of the request source
 * @param modelPath         llama2.c checkpoint every instance loads
 * @param tokenizerPath     its tokenizer
 * @param instances         model instances (= parallelism of the instance operator)
 * @param threadsPerInstance engine threads of each instance
 * @param kvBlocks          KV blocks per instance, 0 for the engine's default
 * @param latency           the instances' starting latency model, {@link LatencyModel#NAMES} in order
 * @param tenantSpec        tenant table (see TenantTable); empty admits every tenant
 * @param statusIntervalMs  how often instances report their load
 * @param sloWindowMs       length of the SLO report windows
 * @param bufferTimeoutMs   network buffer timeout of the keyed exchanges (latency vs throughput)
 * @param engine            the instances' engine: the CPU model, or a no-op one to measure the pipeline alone
 * @param pd                colocated, or a prefill and a decode pool (separate, hybrid)
 * @param decodeInstances   instances of the decode pool (0 when colocated); the other instances prefill
 * @param hostKvBlocks      host-tier KV blocks per instance for preempted sequences; 0 = recompute only
 * @param router            the routing knobs (load bounds, admission thresholds, default targets), one set for the
 *                          router and every prefill instance; null = {@link RouterOptions#defaults()}. Whether
 *                          prefills may go hybrid is {@code pd}'s to say, not {@link RouterOptions#hybrid()}'s
 */
public record JobSettings(
        String bootstrap,
        Topics topics,
        RequestFormat format,
        Properties kafkaProperties,
        String groupId,
        String modelPath,
        String tokenizerPath,
        int instances,
        int threadsPerInstance,
        int kvBlocks,
        String policy,
        PolicyOptions policyOptions,
        double[] latency,
        String tenantSpec,
        long statusIntervalMs,
        long sloWindowMs,
        long bufferTimeoutMs,
        InstanceConfig.Engine engine,
        PdMode pd,
        int decodeInstances,
        int hostKvBlocks,
        RouterOptions router) implements Serializable {

    /** Settings with the default router options. */
    public JobSettings(String bootstrap, Topics topics, RequestFormat format, Properties kafkaProperties,
            String groupId, String modelPath, String tokenizerPath, int instances, int threadsPerInstance,
            int kvBlocks, String policy, PolicyOptions policyOptions, double[] latency, String tenantSpec,
            long statusIntervalMs, long sloWindowMs, long bufferTimeoutMs, InstanceConfig.Engine engine, PdMode pd,
            int decodeInstances, int hostKvBlocks) {
        this(bootstrap, topics, format, kafkaProperties, groupId, modelPath, tokenizerPath, instances,
                threadsPerInstance, kvBlocks, policy, policyOptions, latency, tenantSpec, statusIntervalMs,
                sloWindowMs, bufferTimeoutMs, engine, pd, decodeInstances, hostKvBlocks, null);
    }

    /** Settings with the CPU engine. */
    public JobSettings(String bootstrap, Topics topics, RequestFormat format, Properties kafkaProperties,
            String groupId, String modelPath, String tokenizerPath, int instances, int threadsPerInstance,
            int kvBlocks, String policy, PolicyOptions policyOptions, double[] latency, String tenantSpec,
            long statusIntervalMs, long sloWindowMs, long bufferTimeoutMs) {
        this(bootstrap, topics, format, kafkaProperties, groupId, modelPath, tokenizerPath, instances,
                threadsPerInstance, kvBlocks, policy, policyOptions, latency, tenantSpec, statusIntervalMs,
                sloWindowMs, bufferTimeoutMs, InstanceConfig.Engine.CPU);
    }

    /** Colocated settings without a host tier. */
    public JobSettings(String bootstrap, Topics topics, RequestFormat format, Properties kafkaProperties,
            String groupId, String modelPath, String tokenizerPath, int instances, int threadsPerInstance,
            int kvBlocks, String policy, PolicyOptions policyOptions, double[] latency, String tenantSpec,
            long statusIntervalMs, long sloWindowMs, long bufferTimeoutMs, InstanceConfig.Engine engine) {
        this(bootstrap, topics, format, kafkaProperties, groupId, modelPath, tokenizerPath, instances,
                threadsPerInstance, kvBlocks, policy, policyOptions, latency, tenantSpec, statusIntervalMs,
                sloWindowMs, bufferTimeoutMs, engine, PdMode.COLOCATED, 0, 0);
    }

    /** The same settings with prefill and decode placed by {@code mode} over {@code decode} decode instances. */
    public JobSettings withPd(PdMode mode, int decode) {
        return new JobSettings(bootstrap, topics, format, kafkaProperties, groupId, modelPath, tokenizerPath,
                instances, threadsPerInstance, kvBlocks, policy, policyOptions, latency, tenantSpec,
                statusIntervalMs, sloWindowMs, bufferTimeoutMs, engine, mode, decode, hostKvBlocks, router);
    }

    /** The same settings with a host tier of {@code blocks} KV blocks per instance. */
    public JobSettings withHostKvBlocks(int blocks) {
        return new JobSettings(bootstrap, topics, format, kafkaProperties, groupId, modelPath, tokenizerPath,
                instances, threadsPerInstance, kvBlocks, policy, policyOptions, latency, tenantSpec,
                statusIntervalMs, sloWindowMs, bufferTimeoutMs, engine, pd, decodeInstances, blocks, router);
    }

    /** The same settings with other router options. */
    public JobSettings withRouter(RouterOptions options) {
        return new JobSettings(bootstrap, topics, format, kafkaProperties, groupId, modelPath, tokenizerPath,
                instances, threadsPerInstance, kvBlocks, policy, policyOptions, latency, tenantSpec,
                statusIntervalMs, sloWindowMs, bufferTimeoutMs, engine, pd, decodeInstances, hostKvBlocks, options);
    }

    /** The router options the job routes by: {@link #router()}, hybrid exactly when {@link #pd()} is. */
    public RouterOptions routing() {
        return router.withHybrid(pd == PdMode.HYBRID);
    }

    /** Instances that take new requests: all when colocated, else the prefill pool. */
    public int prefillInstances() {
        return instances - decodeInstances;
    }

    /** The periods of the job, each named by its option with the value given when it is out of range. */
    public static void checkIntervals(long statusIntervalMs, long sloWindowMs, long bufferTimeoutMs) {
        if (statusIntervalMs < 10) {
            throw new IllegalArgumentException("--status-interval-ms must be >= 10, got " + statusIntervalMs);
        }
        if (sloWindowMs < 100) {
            throw new IllegalArgumentException("--slo-window-ms must be >= 100, got " + sloWindowMs);
        }
        if (bufferTimeoutMs < 0) {
            throw new IllegalArgumentException("--buffer-timeout-ms must be >= 0, got " + bufferTimeoutMs);
        }
    }

    public JobSettings {
        if (bootstrap == null || bootstrap.isBlank()) {
            throw new IllegalArgumentException("--bootstrap is required (Kafka bootstrap servers, e.g. localhost:9092)");
        }
        if (instances < 1) {
            throw new IllegalArgumentException("--instances must be at least 1, got " + instances);
        }
        if (threadsPerInstance < 1) {
            throw new IllegalArgumentException("--threads must be at least 1, got " + threadsPerInstance);
        }
        if (kvBlocks < 0) {
            throw new IllegalArgumentException("--kv-blocks must be >= 0 (0 = engine default), got " + kvBlocks);
        }
        checkIntervals(statusIntervalMs, sloWindowMs, bufferTimeoutMs);
        if (latency == null) {
            throw new IllegalArgumentException("the latency model needs " + LatencyModel.COEFFICIENTS + " coefficients "
                    + LatencyModel.NAMES);
        }
        new LatencyModel(latency, 1, 1); // validates count and signs with its own messages
        if (engine == null) {
            throw new IllegalArgumentException("the instances need an engine (CPU or NOOP)");
        }
        if (pd == null) {
            pd = PdMode.COLOCATED;
        }
        if (pd.separated() && (decodeInstances < 1 || decodeInstances >= instances)) {
            throw new IllegalArgumentException("--pd " + pd.name().toLowerCase(java.util.Locale.ROOT)
                    + " needs at least one prefill and one decode instance: --instances P:D, got " + instances
                    + " instances with " + decodeInstances + " decoding");
        }
        if (!pd.separated() && decodeInstances != 0) {
            throw new IllegalArgumentException("--pd colocated takes --instances N, not P:D; use --pd separate or "
                    + "hybrid for a prefill and a decode pool");
        }
        if (hostKvBlocks < 0) {
            throw new IllegalArgumentException("--host-kv-blocks must be >= 0 (0 = no host tier), got " + hostKvBlocks);
        }
        if (router == null) {
            router = RouterOptions.defaults();
        }
        kafkaProperties = (Properties) kafkaProperties.clone();
        latency = latency.clone();
    }
}
