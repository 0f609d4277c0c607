package io.sluice.gpu.exec;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.sluice.gpu.TestData;
import io.sluice.gpu.kv.BlockTable;
import io.sluice.gpu.model.CheckpointLoader;
import io.sluice.gpu.model.Weights;
import io.sluice.gpu.sampling.SamplingParams;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.stream.IntStream;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The fast executor against the scalar reference, and its batching, chunking, paging and out-of-blocks behaviour. */
class CpuExecutorTest {

    @TempDir
    static Path dir;

    static Weights odd;

    @BeforeAll
    static void model() {
        odd = TestModels.write(dir, TestModels.ODD_GQA, 0.35);
    }

    private static Chunk withLogits(BlockTable table, int[] tokens) {
        return new Chunk(table, tokens, SamplingParams.GREEDY, Chunk.Output.TOKEN_AND_LOGITS);
    }

    private static int[] randomTokens(int n, int vocab, long seed) {
        return new Random(seed).ints(n, 0, vocab).toArray();
    }

    /** max |a - b| over max |b|. */
    private static double relativeError(float[] a, float[] b) {
        double diff = 0;
        double scale = 0;
        for (int i = 0; i < b.length; i++) {
            diff = Math.max(diff, Math.abs(a[i] - b[i]));
            scale = Math.max(scale, Math.abs(b[i]));
        }
        return diff / scale;
    }

    /** Prefills a prompt, then decodes greedily, holding every logits row against the scalar reference. */
    private static void matchesReference(Weights w, int promptLength, int decodes) {
        ReferenceTransformer ref = new ReferenceTransformer(w);
        int[] prompt = randomTokens(promptLength, w.config().vocabSize(), 7);
        float[] expected = null;
        for (int p = 0; p < prompt.length; p++) {
            expected = ref.forward(prompt[p], p);
        }
        try (CpuExecutor ex = TestModels.executor(w, 2, 64)) {
            BlockTable table = new BlockTable(1);
            SequenceOutput out = ex.prefill(List.of(withLogits(table, prompt))).output(0);
            List<Integer> generated = new ArrayList<>();
            for (int step = 0; step < decodes; step++) {
                assertThat(relativeError(out.logits(), expected)).as("logits at position %d", out.position())
                        .isLessThanOrEqualTo(1e-4);
                int next = out.nextToken();
                generated.add(next);
                expected = ref.forward(next, out.position());
                out = ex.decode(List.of(withLogits(table, new int[] {next}))).output(0);
            }
            assertThat(generated.stream().distinct().count()).as("greedy output %s varies", generated)
                    .isGreaterThanOrEqualTo(4);
        }
    }

    @Test
    void fastPathMatchesScalarReferenceWithGqaAndPartialPanels() {
        matchesReference(odd, 9, 40);
    }

    @Test
    void fastPathMatchesScalarReferenceOnStories260k() {
        matchesReference(CheckpointLoader.load(TestData.shared("models/stories260K.bin")), 5, 60);
    }

    /** Runs {@code plan}: per step, a chunk length per sequence (0 = not in that step); returns every logits row. */
    private static Map<Long, List<float[]>> run(CpuExecutor ex, Map<Long, int[]> tokens, int[][] plan) {
        Map<Long, BlockTable> tables = new HashMap<>();
        Map<Long, List<float[]>> logits = new HashMap<>();
        long[] ids = tokens.keySet().stream().mapToLong(Long::longValue).sorted().toArray();
        for (int[] step : plan) {
            List<Chunk> chunks = new ArrayList<>();
            for (int s = 0; s < ids.length; s++) {
                if (step[s] == 0) {
                    continue;
                }
                BlockTable t = tables.computeIfAbsent(ids[s], BlockTable::new);
                int from = t.length();
                chunks.add(withLogits(t, Arrays.copyOfRange(tokens.get(ids[s]), from, from + step[s])));
            }
            StepResult r = ex.execute(chunks);
            assertThat(r.ok()).isTrue();
            for (SequenceOutput o : r.outputs()) {
                logits.computeIfAbsent(o.sequenceId(), k -> new ArrayList<>()).add(o.logits());
            }
        }
        return logits;
    }

    @Test
    void sameLogitsAloneAndInsideMixedBatches() {
        Map<Long, int[]> tokens = Map.of(
                1L, randomTokens(40, 300, 1), 2L, randomTokens(40, 300, 2), 3L, randomTokens(40, 300, 3));
        try (CpuExecutor ex = TestModels.executor(odd, 2, 64)) {
            // Sequence 1 alone: chunks of 5 and 9, then single decode steps.
            Map<Long, List<float[]>> alone = run(ex, Map.of(1L, tokens.get(1L)),
                    new int[][] {{5}, {9}, {1}, {1}, {1}});
            // The same chunks of sequence 1 inside batches whose other sequences are at other lengths and offsets.
            Map<Long, List<float[]>> mixed = run(ex, tokens, new int[][] {
                {0, 13, 2}, {5, 1, 7}, {9, 1, 1}, {1, 4, 16}, {1, 1, 1}, {1, 11, 1}});
            assertThat(mixed.get(1L)).hasSize(5);
            for (int i = 0; i < 5; i++) {
                assertThat(mixed.get(1L).get(i)).as("logits row %d", i).containsExactly(alone.get(1L).get(i));
            }
        }
    }

    @Test
    void promptPrefilledInChunksOf7And16AndAtOnceAgrees() {
        int[] prompt = randomTokens(45, 300, 11);
        List<float[]> results = new ArrayList<>();
        for (int chunk : new int[] {7, 16, 45}) {
            try (CpuExecutor ex = TestModels.executor(odd, 2, 64)) {
                BlockTable table = new BlockTable(9);
                SequenceOutput last = null;
                for (int from = 0; from < prompt.length; from += chunk) {
                    int[] part = Arrays.copyOfRange(prompt, from, Math.min(prompt.length, from + chunk));
                    last = ex.prefill(List.of(withLogits(table, part))).output(0);
                }
                assertThat(table.length()).isEqualTo(45);
                // The cache must agree too: a decode step after the prompt reads all of it.
                SequenceOutput next = ex.decode(List.of(withLogits(table, new int[] {last.nextToken()}))).output(0);
                results.add(last.logits());
                results.add(next.logits());
            }
        }
        assertThat(results.get(2)).containsExactly(results.get(0));
        assertThat(results.get(4)).containsExactly(results.get(0));
        assertThat(results.get(3)).containsExactly(results.get(1));
        assertThat(results.get(5)).containsExactly(results.get(1));
    }

    @Test
    void scatteredBlocksGiveTheSameLogitsAsContiguousOnes() {
        int[] prompt = randomTokens(70, 300, 5);
        float[] contiguous;
        try (CpuExecutor ex = TestModels.executor(odd, 2, 16)) {
            BlockTable table = new BlockTable(1);
            contiguous = ex.prefill(List.of(withLogits(table, prompt))).output(0).logits();
            assertThat(table.blocks()).containsExactly(0, 1, 2, 3, 4);
        }
        try (CpuExecutor ex = TestModels.executor(odd, 2, 16)) {
            // Take every block, give back a scattered few: the sequence gets blocks out of order.
            int[] all = ex.blockPool().allocate(16).orElseThrow();
            for (int b : new int[] {3, 12, 7, 15, 0}) {
                ex.blockPool().free(all[b]);
            }
            BlockTable table = new BlockTable(1);
            float[] scattered = ex.prefill(List.of(withLogits(table, prompt))).output(0).logits();
            assertThat(table.blocks()).isNotEqualTo(new int[] {0, 1, 2, 3, 4});
            assertThat(scattered).containsExactly(contiguous);
        }
        // The contiguous single-token reference agrees within float tolerance.
        ReferenceTransformer ref = new ReferenceTransformer(odd);
        float[] expected = null;
        for (int p = 0; p < prompt.length; p++) {
            expected = ref.forward(prompt[p], p);
        }
        assertThat(relativeError(contiguous, expected)).isLessThanOrEqualTo(1e-4);
    }

    @Test
    void runningOutOfBlocksIsAResultAndChangesNothing() {
        try (CpuExecutor ex = TestModels.executor(odd, 1, 4)) {
            BlockTable small = new BlockTable(1);
            BlockTable big = new BlockTable(2);
            StepResult r = ex.prefill(List.of(Chunk.of(small, randomTokens(20, 300, 1), SamplingParams.GREEDY),
                    Chunk.of(big, randomTokens(50, 300, 2), SamplingParams.GREEDY)));
            assertThat(r.ok()).isFalse();
            assertThat(r.outOfBlocks()).containsExactly(2L);
            assertThat(r.outputs()).isEmpty();
            assertThat(ex.blockPool().freeCount()).isEqualTo(4);
            assertThat(small.length()).isZero();
            assertThat(small.blockCount()).isZero();
            // Alone, the small one fits; release gives the blocks back.
            assertThat(ex.prefill(List.of(Chunk.of(small, randomTokens(20, 300, 1), SamplingParams.GREEDY))).ok())
                    .isTrue();
            assertThat(ex.blockPool().freeCount()).isEqualTo(2);
            ex.release(small);
            assertThat(ex.blockPool().freeCount()).isEqualTo(4);
        }
    }

    @Test
    void invalidBatchesAreRejectedWithAReason() {
        try (CpuExecutor ex = TestModels.executor(odd, 1, 16)) {
            BlockTable a = new BlockTable(1);
            assertThatThrownBy(() -> ex.execute(List.of(Chunk.of(a, new int[] {1}, SamplingParams.GREEDY),
                    Chunk.of(a, new int[] {2}, SamplingParams.GREEDY)))).hasMessageContaining("twice");
            assertThatThrownBy(() -> ex.execute(List.of(Chunk.of(a, new int[] {300}, SamplingParams.GREEDY))))
                    .hasMessageContaining("outside the vocabulary");
            assertThatThrownBy(() -> ex.execute(List.of(Chunk.of(a, new int[129], SamplingParams.GREEDY))))
                    .hasMessageContaining("seq_len");
            assertThatThrownBy(() -> ex.decode(List.of(Chunk.of(a, new int[2], SamplingParams.GREEDY))))
                    .hasMessageContaining("exactly one token");
            assertThatThrownBy(() -> ex.execute(List.of())).hasMessageContaining("at least one chunk");
            assertThatThrownBy(() -> Chunk.of(a, new int[0], SamplingParams.GREEDY))
                    .hasMessageContaining("at least one token");
            List<Chunk> tooManyTokens = IntStream.range(0, 3)
                    .mapToObj(i -> Chunk.of(new BlockTable(10 + i), new int[100], SamplingParams.GREEDY)).toList();
            assertThatThrownBy(() -> ex.execute(tooManyTokens)).hasMessageContaining("maxBatchTokens");
            List<Chunk> tooManyChunks = IntStream.range(0, ex.maxBatchSequences() + 1)
                    .mapToObj(i -> Chunk.of(new BlockTable(10 + i), new int[1], SamplingParams.GREEDY)).toList();
            assertThatThrownBy(() -> ex.execute(tooManyChunks)).hasMessageContaining("maxBatchSequences");
            // A refused batch takes nothing and moves nothing.
            assertThat(ex.blockPool().freeCount()).isEqualTo(16);
            assertThat(a.length()).isZero();
            assertThat(tooManyTokens.get(0).table().blockCount()).isZero();
        }
    }

    @Test
    void greedyRowsPickTheArgmaxOfTheLogitsTheyDoNotStore() {
        // The same five sequences, run twice: every row storing its logits, and rows of every kind mixed (greedy
        // rows skip the stored logits; the others keep theirs, whatever rows come before them).
        int[][] prompts = IntStream.range(0, 5).mapToObj(i -> randomTokens(9 + 3 * i, 300, 20 + i))
                .toArray(int[][]::new);
        SamplingParams warm = new SamplingParams(0.8f, 0.9f, 3);
        Chunk.Output[] mixedOutputs = {Chunk.Output.TOKEN, Chunk.Output.TOKEN_AND_LOGITS, Chunk.Output.TOKEN,
            Chunk.Output.TOKEN, Chunk.Output.TOKEN_AND_LOGITS};
        SamplingParams[] mixedSampling = {SamplingParams.GREEDY, SamplingParams.GREEDY, warm,
            SamplingParams.GREEDY, warm};
        try (CpuExecutor all = TestModels.executor(odd, 2, 64); CpuExecutor mixed = TestModels.executor(odd, 2, 64)) {
            BlockTable[] allTables = new BlockTable[5];
            BlockTable[] mixedTables = new BlockTable[5];
            int[][] next = prompts;
            for (int step = 0; step < 4; step++) {
                List<Chunk> a = new ArrayList<>();
                List<Chunk> m = new ArrayList<>();
                for (int s = 0; s < 5; s++) {
                    if (step == 0) {
                        allTables[s] = new BlockTable(s);
                        mixedTables[s] = new BlockTable(s);
                    }
                    a.add(new Chunk(allTables[s], next[s], mixedSampling[s], Chunk.Output.TOKEN_AND_LOGITS));
                    m.add(new Chunk(mixedTables[s], next[s], mixedSampling[s], mixedOutputs[s]));
                }
                StepResult ra = all.execute(a);
                StepResult rm = mixed.execute(m);
                int[][] following = new int[5][];
                for (int s = 0; s < 5; s++) {
                    SequenceOutput stored = ra.output(s);
                    SequenceOutput picked = rm.output(s);
                    assertThat(picked.nextToken()).as("step %d, sequence %d", step, s).isEqualTo(stored.nextToken());
                    if (mixedSampling[s] == SamplingParams.GREEDY) {
                        assertThat(picked.nextToken()).isEqualTo(argmax(stored.logits()));
                    }
                    if (mixedOutputs[s] == Chunk.Output.TOKEN_AND_LOGITS) {
                        assertThat(picked.logits()).containsExactly(stored.logits());
                    }
                    following[s] = new int[] {picked.nextToken()};
                }
                next = following;
            }
        }
    }

    private static int argmax(float[] x) {
        int best = 0;
        for (int i = 1; i < x.length; i++) {
            if (x[i] > x[best]) {
                best = i;
            }
        }
        return best;
    }

    @Test
    void oneThreadAndTwoThreadsAgreeExactly() {
        int[] prompt = IntStream.range(0, 33).map(i -> (i * 37) % 300).toArray();
        float[][] logits = new float[2][];
        for (int threads = 1; threads <= 2; threads++) {
            try (CpuExecutor ex = TestModels.executor(odd, threads, 8)) {
                logits[threads - 1] = ex.prefill(List.of(withLogits(new BlockTable(1), prompt))).output(0).logits();
            }
        }
        assertThat(logits[1]).containsExactly(logits[0]);
    }

    @Test
    void aCallThatFailsMidwayGivesBackTheBlocksItReserved() {
        CpuExecutor ex = TestModels.executor(odd, 2, 16);
        BlockTable table = new BlockTable(1);
        assertThat(ex.prefill(List.of(Chunk.of(table, randomTokens(10, 300, 1), SamplingParams.GREEDY))).ok()).isTrue();
        int free = ex.blockPool().freeCount();
        ex.close();
        // The forward pass fails after the blocks for positions 10..39 were reserved: they must not stay taken.
        assertThatThrownBy(() -> ex.prefill(List.of(Chunk.of(table, randomTokens(30, 300, 2), SamplingParams.GREEDY))))
                .isInstanceOf(IllegalStateException.class);
        assertThat(table.length()).isEqualTo(10);
        assertThat(table.blockCount()).as("blocks of the table").isEqualTo(1);
        assertThat(ex.blockPool().freeCount()).as("free blocks").isEqualTo(free);
    }

    @Test
    void aTableWithBlocksReservedAheadRunsInAFullBatch() {
        int[] a = randomTokens(9, 300, 41);
        int[] b = randomTokens(12, 300, 42);
        try (CpuExecutor ex = new CpuExecutor(odd, new CpuExecutor.Options(1, 32, 16, 64, 2));
                CpuExecutor plain = new CpuExecutor(odd, new CpuExecutor.Options(1, 32, 16, 64, 2))) {
            BlockTable first = new BlockTable(1);
            BlockTable ahead = new BlockTable(2);
            // More blocks than seq_len needs (128 tokens: 8 blocks), as a caller reserving room ahead may hold.
            assertThat(ahead.reserve(ex.blockPool(), 10 * 16)).isTrue();
            StepResult r = ex.execute(List.of(withLogits(first, a), withLogits(ahead, b)));
            StepResult expected = plain.execute(List.of(withLogits(new BlockTable(1), a),
                    withLogits(new BlockTable(2), b)));
            assertThat(r.output(1).logits()).containsExactly(expected.output(1).logits());
            assertThat(ahead.blockCount()).isEqualTo(10);
        }
    }

    @Test
    void aTableOfAnotherExecutorIsRefusedAndLeavesEverySequenceAsItWas() {
        int[] prompt = randomTokens(20, 300, 13);
        try (CpuExecutor mine = TestModels.executor(odd, 1, 8); CpuExecutor other = TestModels.executor(odd, 1, 8)) {
            BlockTable victim = new BlockTable(1);
            BlockTable twin = new BlockTable(2);
            mine.prefill(List.of(withLogits(victim, prompt)));
            mine.prefill(List.of(withLogits(twin, prompt)));
            // Its block 0 is the other executor's; here block 0 holds the victim's positions 0..15.
            BlockTable foreign = new BlockTable(3);
            other.prefill(List.of(withLogits(foreign, randomTokens(5, 300, 14))));
            int free = mine.blockPool().freeCount();
            assertThatThrownBy(() -> mine.execute(List.of(withLogits(foreign, new int[] {7}))))
                    .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("another");
            assertThatThrownBy(() -> mine.exportKv(foreign)).isInstanceOf(IllegalArgumentException.class);
            assertThatThrownBy(() -> mine.release(foreign)).isInstanceOf(IllegalArgumentException.class);
            assertThat(mine.blockPool().freeCount()).as("free blocks").isEqualTo(free);
            assertThat(foreign.length()).isEqualTo(5);
            assertThat(mine.decode(List.of(withLogits(victim, new int[] {7}))).output(0).logits()).as("victim's logits")
                    .containsExactly(mine.decode(List.of(withLogits(twin, new int[] {7}))).output(0).logits());
            other.release(foreign);
            assertThat(other.blockPool().freeCount()).isEqualTo(8);
        }
    }

    /** Samples {@code steps} tokens of sequence 1 (prompt {@code prompt}), with {@code others} beside it or not. */
    private static List<Integer> sampled(int threads, int[] prompt, SamplingParams sampling, boolean others,
            int steps) {
        List<Integer> tokens = new ArrayList<>();
        try (CpuExecutor ex = TestModels.executor(odd, threads, 64)) {
            BlockTable mine = new BlockTable(1);
            BlockTable[] rest = {new BlockTable(2), new BlockTable(3), new BlockTable(4)};
            int[] next = prompt;
            for (int step = 0; step < steps; step++) {
                List<Chunk> batch = new ArrayList<>();
                if (others) { // other sequences first, at other lengths, one greedy (4 outputs: sampled in parallel)
                    batch.add(Chunk.of(rest[0], randomTokens(1 + step % 5, 300, 50 + step), SamplingParams.GREEDY));
                    batch.add(Chunk.of(rest[1], randomTokens(2, 300, 70 + step), new SamplingParams(1.3f, 0.5f, 8)));
                    batch.add(Chunk.of(rest[2], randomTokens(1, 300, 90 + step), new SamplingParams(0.5f, 1f, 9)));
                }
                batch.add(Chunk.of(mine, next, sampling));
                StepResult r = ex.execute(batch);
                int token = r.output(batch.size() - 1).nextToken();
                tokens.add(token);
                next = new int[] {token};
            }
        }
        return tokens;
    }

    @Test
    void aSampledSequenceIsReplayedExactlyWhateverTheBatchAndThreadCount() {
        int[] prompt = randomTokens(12, 300, 31);
        SamplingParams sampling = new SamplingParams(0.9f, 0.95f, -7L); // a negative seed is a seed like any other
        List<Integer> alone = sampled(1, prompt, sampling, false, 20);
        assertThat(alone.stream().distinct().count()).as("sampled tokens %s vary", alone).isGreaterThan(5);
        assertThat(sampled(2, prompt, sampling, true, 20)).isEqualTo(alone);
        assertThat(sampled(3, prompt, sampling, true, 20)).isEqualTo(alone);
        assertThat(sampled(1, prompt, new SamplingParams(0.9f, 0.95f, 7L), false, 20)).as("another seed")
                .isNotEqualTo(alone);
    }
}
