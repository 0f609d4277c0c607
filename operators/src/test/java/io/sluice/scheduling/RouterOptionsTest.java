package io.sluice.scheduling;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatIllegalArgumentException;

import org.junit.jupiter.api.Test;

/** The router's knobs are checked where they are made. */
class RouterOptionsTest {

    private static RouterOptions withRoleThresholds(double slackMs, double pressureMs) {
        RouterOptions d = RouterOptions.defaults();
        return new RouterOptions(d.mu(), d.lambda(), d.freeStop(), d.freeResume(), d.kvBytesPerToken(),
                d.linkBytesPerMs(), d.linkLatencyMs(), d.hybrid(), d.hybridMaxPrompt(), d.defaultTtftMs(),
                d.defaultTpotMs(), slackMs, pressureMs);
    }

    @Test
    void slackMustLieUnderPressure() {
        // With slack at or over pressure one backlog reads as both, and roles would flip back and forth.
        assertThatIllegalArgumentException().isThrownBy(() -> withRoleThresholds(1000, 1000))
                .withMessageContaining("prefillSlackMs < prefillPressureMs").withMessageContaining("1000.0");
        assertThatIllegalArgumentException().isThrownBy(() -> withRoleThresholds(1500, 1000))
                .withMessageContaining("slack 1500.0 ms, pressure 1000.0 ms");
        assertThat(withRoleThresholds(999, 1000).prefillSlackMs()).isEqualTo(999);
        assertThat(RouterOptions.defaults().prefillSlackMs()).isLessThan(RouterOptions.defaults().prefillPressureMs());
    }
}
