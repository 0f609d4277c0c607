package io.sluice.gpu.exec;

import java.util.List;

/**
 * The result of one executor call: an output per chunk (in input order), or, when the KV pool could not hold every
 * chunk, the sequences that found no room; then nothing ran and no cache changed.
 *
 * @param outputs    one per chunk, in the order given, when {@link #ok()}
 * @param outOfBlocks sequences whose chunk did not fit in the free blocks; empty when the call ran
 * @param elapsedNanos time the call took
 */
public record StepResult(List<SequenceOutput> outputs, List<Long> outOfBlocks, long elapsedNanos) {

    public StepResult {
        outputs = List.copyOf(outputs);
        outOfBlocks = List.copyOf(outOfBlocks);
    }

    /** Whether the batch ran. */
    public boolean ok() {
        return outOfBlocks.isEmpty();
    }

    /** The output of the {@code i}-th chunk. */
    public SequenceOutput output(int i) {
        return outputs.get(i);
    }
}
