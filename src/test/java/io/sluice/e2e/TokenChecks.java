package io.sluice.e2e;

import static org.assertj.core.api.Assertions.assertThat;

import io.sluice.gpu.exec.CpuExecutor;
import io.sluice.gpu.exec.Generator;
import io.sluice.gpu.sampling.SamplingParams;
import io.sluice.gpu.tokenizer.Tokenizer;
import io.sluice.job.loadgen.PlannedRequest;
import io.sluice.schemas.FinishReason;
import io.sluice.schemas.TokenEvent;
import java.util.ArrayList;
import java.util.List;

/** What every end-to-end test checks of a request's token events. */
final class TokenChecks {

    private TokenChecks() {}

    /** One final event, indices 0..n-1, and the tokens the engine produces for the request alone. */
    static void check(PlannedRequest p, List<TokenEvent> events, Tokenizer tokenizer,
            CpuExecutor reference) {
        assertThat(events).as("events of %s", p.requestId()).isNotEmpty();
        assertThat(events).filteredOn(TokenEvent::getFinal$).as("final events of %s", p.requestId()).hasSize(1);
        TokenEvent last = events.get(events.size() - 1);
        assertThat(last.getFinal$()).as("the final event of %s comes last", p.requestId()).isTrue();
        for (int i = 0; i < events.size(); i++) {
            assertThat(events.get(i).getIndex()).as("index of event %d of %s", i, p.requestId()).isEqualTo(i);
        }
        int[] prompt = tokenizer.encode(p.prompt());
        SamplingParams sampling = new SamplingParams(p.temperature(), 1f, p.seed());
        int[] ids = Generator.generate(reference, prompt, prompt.length - 1 + p.maxNewTokens(), sampling, t -> { })
                .ids();
        List<Integer> expected = new ArrayList<>();
        for (int i = prompt.length - 1; i < ids.length; i++) {
            expected.add(ids[i]);
        }
        List<Integer> got = new ArrayList<>();
        for (TokenEvent e : events) {
            boolean stopToken = e.getFinal$() && e.getFinishReason() == FinishReason.EOS;
            if (!stopToken) {
                got.add(e.getTokenId());
            }
        }
        assertThat(got).as("tokens of %s (temperature %s, finish %s: %s)", p.requestId(), p.temperature(),
                last.getFinishReason(), last.getReasonDetail()).isEqualTo(expected);
        if (last.getFinishReason() == FinishReason.LENGTH) {
            assertThat(got).hasSize(p.maxNewTokens());
        }
    }
}
