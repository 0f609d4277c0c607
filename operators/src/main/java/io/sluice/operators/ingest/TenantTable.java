package io.sluice.operators.ingest;

import java.io.Serializable;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Optional;

/**
 * The tenants the job serves and their limits. A request from a tenant not in the table is
 * rejected, unless the table has a {@code *} entry, which then applies to every other tenant.
 *
 * <p>Spec syntax (a flag or a file's content; entries separated by commas or new lines, {@code #}
 * starts a comment): {@code name[:max_weight=W][:max_prompt=N][:max_output=N]}, e.g.
 * {@code chat:max_weight=4:max_prompt=2048:max_output=512, batch:max_weight=0.5}. Limits left
 * out take those of {@link TenantLimits#OPEN}.
 */
public final class TenantTable implements Serializable {
    private static final long serialVersionUID = 1L;
    private static final String ANY = "*";

    private final Map<String, TenantLimits> tenants;

    private TenantTable(Map<String, TenantLimits> tenants) {
        this.tenants = Map.copyOf(tenants);
    }

    /** A table that admits every tenant with {@link TenantLimits#OPEN}. */
    public static TenantTable open() {
        return new TenantTable(Map.of(ANY, TenantLimits.OPEN));
    }

    /** Parses a spec (see the class comment); an empty spec is {@link #open()}. */
    public static TenantTable parse(String spec) {
        Map<String, TenantLimits> tenants = new LinkedHashMap<>();
        for (String line : spec.split("[,\\n]")) {
            int comment = line.indexOf('#');
            String entry = (comment < 0 ? line : line.substring(0, comment)).trim();
            if (entry.isEmpty()) {
                continue;
            }
            String[] parts = entry.split(":");
            String name = parts[0].trim();
            if (name.isEmpty()) {
                throw new IllegalArgumentException("tenant entry '" + entry + "' has no name");
            }
            double maxWeight = TenantLimits.OPEN.maxPriorityWeight();
            int maxPrompt = TenantLimits.OPEN.maxPromptTokens();
            int maxOutput = TenantLimits.OPEN.maxNewTokens();
            for (int i = 1; i < parts.length; i++) {
                String[] kv = parts[i].split("=", 2);
                if (kv.length != 2) {
                    throw new IllegalArgumentException("tenant '" + name + "': expected key=value, got '" + parts[i] + "'");
                }
                String key = kv[0].trim();
                String value = kv[1].trim();
                try {
                    switch (key) {
                        case "max_weight": maxWeight = Double.parseDouble(value); break;
                        case "max_prompt": maxPrompt = Integer.parseInt(value); break;
                        case "max_output": maxOutput = Integer.parseInt(value); break;
                        default:
                            throw new IllegalArgumentException("tenant '" + name + "': unknown limit '" + key
                                    + "' (known: max_weight, max_prompt, max_output)");
                    }
                } catch (NumberFormatException e) {
                    throw new IllegalArgumentException("tenant '" + name + "': " + key + " is not a number: '" + value + "'");
                }
            }
            if (tenants.put(name, new TenantLimits(maxWeight, maxPrompt, maxOutput)) != null) {
                throw new IllegalArgumentException("tenant '" + name + "' is listed twice");
            }
        }
        return tenants.isEmpty() ? open() : new TenantTable(tenants);
    }

    /** The limits of a tenant, or empty when the table does not serve it. */
    public Optional<TenantLimits> limitsOf(String tenant) {
        TenantLimits limits = tenants.get(tenant);
        return Optional.ofNullable(limits != null ? limits : tenants.get(ANY));
    }
}
