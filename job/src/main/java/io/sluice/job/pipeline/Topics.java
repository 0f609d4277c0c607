package io.sluice.job.pipeline;

import java.io.Serializable;
import java.util.List;

/** The Kafka topics the job reads and writes. */
public record Topics(String requests, String tokens, String metrics, String slo, String status, String dlq)
        implements Serializable {

    /** The default names: {@code sluice.requests}, {@code sluice.tokens}, ... */
    public static final Topics DEFAULT = new Topics(
            "sluice.requests", "sluice.tokens", "sluice.metrics", "sluice.slo", "sluice.status", "sluice.dlq");

    public Topics {
        for (String t : new String[] {requests, tokens, metrics, slo, status, dlq}) {
            if (t == null || t.isBlank()) {
                throw new IllegalArgumentException("topic names must not be empty");
            }
        }
    }

    public List<String> all() {
        return List.of(requests, tokens, metrics, slo, status, dlq);
    }
}
