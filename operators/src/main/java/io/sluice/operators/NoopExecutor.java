package io.sluice.operators;

import io.sluice.gpu.exec.BlockReservation;
import io.sluice.gpu.exec.Chunk;
import io.sluice.gpu.exec.Executor;
import io.sluice.gpu.exec.SequenceOutput;
import io.sluice.gpu.exec.StepResult;
import io.sluice.gpu.kv.BlockPool;
import io.sluice.gpu.kv.BlockTable;
import io.sluice.gpu.kv.KvSnapshot;
import io.sluice.gpu.model.ModelConfig;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;

/**
 * An engine that computes nothing, for measuring the operator and the scheduler alone (the "no-op engine"
 * throughput benchmark): it keeps block tables and the block pool exactly as a real executor does, so KV
 * pressure and preemption behave the same, and picks a token from the request's seed and the position only,
 * never BOS or EOS, so every request runs to its length and a replay yields the same tokens.
 */
final class NoopExecutor implements Executor {

    private final ModelConfig config;
    private final BlockPool pool;
    private final int maxBatchTokens;
    private final int maxBatchSequences;

    NoopExecutor(ModelConfig config, int kvBlocks, int blockSize, int maxBatchTokens, int maxBatchSequences) {
        this.config = config;
        this.pool = new BlockPool(kvBlocks, blockSize);
        this.maxBatchTokens = maxBatchTokens;
        this.maxBatchSequences = maxBatchSequences;
    }

    @Override
    public ModelConfig config() {
        return config;
    }

    @Override
    public BlockPool blockPool() {
        return pool;
    }

    @Override
    public int maxBatchTokens() {
        return maxBatchTokens;
    }

    @Override
    public int maxBatchSequences() {
        return maxBatchSequences;
    }

    @Override
    public StepResult execute(List<Chunk> chunks) {
        long start = System.nanoTime();
        List<Long> outOfBlocks = BlockReservation.reserveAll(chunks, pool);
        if (!outOfBlocks.isEmpty()) {
            return new StepResult(List.of(), outOfBlocks, System.nanoTime() - start);
        }
        List<SequenceOutput> outputs = new ArrayList<>(chunks.size());
        for (Chunk ch : chunks) {
            int length = ch.startPosition() + ch.tokens().length;
            ch.table().setLength(length, pool.blockSize());
            int token = ch.output() == Chunk.Output.NONE ? -1 : token(ch.sampling().seed(), length);
            outputs.add(new SequenceOutput(ch.sequenceId(), length, token, null));
        }
        return new StepResult(outputs, List.of(), System.nanoTime() - start);
    }

    /** A snapshot of the length alone: there are no contents to copy, tokens depend on seed and position only. */
    @Override
    public KvSnapshot exportKv(BlockTable table) {
        return new KvSnapshot(table.length(), 0, 0, new float[0], new float[0]);
    }

    @Override
    public Optional<BlockTable> importKv(long sequenceId, KvSnapshot snapshot) {
        BlockTable table = new BlockTable(sequenceId);
        if (!table.reserve(pool, snapshot.length())) {
            return Optional.empty();
        }
        table.setLength(snapshot.length(), pool.blockSize());
        return Optional.of(table);
    }

    /** An id in [3, vocab): above UNK, BOS and EOS. */
    private int token(long seed, int position) {
        int range = Math.max(1, config.vocabSize() - 3);
        return 3 + (int) Math.floorMod(seed * 0x9E3779B97F4A7C15L + position * 0xBF58476D1CE4E5B9L >>> 17, (long) range);
    }

    @Override
    public void close() {
        // nothing to free: the pool is plain memory
    }
}
