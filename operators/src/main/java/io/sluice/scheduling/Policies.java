package io.sluice.scheduling;

import java.util.List;
import java.util.Locale;

/** The registry of batching policies by name, so every comparison runs through the same harness. */
public final class Policies {

    private static final List<String> NAMES = List.of("slidebatching", "fcfs", "sarathi", "priority", "edf", "sjf",
            "slidingserve", "scls");

    private Policies() {
    }

    /** Registered names, the main policy first. */
    public static List<String> names() {
        return NAMES;
    }

    /** A new policy object (it keeps scratch buffers: one per instance or per single-threaded driver). */
    public static BatchPolicy create(String name, PolicyOptions options) {
        if (name == null) {
            throw new IllegalArgumentException("policy name must not be null; one of " + NAMES);
        }
        PolicyOptions o = options == null ? PolicyOptions.defaults() : options;
        return switch (name.trim().toLowerCase(Locale.ROOT)) {
            case "fcfs" -> new FcfsPolicy(o);
            case "priority" -> new PriorityPolicy(o);
            case "sjf" -> new SjfPolicy(o);
            case "sarathi" -> new SarathiPolicy(o);
            case "edf" -> new EdfPolicy(o);
            case "slidebatching" -> new SlideBatchingPolicy(o);
            case "slidingserve" -> new SlidingServePolicy(o);
            case "scls" -> new SclsPolicy(o);
            default -> throw new IllegalArgumentException("unknown policy '" + name + "'; one of " + NAMES);
        };
    }

    /** A new policy with default options. */
    public static BatchPolicy create(String name) {
        return create(name, PolicyOptions.defaults());
    }
}
