package io.sluice.job.cli;

import io.sluice.job.pipeline.Topics;
import io.sluice.operators.ingest.RequestFormat;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Properties;
import picocli.CommandLine.Option;

/** Kafka options shared by the commands that talk to a broker. */
public final class KafkaOptions {

    @Option(names = "--format", defaultValue = "avro",
            description = "Record encoding on every topic: avro (binary, the default) or json (plain objects with "
                    + "the schemas' field names, for kcat and scripts).")
    String format;

    @Option(names = "--topics-prefix", defaultValue = "sluice.",
            description = "Prefix of the topic names: <prefix>requests, tokens, metrics, slo, status, dlq "
                    + "(default: ${DEFAULT-VALUE}).")
    String topicsPrefix;

    @Option(names = "--kafka-property", paramLabel = "KEY=VALUE",
            description = "A Kafka client property passed through to every client (repeatable), e.g. "
                    + "security.protocol=SASL_SSL. Producers default to linger.ms=0 (lowest latency; Kafka's own "
                    + "default is 5); linger.ms=5 here restores it.")
    Map<String, String> properties = new LinkedHashMap<>();

    RequestFormat format() {
        try {
            return RequestFormat.valueOf(format.toUpperCase());
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException("--format must be avro or json, got '" + format + "'");
        }
    }

    Topics topics() {
        String p = topicsPrefix;
        return new Topics(p + "requests", p + "tokens", p + "metrics", p + "slo", p + "status", p + "dlq");
    }

    Properties properties() {
        Properties props = new Properties();
        props.putAll(properties);
        return props;
    }
}
