package io.sluice.gpu.exec;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.sluice.gpu.kv.BlockTable;
import io.sluice.gpu.kv.KvSnapshot;
import io.sluice.gpu.model.ModelConfig;
import io.sluice.gpu.model.Weights;
import io.sluice.gpu.sampling.SamplingParams;
import java.nio.file.Path;
import java.util.List;
import java.util.Optional;
import java.util.Random;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * KV export and import: a sequence moved out of the pool and back, or to another executor of the same model,
 * continues with exactly the logits of a sequence that never moved.
 */
class KvTransferTest {

    @TempDir
    static Path dir;

    static Weights w;

    @BeforeAll
    static void model() {
        w = TestModels.write(dir, TestModels.ODD_GQA, 0.35);
    }

    private static float[] logits(Executor ex, BlockTable table, int[] tokens) {
        StepResult r = ex.execute(List.of(new Chunk(table, tokens, SamplingParams.GREEDY,
                Chunk.Output.TOKEN_AND_LOGITS)));
        assertThat(r.ok()).isTrue();
        return r.output(0).logits();
    }

    /** Takes {@code n} blocks, so that what is allocated next lands elsewhere in the pool. */
    private static BlockTable occupy(Executor ex, long id, int n) {
        BlockTable t = new BlockTable(id);
        assertThat(t.reserve(ex.blockPool(), n * ex.blockPool().blockSize())).isTrue();
        return t;
    }

    @Test
    void exportReleaseImportContinuesBitIdentically() {
        int[] prompt = new Random(3).ints(37, 0, w.config().vocabSize()).toArray(); // spans 3 blocks, last partial
        try (CpuExecutor ex = TestModels.executor(w, 2, 32)) {
            BlockTable stays = new BlockTable(1);
            BlockTable moves = new BlockTable(2);
            logits(ex, stays, prompt);
            logits(ex, moves, prompt);
            KvSnapshot snap = ex.exportKv(moves);
            assertThat(snap.length()).isEqualTo(prompt.length);
            int free = ex.blockPool().freeCount();
            ex.release(moves);
            BlockTable other = occupy(ex, 9, 2); // the import gets other blocks than the export had
            BlockTable back = ex.importKv(2, snap).orElseThrow();
            assertThat(back.length()).isEqualTo(prompt.length);
            assertThat(ex.blockPool().freeCount()).isEqualTo(free - 2);
            assertThat(back.blocks()).as("fresh blocks").doesNotContain(other.blocks());
            for (int step = 0; step < 20; step++) { // crosses a block boundary at position 48
                int token = 5 + step;
                float[] expected = logits(ex, stays, new int[] {token});
                float[] got = logits(ex, back, new int[] {token});
                assertThat(got).as("logits at step %d", step).isEqualTo(expected);
            }
        }
    }

    @Test
    void snapshotMovesToAnotherExecutorOfTheSameModel() {
        int[] prompt = new Random(4).ints(21, 0, w.config().vocabSize()).toArray();
        try (CpuExecutor a = TestModels.executor(w, 1, 16); CpuExecutor b = TestModels.executor(w, 2, 16)) {
            BlockTable stays = new BlockTable(1);
            BlockTable moves = new BlockTable(1);
            logits(a, stays, prompt);
            logits(b, moves, prompt);
            // Prefilled on b (2 threads), continued on a beside the one that never moved.
            occupy(a, 7, 3);
            BlockTable arrived = a.importKv(2, b.exportKv(moves)).orElseThrow();
            b.release(moves);
            assertThat(b.blockPool().freeCount()).isEqualTo(16);
            for (int step = 0; step < 12; step++) {
                int token = 40 + step;
                assertThat(logits(a, arrived, new int[] {token})).as("logits at step %d", step)
                        .isEqualTo(logits(a, stays, new int[] {token}));
            }
        }
    }

    @Test
    void snapshotPassesThroughAPoolOfAnotherBlockSizeUnchanged() {
        int[] prompt = new Random(6).ints(37, 0, w.config().vocabSize()).toArray();
        try (CpuExecutor a = TestModels.executor(w, 1, 16);
                CpuExecutor fives = new CpuExecutor(w, new CpuExecutor.Options(1, 64, 5, 256, 16))) {
            BlockTable stays = new BlockTable(1);
            BlockTable moves = new BlockTable(2);
            logits(a, stays, prompt);
            logits(a, moves, prompt);
            KvSnapshot snap = a.exportKv(moves);
            a.release(moves);
            BlockTable there = fives.importKv(2, snap).orElseThrow();
            assertThat(there.blockCount()).as("5-token blocks").isEqualTo(8);
            KvSnapshot again = fives.exportKv(there);
            assertThat(again.keys()).containsExactly(snap.keys());
            assertThat(again.values()).containsExactly(snap.values());
            BlockTable back = a.importKv(2, again).orElseThrow();
            assertThat(logits(a, back, new int[] {9})).isEqualTo(logits(a, stays, new int[] {9}));
        }
    }

    @Test
    void snapshotLongerThanSeqLenIsRefused() {
        ModelConfig c = w.config();
        int n = c.seqLen() + 1;
        KvSnapshot tooLong = new KvSnapshot(n, c.layers(), c.kvDim(), new float[n * c.layers() * c.kvDim()],
                new float[n * c.layers() * c.kvDim()]);
        try (CpuExecutor ex = TestModels.executor(w, 1, 16)) {
            assertThatThrownBy(() -> ex.importKv(1, tooLong)).isInstanceOf(IllegalArgumentException.class)
                    .hasMessageContaining(String.valueOf(c.seqLen()));
            assertThat(ex.blockPool().freeCount()).as("nothing taken").isEqualTo(16);
        }
    }

    @Test
    void importWithoutEnoughFreeBlocksTakesNothing() {
        int[] prompt = new Random(5).ints(40, 0, w.config().vocabSize()).toArray(); // 3 blocks
        try (CpuExecutor ex = TestModels.executor(w, 1, 4)) {
            BlockTable t = new BlockTable(1);
            logits(ex, t, prompt);
            KvSnapshot snap = ex.exportKv(t);
            assertThat(ex.blockPool().freeCount()).isEqualTo(1);
            assertThat(ex.importKv(2, snap)).isEqualTo(Optional.empty());
            assertThat(ex.blockPool().freeCount()).as("nothing taken").isEqualTo(1);
        }
    }

    @Test
    void snapshotOfAnotherModelIsRefused() {
        ModelConfig c = w.config();
        try (CpuExecutor ex = TestModels.executor(w, 1, 8)) {
            KvSnapshot wrong = new KvSnapshot(2, c.layers(), c.kvDim() / 2, new float[c.layers() * c.kvDim()],
                    new float[c.layers() * c.kvDim()]);
            assertThatThrownBy(() -> ex.importKv(1, wrong)).isInstanceOf(IllegalArgumentException.class)
                    .hasMessageContaining("another model");
            assertThat(ex.blockPool().freeCount()).as("nothing taken").isEqualTo(8);
        }
        assertThatThrownBy(() -> new KvSnapshot(2, 1, 4, new float[7], new float[8]))
                .isInstanceOf(IllegalArgumentException.class);
    }
}
