package io.sluice.job.sim;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.within;

import org.junit.jupiter.api.Test;

class MixTest {

    @Test
    void parsesTheDefaultMix() {
        Mix mix = Mix.parse(Mix.DEFAULT);
        assertThat(mix.classes()).extracting(ServiceClass::name).containsExactly("interactive", "standard", "batch");
        ServiceClass interactive = mix.classes().get(0);
        assertThat(interactive.weight()).isEqualTo(4);
        assertThat(interactive.ttftMs()).isEqualTo(1000);
        assertThat(interactive.tpotMs()).isEqualTo(50);
        assertThat(interactive.deadlineMs()).isInfinite();
        ServiceClass batch = mix.classes().get(2);
        assertThat(batch.deadlineMs()).isEqualTo(600_000);
        assertThat(batch.ttftMs()).isInfinite();
        assertThat(mix.lowestClass()).isEqualTo(2);
    }

    @Test
    void assignmentFollowsSharesAndSeed() {
        Mix mix = Mix.parse(Mix.DEFAULT);
        int[] a = mix.assign(100_000, 3);
        assertThat(mix.assign(100_000, 3)).isEqualTo(a);
        assertThat(mix.assign(100_000, 4)).isNotEqualTo(a);
        int[] counts = new int[3];
        for (int c : a) {
            counts[c]++;
        }
        assertThat(counts[0] / 1e5).isCloseTo(0.3, within(0.01));
        assertThat(counts[1] / 1e5).isCloseTo(0.5, within(0.01));
        assertThat(counts[2] / 1e5).isCloseTo(0.2, within(0.01));
    }

    @Test
    void sharesAreNormalised() {
        int[] a = Mix.parse("a:3:ttft=100,b:1:ttft=100").assign(40_000, 1);
        long first = java.util.Arrays.stream(a).filter(c -> c == 0).count();
        assertThat(first / 40_000.0).isCloseTo(0.75, within(0.01));
    }

    @Test
    void badSpecsFailClearly() {
        assertThatThrownBy(() -> Mix.parse("")).hasMessageContaining("empty");
        assertThatThrownBy(() -> Mix.parse("solo")).hasMessageContaining("name:share");
        assertThatThrownBy(() -> Mix.parse("a:x:ttft=1")).hasMessageContaining("share 'x'");
        assertThatThrownBy(() -> Mix.parse("a:1:ttft=1:color=red")).hasMessageContaining("unknown key 'color'");
        assertThatThrownBy(() -> Mix.parse("a:1:w=2")).hasMessageContaining("give it an SLO");
        assertThatThrownBy(() -> Mix.parse("a:1:ttft=5,a:1:ttft=5")).hasMessageContaining("twice");
        assertThatThrownBy(() -> Mix.parse("a:0:ttft=5")).hasMessageContaining("> 0");
        assertThatThrownBy(() -> Mix.parse("a:1:ttft")).hasMessageContaining("key=value");
    }
}
