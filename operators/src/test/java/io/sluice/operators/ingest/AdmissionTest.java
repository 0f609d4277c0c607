package io.sluice.operators.ingest;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.sluice.operators.ingest.Admission.Admitted;
import io.sluice.operators.ingest.Admission.Rejected;
import io.sluice.schemas.InferenceRequest;
import java.time.Instant;
import java.util.List;
import org.junit.jupiter.api.Test;

/** Admission: field checks, tenant limits, and the model's context. */
class AdmissionTest {

    private static final Instant NOW = Instant.ofEpochMilli(1_700_000_000_000L);
    private final TenantTable tenants = TenantTable.parse(
            "chat:max_weight=4:max_prompt=100:max_output=50  # interactive\nbatch:max_weight=0.5");
    private final Admission admission = new Admission(tenants, 256);

    private static InferenceRequest.Builder request() {
        return InferenceRequest.newBuilder().setRequestId("r").setTenant("chat").setPrompt("hi")
                .setMaxNewTokens(10).setSubmittedAt(NOW);
    }

    @Test
    void admitsAndClampsWeightToTheTenantCeiling() {
        assertThat(admission.admit(request().setPriorityWeight(9).build(), 5)).isEqualTo(new Admitted(4.0, 10));
        assertThat(admission.admit(request().setTenant("batch").setMaxNewTokens(1000).build(), 5))
                .isEqualTo(new Admitted(0.5, 251));
    }

    @Test
    void rejectsWithAReasonAUserCanActOn() {
        assertThat(reason(request().setTenant("nobody").build(), 5)).isEqualTo("unknown tenant 'nobody'");
        assertThat(reason(request().setPrompt("").build(), 1)).isEqualTo("the prompt is empty");
        assertThat(reason(request().setPromptTokenIds(List.of(1)).build(), 2))
                .isEqualTo("give exactly one of prompt and prompt_token_ids");
        assertThat(reason(request().setMaxNewTokens(0).build(), 5)).contains("max_new_tokens must be positive");
        assertThat(reason(request().setTtftSloMs(-5).build(), 5)).contains("ttft_slo_ms must be positive");
        assertThat(reason(request().setTopP(1.5f).build(), 5)).contains("top_p");
        assertThat(reason(request().setTemperature(-1f).build(), 5)).contains("temperature");
        assertThat(reason(request().setDeadline(NOW.minusSeconds(1)).build(), 5)).contains("deadline");
        assertThat(reason(request().build(), 101)).contains("exceeds tenant 'chat' limit of 100");
        assertThat(reason(request().setMaxNewTokens(51).build(), 5)).contains("limit of 50");
        assertThat(reason(request().setTenant("batch").build(), 256)).contains("model's context of 256");
    }

    @Test
    void tenantSpecErrorsAreClear() {
        assertThatThrownBy(() -> TenantTable.parse("a:max_wieght=2")).hasMessageContaining("unknown limit 'max_wieght'");
        assertThatThrownBy(() -> TenantTable.parse("a:max_prompt=lots")).hasMessageContaining("not a number");
        assertThatThrownBy(() -> TenantTable.parse("a,a")).hasMessageContaining("listed twice");
        assertThatThrownBy(() -> TenantTable.parse("a:max_weight=0")).hasMessageContaining("positive");
        assertThat(TenantTable.parse("").limitsOf("anyone")).contains(TenantLimits.OPEN);
        assertThat(TenantTable.parse("a, *:max_weight=1").limitsOf("b").orElseThrow().maxPriorityWeight()).isEqualTo(1.0);
    }

    private String reason(InferenceRequest r, int promptTokens) {
        Admission.Decision decision = admission.admit(r, promptTokens);
        assertThat(decision).isInstanceOf(Rejected.class);
        return ((Rejected) decision).reason();
    }
}
