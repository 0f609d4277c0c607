package io.sluice.gpu.exec;

import io.sluice.gpu.kv.BlockTable;
import io.sluice.gpu.sampling.SamplingParams;
import java.util.List;

/**
 * Runs throwaway batches so the JIT compiles the engine's kernels before real requests arrive: on
 * JDK 17's Vector API the first forward passes run many times slower, and the first requests of a
 * fresh instance would otherwise miss their TTFT.
 */
public final class WarmUp {

    private WarmUp() {}

    /**
     * Alternates a prefill chunk and decode steps on a scratch sequence, {@code maxRounds} times or
     * for about {@code millis}, whichever ends first (at least one round), then gives its blocks
     * back. Returns the rounds run.
     */
    public static int run(Executor executor, long millis, int maxRounds) {
        int chunk = Math.max(1, Math.min(64, Math.min(executor.maxBatchTokens(), executor.config().seqLen() / 2)));
        int decodes = Math.min(16, executor.config().seqLen() - chunk - 1);
        int[] prompt = new int[chunk];
        for (int i = 0; i < chunk; i++) {
            prompt[i] = 3 + i % Math.max(1, executor.config().vocabSize() - 3);
        }
        long end = System.nanoTime() + millis * 1_000_000;
        int rounds = 0;
        do {
            BlockTable table = new BlockTable(Long.MIN_VALUE + rounds);
            try {
                StepResult r = executor.prefill(List.of(Chunk.of(table, prompt, SamplingParams.GREEDY)));
                if (!r.ok()) {
                    return rounds; // a pool too small for even this: nothing to warm
                }
                int next = r.output(0).nextToken();
                for (int d = 0; d < decodes; d++) {
                    r = executor.decode(List.of(Chunk.decode(table, next, SamplingParams.GREEDY)));
                    if (!r.ok()) {
                        break;
                    }
                    next = r.output(0).nextToken();
                }
            } finally {
                executor.release(table);
            }
            rounds++;
        } while (rounds < maxRounds && System.nanoTime() < end);
        return rounds;
    }
}
