package io.sluice.gpu.exec;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

import io.sluice.gpu.exec.EngineBenchmark.StepWork;
import io.sluice.gpu.model.ModelConfig;
import org.junit.jupiter.api.Test;

class EngineBenchmarkTest {

    /** The 15m shape: dim 288, hidden 768, 6 layers, 6 heads, vocab 32,000. */
    private static final ModelConfig M15 = new ModelConfig(288, 768, 6, 6, 6, 32000, 256, true);

    @Test
    void aStepReadsEveryWeightOnceAndAppliesItToEverySequence() {
        // per layer 2 x 288^2 (wq, wo) + 2 x 288^2 (wk, wv) + 3 x 288 x 768 (w1, w2, w3); classifier 32,000 x 288
        double weights = 6 * (4.0 * 288 * 288 + 3.0 * 288 * 768) + 32000.0 * 288;
        assertThat(weights).isEqualTo(15_187_968);
        StepWork one = StepWork.decode(M15, 1, 0);
        assertThat(one.flops()).isEqualTo(2 * weights);
        assertThat(one.bytes()).isEqualTo(4 * weights);
        StepWork batch = StepWork.decode(M15, 32, 0);
        assertThat(batch.flops()).as("the arithmetic grows with the batch").isEqualTo(32 * 2 * weights);
        assertThat(batch.bytes()).as("the weights are read once a step, whatever the batch").isEqualTo(4 * weights);
    }

    @Test
    void attentionAddsPerPositionWorkAndTheContextsKeysAndValues() {
        StepWork none = StepWork.decode(M15, 2, 0);
        StepWork ten = StepWork.decode(M15, 2, 10);
        // q.k and the weighted values: 288 multiply-adds each per position, per layer, per sequence
        assertThat(ten.flops() - none.flops()).isEqualTo(2 * 6 * 2.0 * 288 * 10 * 2);
        // keys and values of 10 positions, 288 floats each, per layer, per sequence
        assertThat(ten.bytes() - none.bytes()).isEqualTo(2 * 6 * 2.0 * 288 * 10 * 4);
        // grouped-query attention reads kv_dim floats a position, but every query head still attends
        ModelConfig gqa = new ModelConfig(64, 172, 5, 8, 4, 512, 512, true);
        StepWork g0 = StepWork.decode(gqa, 1, 0);
        StepWork g4 = StepWork.decode(gqa, 1, 4);
        assertThat(g4.bytes() - g0.bytes()).isEqualTo(5 * 2.0 * 32 * 4 * 4);
        assertThat(g4.flops() - g0.flops()).isEqualTo(5 * 2.0 * 64 * 4 * 2);
    }

    @Test
    void ratesAndMeanContext() {
        StepWork w = new StepWork(2e9, 6e7);
        assertThat(w.gflopsPerSecond(10)).isCloseTo(200, within(1e-9));
        assertThat(w.gigabytesPerSecond(1)).isCloseTo(60, within(1e-9));
        assertThat(w.gflopsPerSecond(0)).isZero();
        // prompt 16, 4 steps: the steps attend over 17, 18, 19, 20 positions
        assertThat(StepWork.meanDecodeContext(16, 4)).isEqualTo(18.5);
    }
}
