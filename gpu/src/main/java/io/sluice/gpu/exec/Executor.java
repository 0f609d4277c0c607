package io.sluice.gpu.exec;

import io.sluice.gpu.kv.BlockPool;
import io.sluice.gpu.kv.BlockTable;
import io.sluice.gpu.kv.KvSnapshot;
import io.sluice.gpu.model.ModelConfig;
import java.util.List;
import java.util.Optional;

/**
 * Runs batches of a Llama model over a paged KV cache: the seam the schedulers drive. One call runs every chunk of
 * the batch together (one matrix-matrix product per weight over all their tokens). A chunk continues its sequence
 * from what the sequence's {@link BlockTable} holds, so a prompt can be prefilled in pieces (chunked prefill) and
 * prefill chunks and decode steps of different sequences can share a call.
 *
 * <p>Blocks a chunk needs beyond its table's are taken from {@link #blockPool()} at call time; if they are not
 * all there, the call returns a {@link StepResult} naming the sequences that did not fit and changes nothing.
 */
public interface Executor extends AutoCloseable {

    ModelConfig config();

    /** The pool the KV blocks of every sequence come from. */
    BlockPool blockPool();

    /** Most tokens (all chunks together) one call takes. */
    int maxBatchTokens();

    /** Most chunks one call takes. */
    int maxBatchSequences();

    /** Runs any mix of prefill chunks and decode steps, each of a different sequence. */
    StepResult execute(List<Chunk> chunks);

    /** Prefills chunks of several sequences. */
    default StepResult prefill(List<Chunk> chunks) {
        return execute(chunks);
    }

    /** One decode step for each of several sequences (of any context length). */
    default StepResult decode(List<Chunk> steps) {
        for (Chunk c : steps) {
            if (c.tokens().length != 1) {
                throw new IllegalArgumentException("a decode step takes exactly one token, sequence "
                        + c.sequenceId() + " has " + c.tokens().length);
            }
        }
        return execute(steps);
    }

    /** Gives a finished sequence's blocks back to the pool. */
    default void release(BlockTable table) {
        table.release(blockPool());
    }

    /**
     * Copies the KV of positions {@code [0, table.length())} of a sequence to host memory; the sequence keeps its
     * blocks (release them to move it). With {@link #importKv} this moves a sequence between executors (a
     * prefill-to-decode handoff) or out of the pool and back (the host tier).
     */
    KvSnapshot exportKv(BlockTable table);

    /**
     * Loads a snapshot of this model into freshly taken blocks: a new table of {@code sequenceId} that caches
     * {@code snapshot.length()} positions, so the next chunk continues the sequence as if it had never moved.
     * Empty (and nothing taken) when the pool has too few free blocks.
     */
    Optional<BlockTable> importKv(long sequenceId, KvSnapshot snapshot);

    @Override
    void close();
}
