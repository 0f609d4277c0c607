package io.sluice.operators.ingest;

import io.sluice.schemas.InferenceRequest;
import java.io.Serializable;
import java.time.Instant;
import java.util.List;
import java.util.Optional;

/**
 * Decides whether a readable request is served: first its own fields (before tokenizing, so
 * nonsense is not tokenized), then its tenant's limits and the model's context once its prompt
 * length is known. A refusal carries a reason the client reads on its final token event.
 */
public final class Admission implements Serializable {
    private static final long serialVersionUID = 1L;

    private final TenantTable tenants;
    private final int modelContext;

    /** @param modelContext the model's context length in tokens (BOS and generated tokens included) */
    public Admission(TenantTable tenants, int modelContext) {
        if (modelContext < 2) {
            throw new IllegalArgumentException("model context must be at least 2 tokens, got " + modelContext);
        }
        this.tenants = tenants;
        this.modelContext = modelContext;
    }

    /** The outcome for one request. */
    public sealed interface Decision permits Admitted, Rejected {}

    /** Served, with its weight clamped to the tenant's ceiling and its output capped to what fits. */
    public record Admitted(double priorityWeight, int maxNewTokens) implements Decision {}

    /** Refused, and why. */
    public record Rejected(String reason) implements Decision {}

    /** Checks the request's own fields; returns the reason it is unusable, or empty. */
    public Optional<String> checkFields(InferenceRequest request) {
        if (request.getRequestId() == null || request.getRequestId().isBlank()) {
            return Optional.of("request_id is empty");
        }
        boolean hasText = request.getPrompt() != null;
        List<Integer> ids = request.getPromptTokenIds();
        if (hasText == (ids != null)) {
            return Optional.of("give exactly one of prompt and prompt_token_ids");
        }
        if (hasText ? request.getPrompt().isEmpty() : ids.isEmpty()) {
            return Optional.of("the prompt is empty");
        }
        if (ids != null && ids.stream().anyMatch(id -> id == null || id < 0)) {
            return Optional.of("prompt_token_ids holds a negative id");
        }
        if (request.getMaxNewTokens() <= 0) {
            return Optional.of("max_new_tokens must be positive, got " + request.getMaxNewTokens());
        }
        double weight = request.getPriorityWeight();
        if (!(weight > 0) || !Double.isFinite(weight)) {
            return Optional.of("priority_weight must be a positive number, got " + weight);
        }
        float temperature = request.getTemperature();
        if (!(temperature >= 0) || !Float.isFinite(temperature)) {
            return Optional.of("temperature must be >= 0, got " + temperature);
        }
        float topP = request.getTopP();
        if (!(topP > 0 && topP <= 1)) {
            return Optional.of("top_p must be in (0, 1], got " + topP);
        }
        if (request.getTtftSloMs() != null && request.getTtftSloMs() <= 0) {
            return Optional.of("ttft_slo_ms must be positive, got " + request.getTtftSloMs());
        }
        if (request.getTpotSloMs() != null && request.getTpotSloMs() <= 0) {
            return Optional.of("tpot_slo_ms must be positive, got " + request.getTpotSloMs());
        }
        Instant deadline = request.getDeadline();
        if (deadline != null && !deadline.isAfter(request.getSubmittedAt())) {
            return Optional.of("deadline " + deadline + " is not after submitted_at " + request.getSubmittedAt());
        }
        if (tenants.limitsOf(request.getTenant()).isEmpty()) {
            return Optional.of("unknown tenant '" + request.getTenant() + "'");
        }
        return Optional.empty();
    }

    /**
     * Applies the tenant's limits and the model's context to a request whose fields passed
     * {@link #checkFields}.
     *
     * @param promptTokens the prompt's length in tokens, BOS included
     */
    public Decision admit(InferenceRequest request, int promptTokens) {
        Optional<String> fieldProblem = checkFields(request);
        if (fieldProblem.isPresent()) {
            return new Rejected(fieldProblem.get());
        }
        TenantLimits limits = tenants.limitsOf(request.getTenant()).orElseThrow();
        if (promptTokens > limits.maxPromptTokens()) {
            return new Rejected("prompt of " + promptTokens + " tokens exceeds tenant '" + request.getTenant()
                    + "' limit of " + limits.maxPromptTokens());
        }
        if (request.getMaxNewTokens() > limits.maxNewTokens()) {
            return new Rejected("max_new_tokens " + request.getMaxNewTokens() + " exceeds tenant '"
                    + request.getTenant() + "' limit of " + limits.maxNewTokens());
        }
        if (promptTokens >= modelContext) {
            return new Rejected("prompt of " + promptTokens + " tokens leaves no room in the model's context of "
                    + modelContext + " tokens");
        }
        // As vLLM does: a prompt that fits is served; generation stops at the end of the context.
        int maxNewTokens = Math.min(request.getMaxNewTokens(), modelContext - promptTokens);
        return new Admitted(clampedWeight(request), maxNewTokens);
    }

    /**
     * The weight a request counts with, admitted or not: clamped to its tenant's ceiling; 0 when it is not a
     * positive number (a request rejected for its weight carries none, and a NaN would not even encode as JSON).
     */
    public double clampedWeight(InferenceRequest request) {
        double weight = request.getPriorityWeight();
        if (!(weight > 0) || !Double.isFinite(weight)) {
            return 0;
        }
        return tenants.limitsOf(request.getTenant()).map(l -> Math.min(weight, l.maxPriorityWeight())).orElse(weight);
    }
}
