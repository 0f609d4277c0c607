package io.sluice.gpu.exec;

import io.sluice.gpu.exec.StepPhases.Phase;
import io.sluice.gpu.kv.BlockPool;
import io.sluice.gpu.kv.BlockTable;
import io.sluice.gpu.kv.KvSnapshot;
import io.sluice.gpu.kv.PagedKvCache;
import io.sluice.gpu.model.ModelConfig;
import io.sluice.gpu.model.Weights;
import io.sluice.gpu.sampling.SamplingParams;
import java.nio.FloatBuffer;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorSpecies;

/**
 * The pure-Java executor: the Llama forward pass (llama2.c's {@code run.c}, batched) over a paged KV cache. A
 * batch of chunks is flattened into one list of tokens, and each weight matrix is applied to all of them at once
 * by {@link Gemm} (weights streamed once per batch); attention reads each token's own sequence from the cache.
 * Persistent workers ({@link WorkerPool}) split every step; activation buffers are allocated once, for
 * {@link Options#maxBatchTokens()} tokens, so the forward pass allocates nothing.
 *
 * <p>Not thread-safe beyond this: calls are serialised; one thread drives it at a time.
 */
public final class CpuExecutor implements Executor {

    /**
     * Sizing of a {@link CpuExecutor}.
     *
     * @param threads           worker threads (the calling thread included)
     * @param kvBlocks          blocks in the KV pool
     * @param blockSize         tokens per block
     * @param maxBatchTokens    most tokens in one call
     * @param maxBatchSequences most chunks in one call
     */
    public record Options(int threads, int kvBlocks, int blockSize, int maxBatchTokens, int maxBatchSequences) {

        /** KV memory the default options aim for. */
        static final long DEFAULT_KV_BYTES = 512L << 20;

        public Options {
            positive(threads, "threads");
            positive(kvBlocks, "kvBlocks");
            positive(blockSize, "blockSize");
            positive(maxBatchTokens, "maxBatchTokens");
            positive(maxBatchSequences, "maxBatchSequences");
        }

        /** Threads = available processors, 16-token blocks, about 512 MB of KV cache, 1024 tokens a call. */
        public static Options defaults(ModelConfig config) {
            int blockSize = BlockPool.DEFAULT_BLOCK_SIZE;
            int perSequence = (config.seqLen() + blockSize - 1) / blockSize;
            long blockBytes = PagedKvCache.bytesFor(config.layers(), config.kvDim(), 1, blockSize);
            long blocks = Math.max(perSequence, Math.min(DEFAULT_KV_BYTES / blockBytes, 256L * perSequence));
            return new Options(Runtime.getRuntime().availableProcessors(), (int) blocks, blockSize, 1024, 256);
        }

        public Options withThreads(int t) {
            return new Options(t, kvBlocks, blockSize, maxBatchTokens, maxBatchSequences);
        }

        public Options withKvBlocks(int b) {
            return new Options(threads, b, blockSize, maxBatchTokens, maxBatchSequences);
        }

        public Options withMaxBatchTokens(int n) {
            return new Options(threads, kvBlocks, blockSize, n, maxBatchSequences);
        }

        private static void positive(int v, String name) {
            if (v <= 0) {
                throw new IllegalArgumentException(name + " must be positive, got " + v);
            }
        }
    }

    private static final VectorSpecies<Float> S = PackedMatrix.SPECIES;
    private static final int L = PackedMatrix.L;
    /** Below this many tokens a per-token step runs on the calling thread: a parallel region would cost more. */
    private static final int SERIAL_ROWS = 4;
    /** Panels per matmul work unit: a group of {@link PackedMatrix}, the 4-panel register tile of {@link Gemm}. */
    private static final int GROUP = PackedMatrix.GROUP;

    private final ModelConfig c;
    private final Options options;
    private final FloatBuffer embedding; // [vocab, dim], memory-mapped
    private final LayerWeights[] layers;
    private final float[] rmsFinal; // [dim]
    private final PackedMatrix classifier; // [vocab, dim]
    private final float[] ropeCos; // [seqLen, headSize / 2]
    private final float[] ropeSin; // [seqLen, headSize / 2]
    private final float sqrtHeadSize;
    private final PagedKvCache cache;
    private final WorkerPool workers;
    private final int maxBlocksPerSequence;

    // Activations: the current wave, for every token of the batch. Rows are padded to whole vectors (the GEMM
    // stores whole panels), hence the strides.
    private final int dimStride;
    private final int kvStride;
    private final int hiddenStride;
    private final int vocabStride;
    private final float[] x; // [tokens, dimStride] residual stream
    private final float[] xb; // [tokens, dimStride] normed input of a block / attention output / final normed rows
    private final float[] q; // [tokens, dimStride] queries
    private final float[] k; // [tokens, kvStride] keys of the batch's tokens, before they go to the cache
    private final float[] v; // [tokens, kvStride] values, likewise
    private final float[] hb; // [tokens, hiddenStride] feed-forward hidden layer
    private final float[] hb2; // [tokens, hiddenStride] its gate
    private final float[][] att; // [threads][heads * scoreStride] attention scores of the heads a worker is on
    private final int scoreStride; // room for one head's scores: whole blocks up to seq_len, plus a vector
    private int headsPerUnit; // heads one attention work unit covers
    private final float[][] expScratch; // [threads][GROUP * L] exp(-x) of the SwiGLU columns a worker is on
    private final float[] logits; // [sequences, vocabStride] one row per chunk that wants output
    private final LaneArgmax greedy; // the tokens of the greedy rows, found while the classifier runs
    private final float[][] classifierTile; // [threads][sequences * GROUP * L] a greedy row's logits of one unit

    // The batch being run.
    private final int[] tokenId; // [tokens]
    private final int[] tokenPos; // [tokens] position in its sequence
    private final int[] tokenItem; // [tokens] which chunk of the batch
    private final int[] blockBase; // [sequences, maxBlocksPerSequence] first float of each block in a layer's cache
    private final int[] outputRow; // [sequences] each chunk's row of logits, or -1 when it wants no output
    private final int[] nextToken; // [sequences] each chunk's picked token, or -1
    private final float[][] outputLogits; // [sequences] a copy of each chunk's logits, when it asked for them
    private List<Chunk> batch; // the chunks, while their tokens are picked
    private int tokens;
    private int outputRows;
    private int logitRows; // output rows [0, logitRows) store their logits; the rest are greedy rows
    private int layer;
    private StepPhases phases; // null unless timing

    /** What a matmul's work unit does with its panels once they are computed. */
    private enum Epilogue {
        /** Nothing: stores them. */
        NONE,
        /** Adds them to the residual stream {@link #x}. */
        RESIDUAL,
        /** q, k, v: RoPE on the q and k columns, then k and v into the cache. */
        ROPE_AND_STORE,
        /** W1 and W3 side by side: a unit computes the same rows of both, then SwiGLU on them. */
        SWIGLU,
        /** The classifier: logits rows are stored, greedy rows folded into {@link #greedy} instead. */
        CLASSIFIER
    }

    // The current matmul: up to three matrices applied to the same input.
    private final PackedMatrix[] mmWeights = new PackedMatrix[3];
    private final float[][] mmOut = new float[3][];
    private int mmCount;
    private float[] mmIn;
    private int mmInStride;
    private int mmRows;
    private Epilogue mmEpilogue = Epilogue.NONE;

    private final WorkerPool.Task matmulTask = this::matmulUnit;
    private final WorkerPool.Task attentionTask = this::attentionUnit;
    private final WorkerPool.Task sampleTask = this::sample;
    private final WorkerPool.Task rmsAttTask = (w, t) -> rmsRow(t, true);
    private final WorkerPool.Task rmsFfnTask = (w, t) -> rmsRow(t, false);

    /** Per-layer weights: norms as arrays, matrices packed for {@link Gemm}. */
    private record LayerWeights(float[] rmsAtt, PackedMatrix wq, PackedMatrix wk, PackedMatrix wv,
            PackedMatrix wo, float[] rmsFfn, PackedMatrix w1, PackedMatrix w2, PackedMatrix w3) {
    }

    public CpuExecutor(Weights weights, Options options) {
        this.c = weights.config();
        this.options = options;
        int dim = c.dim();
        int kvDim = c.kvDim();
        int hidden = c.hiddenDim();
        this.embedding = weights.tokenEmbedding();
        this.layers = new LayerWeights[c.layers()];
        for (int l = 0; l < c.layers(); l++) {
            Weights.Layer w = weights.layer(l);
            layers[l] = new LayerWeights(array(w.rmsAtt(), dim),
                    PackedMatrix.pack(w.wq(), dim, dim), PackedMatrix.pack(w.wk(), kvDim, dim),
                    PackedMatrix.pack(w.wv(), kvDim, dim), PackedMatrix.pack(w.wo(), dim, dim),
                    array(w.rmsFfn(), dim), PackedMatrix.pack(w.w1(), hidden, dim),
                    PackedMatrix.pack(w.w2(), dim, hidden), PackedMatrix.pack(w.w3(), hidden, dim));
        }
        this.rmsFinal = array(weights.rmsFinal(), dim);
        this.classifier = PackedMatrix.pack(weights.classifier(), c.vocabSize(), dim);
        int hs = c.headSize();
        this.ropeCos = new float[c.seqLen() * hs / 2];
        this.ropeSin = new float[c.seqLen() * hs / 2];
        for (int pos = 0; pos < c.seqLen(); pos++) {
            for (int i = 0; i < hs; i += 2) {
                // As run.c: float arithmetic for the frequency and the angle.
                float freq = 1.0f / (float) Math.pow(10000.0f, i / (float) hs);
                float val = pos * freq;
                ropeCos[pos * hs / 2 + i / 2] = (float) Math.cos(val);
                ropeSin[pos * hs / 2 + i / 2] = (float) Math.sin(val);
            }
        }
        this.sqrtHeadSize = (float) Math.sqrt(hs);
        this.cache = new PagedKvCache(c.layers(), kvDim, options.kvBlocks(), options.blockSize());
        this.maxBlocksPerSequence = (c.seqLen() + options.blockSize() - 1) / options.blockSize();

        int n = options.maxBatchTokens();
        int m = options.maxBatchSequences();
        this.dimStride = padded(dim);
        this.kvStride = padded(kvDim);
        this.hiddenStride = padded(hidden);
        this.vocabStride = padded(c.vocabSize());
        this.x = new float[n * dimStride];
        this.xb = new float[Math.max(n, m) * dimStride];
        this.q = new float[n * dimStride];
        this.k = new float[n * kvStride];
        this.v = new float[n * kvStride];
        this.hb = new float[n * hiddenStride];
        this.hb2 = new float[n * hiddenStride];
        // scores are computed a whole block at a time: room up to the end of the last block, plus a vector
        this.scoreStride = maxBlocksPerSequence * options.blockSize() + L;
        this.att = new float[options.threads()][c.heads() * scoreStride];
        this.expScratch = new float[options.threads()][GROUP * L];
        this.logits = new float[m * vocabStride];
        this.greedy = new LaneArgmax(options.threads(), m);
        this.classifierTile = new float[options.threads()][m * GROUP * L];
        this.tokenId = new int[n];
        this.tokenPos = new int[n];
        this.tokenItem = new int[n];
        this.blockBase = new int[m * maxBlocksPerSequence];
        this.outputRow = new int[m];
        this.nextToken = new int[m];
        this.outputLogits = new float[m][];
        this.workers = new WorkerPool(options.threads(), "sluice-cpu");
    }

    @Override
    public ModelConfig config() {
        return c;
    }

    public Options options() {
        return options;
    }

    @Override
    public BlockPool blockPool() {
        return cache.pool();
    }

    @Override
    public int maxBatchTokens() {
        return options.maxBatchTokens();
    }

    @Override
    public int maxBatchSequences() {
        return options.maxBatchSequences();
    }

    @Override
    public synchronized StepResult execute(List<Chunk> chunks) {
        long start = System.nanoTime();
        long t = now();
        validate(chunks);
        int[] blocksBefore = new int[chunks.size()];
        for (int i = 0; i < blocksBefore.length; i++) {
            blocksBefore[i] = chunks.get(i).table().blockCount();
        }
        // Reserve every block first, all or nothing: running out is a result, not a half-run batch.
        List<Long> outOfBlocks = BlockReservation.reserveAll(chunks, cache.pool());
        if (!outOfBlocks.isEmpty()) {
            return new StepResult(List.of(), outOfBlocks, System.nanoTime() - start);
        }
        try {
            layOut(chunks);
            forward(t);
            t = now();
            // Pick the next tokens, a chunk per unit (a greedy pick reads a whole vocabulary row), then the outputs.
            batch = chunks;
            if (outputRows < SERIAL_ROWS) {
                for (int i = 0; i < chunks.size(); i++) {
                    sample(0, i);
                }
            } else {
                workers.run(sampleTask, chunks.size());
            }
        } catch (RuntimeException | Error e) {
            // No length moved yet; give back what this call reserved, so a failed call leaves every table as it was.
            for (int i = 0; i < blocksBefore.length; i++) {
                chunks.get(i).table().shrinkTo(cache.pool(), blocksBefore[i]);
            }
            throw e;
        } finally {
            batch = null;
        }
        List<SequenceOutput> outputs = new ArrayList<>(chunks.size());
        for (int i = 0; i < chunks.size(); i++) {
            Chunk ch = chunks.get(i);
            int length = ch.startPosition() + ch.tokens().length;
            ch.table().setLength(length, options.blockSize());
            outputs.add(new SequenceOutput(ch.sequenceId(), length, nextToken[i], outputLogits[i]));
            outputLogits[i] = null;
        }
        lap(Phase.SAMPLE, t);
        if (phases != null) {
            phases.countCall();
        }
        return new StepResult(outputs, List.of(), System.nanoTime() - start);
    }

    @Override
    public synchronized KvSnapshot exportKv(BlockTable table) {
        return cache.export(table);
    }

    @Override
    public synchronized Optional<BlockTable> importKv(long sequenceId, KvSnapshot snapshot) {
        if (snapshot.layers() != c.layers() || snapshot.kvDim() != c.kvDim() || snapshot.length() > c.seqLen()) {
            throw new IllegalArgumentException("a snapshot of " + snapshot.length() + " positions x "
                    + snapshot.layers() + " layers x " + snapshot.kvDim() + " channels does not fit this model ("
                    + c.seqLen() + " x " + c.layers() + " x " + c.kvDim() + "): another model");
        }
        BlockTable table = new BlockTable(sequenceId);
        if (!table.reserve(cache.pool(), snapshot.length())) {
            return Optional.empty();
        }
        cache.load(table, snapshot);
        return Optional.of(table);
    }

    private void validate(List<Chunk> chunks) {
        if (chunks.isEmpty()) {
            throw new IllegalArgumentException("a batch needs at least one chunk");
        }
        if (chunks.size() > options.maxBatchSequences()) {
            throw new IllegalArgumentException(chunks.size() + " chunks exceed the executor's maxBatchSequences "
                    + options.maxBatchSequences());
        }
        Set<Long> seen = new HashSet<>();
        long total = 0;
        for (Chunk ch : chunks) {
            if (!seen.add(ch.sequenceId())) {
                throw new IllegalArgumentException("sequence " + ch.sequenceId() + " appears twice in one batch");
            }
            int end = ch.startPosition() + ch.tokens().length;
            if (end > c.seqLen()) {
                throw new IllegalArgumentException("sequence " + ch.sequenceId() + " would reach " + end
                        + " tokens, beyond the model's seq_len " + c.seqLen());
            }
            for (int t : ch.tokens()) {
                if (t < 0 || t >= c.vocabSize()) {
                    throw new IllegalArgumentException("sequence " + ch.sequenceId() + ": token " + t
                            + " is outside the vocabulary [0, " + c.vocabSize() + ")");
                }
            }
            total += ch.tokens().length;
        }
        if (total > options.maxBatchTokens()) {
            throw new IllegalArgumentException(total + " tokens exceed the executor's maxBatchTokens "
                    + options.maxBatchTokens() + ": split the batch");
        }
    }

    /**
     * Whether a chunk's next token is picked without storing its logits: greedy, not asking for them, and a
     * vocabulary whose indices {@link LaneArgmax} holds exactly.
     */
    private boolean greedyRow(Chunk ch) {
        return ch.output() == Chunk.Output.TOKEN && ch.sampling().temperature() == 0f
                && c.vocabSize() < LaneArgmax.MAX_VOCAB;
    }

    /** Flattens the chunks into the token arrays and copies their block tables. */
    private void layOut(List<Chunk> chunks) {
        int bs = options.blockSize();
        int n = 0;
        outputRows = 0;
        for (int i = 0; i < chunks.size(); i++) {
            Chunk ch = chunks.get(i);
            int start = ch.startPosition();
            for (int j = 0; j < ch.tokens().length; j++, n++) {
                tokenId[n] = ch.tokens()[j];
                tokenPos[n] = start + j;
                tokenItem[n] = i;
            }
            BlockTable table = ch.table();
            // The blocks its positions reach (at most a sequence's row): a table may hold more, reserved ahead.
            int reached = cache.pool().blocksFor(start + ch.tokens().length);
            for (int b = 0; b < reached; b++) {
                blockBase[i * maxBlocksPerSequence + b] = table.block(b) * bs * c.kvDim();
            }
        }
        tokens = n;
        // Rows whose logits are stored first, then the greedy rows (the classifier runs over each range at once).
        logitRows = 0;
        for (Chunk ch : chunks) {
            if (ch.output() != Chunk.Output.NONE && !greedyRow(ch)) {
                logitRows++;
            }
        }
        int stored = 0;
        outputRows = logitRows;
        for (int i = 0; i < chunks.size(); i++) {
            Chunk ch = chunks.get(i);
            outputRow[i] = ch.output() == Chunk.Output.NONE ? -1 : greedyRow(ch) ? outputRows++ : stored++;
        }
    }

    /** The forward pass of every token of the batch; leaves the logits of the output rows in {@link #logits}. */
    private void forward(long start) {
        int dim = c.dim();
        int n = tokens;
        for (int t = 0; t < n; t++) {
            embedding.get(tokenId[t] * dim, x, t * dimStride, dim);
        }
        long t0 = lap(Phase.SETUP, start);
        for (layer = 0; layer < c.layers(); layer++) {
            LayerWeights w = layers[layer];
            // attention: xb = rmsnorm(x); q, k, v = xb Wq, xb Wk, xb Wv; RoPE; k, v into the cache
            rows(rmsAttTask);
            t0 = lap(Phase.RMSNORM, t0);
            matmul(Epilogue.ROPE_AND_STORE, xb, dimStride, n, w.wq, q, w.wk, k, w.wv, v);
            t0 = lap(Phase.QKV, t0);
            // xb = softmax(q k^T / sqrt(hs)) v over each token's own sequence, head by head
            // Many tokens: one unit per token, all heads (each KV block is read front to back once). Few tokens:
            // split the heads so that every thread has work.
            headsPerUnit = tokens >= 2 * workers.size() ? c.heads() : Math.max(1, c.heads() / (2 * workers.size()));
            int unitsPerToken = (c.heads() + headsPerUnit - 1) / headsPerUnit;
            workers.run(attentionTask, tokens * unitsPerToken);
            t0 = lap(Phase.ATTENTION, t0);
            // x += xb Wo
            matmul(Epilogue.RESIDUAL, xb, dimStride, n, w.wo, x, null, null, null, null);
            t0 = lap(Phase.WO, t0);
            // feed-forward: xb = rmsnorm(x); hb = silu(xb W1) * (xb W3); x += hb W2
            rows(rmsFfnTask);
            t0 = lap(Phase.RMSNORM, t0);
            matmul(Epilogue.SWIGLU, xb, dimStride, n, w.w1, hb, w.w3, hb2, null, null);
            t0 = lap(Phase.FFN_UP, t0);
            matmul(Epilogue.RESIDUAL, hb, hiddenStride, n, w.w2, x, null, null, null, null);
            t0 = lap(Phase.FFN_DOWN, t0);
        }
        // classifier, only for the rows that want output: xb[row] = rmsnorm(x[last token of its chunk])
        if (outputRows > 0) {
            for (int t = 0; t < n; t++) {
                boolean last = t == n - 1 || tokenItem[t + 1] != tokenItem[t];
                int row = outputRow[tokenItem[t]];
                if (last && row >= 0) {
                    rmsnorm(xb, row * dimStride, x, t * dimStride, rmsFinal, dim);
                }
            }
            t0 = lap(Phase.RMSNORM, t0);
            greedy.reset(outputRows - logitRows);
            matmul(Epilogue.CLASSIFIER, xb, dimStride, outputRows, classifier, logits, null, null, null, null);
            lap(Phase.CLASSIFIER, t0);
        }
    }

    /**
     * Times every later call's phases into {@code p} (null: stop timing). Timing reads the clock about 70 times a
     * call, a few microseconds.
     */
    public synchronized void timePhases(StepPhases p) {
        this.phases = p;
    }

    private long now() {
        return phases == null ? 0 : phases.clock();
    }

    /** Adds the time since {@code since} to {@code phase}; returns now. */
    private long lap(Phase phase, long since) {
        if (phases == null) {
            return 0;
        }
        long t = phases.clock();
        phases.add(phase, t - since);
        return t;
    }

    /** Picks chunk {@code item}'s next token into {@link #nextToken} (and copies its logits when it wants them). */
    private void sample(int worker, int item) {
        int row = outputRow[item];
        if (row < 0) {
            nextToken[item] = -1;
            return;
        }
        Chunk ch = batch.get(item);
        int vocab = c.vocabSize();
        int offset = row * vocabStride;
        if (row >= logitRows) {
            nextToken[item] = greedy.result(row - logitRows);
            return;
        }
        if (ch.output() == Chunk.Output.TOKEN_AND_LOGITS) {
            outputLogits[item] = java.util.Arrays.copyOfRange(logits, offset, offset + vocab);
        }
        SamplingParams p = ch.sampling();
        nextToken[item] = p.sample(p.sampler(), logits, offset, vocab, ch.startPosition() + ch.tokens().length);
    }

    // ---- parallel steps -------------------------------------------------------------------------------------

    /** Runs a per-token step: one unit per token. */
    private void rows(WorkerPool.Task task) {
        if (tokens < SERIAL_ROWS) {
            for (int t = 0; t < tokens; t++) {
                task.run(0, t);
            }
        } else {
            workers.run(task, tokens);
        }
    }

    private void matmul(Epilogue epilogue, float[] in, int inStride, int rows, PackedMatrix w0, float[] o0,
            PackedMatrix w1, float[] o1, PackedMatrix w2, float[] o2) {
        mmEpilogue = epilogue;
        mmWeights[0] = w0;
        mmOut[0] = o0;
        mmWeights[1] = w1;
        mmOut[1] = o1;
        mmWeights[2] = w2;
        mmOut[2] = o2;
        mmCount = w2 != null ? 3 : w1 != null ? 2 : 1;
        mmIn = in;
        mmInStride = inStride;
        mmRows = rows;
        int units = 0;
        for (int j = 0; j < (epilogue == Epilogue.SWIGLU ? 1 : mmCount); j++) {
            units += groups(mmWeights[j]);
        }
        workers.run(matmulTask, units);
    }

    private static int groups(PackedMatrix w) {
        return (w.panels + GROUP - 1) / GROUP;
    }

    /**
     * Unit {@code unit} of the current matmul: one group of {@link #GROUP} panels of one of its matrices (of both W1
     * and W3 for SwiGLU), for every token, then its epilogue on those columns.
     */
    private void matmulUnit(int worker, int unit) {
        if (mmEpilogue == Epilogue.SWIGLU) {
            PackedMatrix w1 = mmWeights[0];
            int from = unit * GROUP;
            int to = Math.min(from + GROUP, w1.panels);
            Gemm.matmul(w1, mmIn, mmInStride, mmRows, mmOut[0], hiddenStride, from, to, false);
            Gemm.matmul(mmWeights[1], mmIn, mmInStride, mmRows, mmOut[1], hiddenStride, from, to, false);
            swiglu(worker, from * L, Math.min(c.hiddenDim(), to * L));
            return;
        }
        if (mmEpilogue == Epilogue.CLASSIFIER) {
            classifierUnit(worker, unit);
            return;
        }
        int j = 0;
        int groups = groups(mmWeights[0]);
        while (unit >= groups) {
            unit -= groups;
            j++;
            groups = groups(mmWeights[j]);
        }
        PackedMatrix w = mmWeights[j];
        int from = unit * GROUP;
        int to = Math.min(from + GROUP, w.panels);
        Gemm.matmul(w, mmIn, mmInStride, mmRows, mmOut[j], w.panels * L, from, to, mmEpilogue == Epilogue.RESIDUAL);
        if (mmEpilogue == Epilogue.ROPE_AND_STORE) {
            int c0 = from * L;
            int c1 = Math.min(w.rows, to * L);
            if (j == 0) {
                rope(q, dimStride, c0, c1);
            } else if (j == 1) {
                rope(k, kvStride, c0, c1);
                storeKeys(c0, c1);
            } else {
                storeValues(c0, c1);
            }
        }
    }

    /**
     * One group of the classifier's panels: stored for the logits rows; for the greedy rows computed into this
     * worker's tile (a few KB, in L1) and folded into {@link #greedy}.
     */
    private void classifierUnit(int worker, int unit) {
        int from = unit * GROUP;
        int to = Math.min(from + GROUP, classifier.panels);
        if (logitRows > 0) {
            Gemm.matmul(classifier, xb, dimStride, logitRows, logits, vocabStride, from, to, false);
        }
        int greedyRows = outputRows - logitRows;
        if (greedyRows > 0) {
            float[] tile = classifierTile[worker];
            int width = GROUP * L;
            Gemm.matmul(classifier, xb, logitRows * dimStride, dimStride, greedyRows, tile, -from * L, width,
                    from, to, false);
            int first = from * L;
            int count = Math.min(c.vocabSize(), to * L) - first;
            for (int r = 0; r < greedyRows; r++) {
                greedy.fold(worker, r, tile, r * width, first, count);
            }
        }
    }

    private void rmsRow(int t, boolean attention) {
        LayerWeights w = layers[layer];
        rmsnorm(xb, t * dimStride, x, t * dimStride, attention ? w.rmsAtt : w.rmsFfn, c.dim());
    }

    /**
     * RoPE on columns {@code [c0, c1)} (whole pairs: {@code c0} is even) of every token's row of {@code a} (q or k):
     * each pair is rotated by an angle that depends on the token's position and the pair's place in its head.
     */
    private void rope(float[] a, int stride, int c0, int c1) {
        int hs = c.headSize();
        for (int t = 0; t < tokens; t++) {
            int rope = tokenPos[t] * hs / 2;
            int o = t * stride;
            // r = i % hs, kept by increments: a division per pair was most of RoPE's time
            for (int i = c0, r = c0 % hs; i < c1; i += 2, r = r + 2 == hs ? 0 : r + 2) {
                int j = rope + r / 2;
                float fcr = ropeCos[j];
                float fci = ropeSin[j];
                float a0 = a[o + i];
                float a1 = a[o + i + 1];
                a[o + i] = a0 * fcr - a1 * fci;
                a[o + i + 1] = a0 * fci + a1 * fcr;
            }
        }
    }

    /** Channels {@code [c0, c1)} of every token's key into its sequence's block: channel-major within the block. */
    private void storeKeys(int c0, int c1) {
        int bs = options.blockSize();
        float[] keys = cache.keys(layer);
        for (int t = 0; t < tokens; t++) {
            int pos = tokenPos[t];
            int at = blockBase[tokenItem[t] * maxBlocksPerSequence + pos / bs] + pos % bs;
            int ko = t * kvStride;
            for (int ch = c0; ch < c1; ch++) {
                keys[at + ch * bs] = k[ko + ch];
            }
        }
    }

    /** Channels {@code [c0, c1)} of every token's value into its sequence's block: position-major. */
    private void storeValues(int c0, int c1) {
        int bs = options.blockSize();
        int kvDim = c.kvDim();
        float[] values = cache.values(layer);
        for (int t = 0; t < tokens; t++) {
            int pos = tokenPos[t];
            int at = blockBase[tokenItem[t] * maxBlocksPerSequence + pos / bs] + (pos % bs) * kvDim;
            System.arraycopy(v, t * kvStride + c0, values, at + c0, c1 - c0);
        }
    }

    private void attentionUnit(int worker, int unit) {
        int unitsPerToken = (c.heads() + headsPerUnit - 1) / headsPerUnit;
        int h0 = (unit % unitsPerToken) * headsPerUnit;
        attend(unit / unitsPerToken, h0, Math.min(c.heads(), h0 + headsPerUnit), att[worker]);
    }

    /**
     * Heads {@code h0..h1} of token {@code t}: attention over positions 0..pos of its own sequence, block by block,
     * every head of the range per block, so a block's keys and values are read front to back. Keys are stored
     * channel-major within a block ({@link PagedKvCache}): one vector load gives one channel of {@code L}
     * positions, and the scores of {@code L} positions accumulate without any horizontal sum.
     */
    private void attend(int t, int h0, int h1, float[] scores) {
        int kvDim = c.kvDim();
        int hs = c.headSize();
        int bs = options.blockSize();
        int pos = tokenPos[t];
        int bases = tokenItem[t] * maxBlocksPerSequence;
        float[] keys = cache.keys(layer);
        float[] values = cache.values(layer);
        // scores[h][p] = q[h] . k[p] / sqrt(hs)
        for (int p = 0, b = 0; p <= pos; b++, p += bs) {
            int block = blockBase[bases + b];
            int n = Math.min(bs, pos + 1 - p);
            for (int h = h0; h < h1; h++) {
                int qo = t * dimStride + h * hs;
                int kBase = block + (h / c.kvMul()) * hs * bs;
                int so = (h - h0) * scoreStride + p;
                if (bs % L == 0 && hs % 4 == 0) {
                    for (int s = 0; s < n; s += L) {
                        // four accumulators (channels mod 4) shorten the dependency chain
                        FloatVector a0 = FloatVector.zero(S);
                        FloatVector a1 = a0;
                        FloatVector a2 = a0;
                        FloatVector a3 = a0;
                        for (int i = 0, ko = kBase + s; i < hs; i += 4, ko += 4 * bs) {
                            a0 = FloatVector.fromArray(S, keys, ko).fma(FloatVector.broadcast(S, q[qo + i]), a0);
                            a1 = FloatVector.fromArray(S, keys, ko + bs)
                                    .fma(FloatVector.broadcast(S, q[qo + i + 1]), a1);
                            a2 = FloatVector.fromArray(S, keys, ko + 2 * bs)
                                    .fma(FloatVector.broadcast(S, q[qo + i + 2]), a2);
                            a3 = FloatVector.fromArray(S, keys, ko + 3 * bs)
                                    .fma(FloatVector.broadcast(S, q[qo + i + 3]), a3);
                        }
                        a0.add(a1).add(a2.add(a3)).div(sqrtHeadSize).intoArray(scores, so + s); // lanes past pos ignored
                    }
                } else {
                    for (int s = 0; s < n; s++) {
                        float dot = 0f;
                        for (int i = 0; i < hs; i++) {
                            dot += q[qo + i] * keys[kBase + i * bs + s];
                        }
                        scores[so + s] = dot / sqrtHeadSize;
                    }
                }
            }
        }
        for (int h = h0; h < h1; h++) {
            softmax(scores, (h - h0) * scoreStride, pos + 1);
            java.util.Arrays.fill(xb, t * dimStride + h * hs, t * dimStride + (h + 1) * hs, 0f);
        }
        // xb[t, h] = sum_p scores[h][p] * v[p]
        for (int p = 0, b = 0; p <= pos; b++, p += bs) {
            int block = blockBase[bases + b];
            int n = Math.min(bs, pos + 1 - p);
            for (int h = h0; h < h1; h++) {
                int vBase = block + (h / c.kvMul()) * hs;
                int so = (h - h0) * scoreStride + p;
                int out = t * dimStride + h * hs;
                if (hs == 4 * L) {
                    accumulate4(values, vBase, kvDim, scores, so, n, xb, out);
                } else if (hs == 3 * L) {
                    accumulate3(values, vBase, kvDim, scores, so, n, xb, out);
                } else if (hs % L == 0) {
                    for (int i = 0; i < hs; i += L) {
                        accumulate1(values, vBase + i, kvDim, scores, so, n, xb, out + i);
                    }
                } else {
                    for (int s = 0; s < n; s++) {
                        float a = scores[so + s];
                        int vo = vBase + s * kvDim;
                        for (int i = 0; i < hs; i++) {
                            xb[out + i] += a * values[vo + i];
                        }
                    }
                }
            }
        }
    }

    // Weighted sums of one block's values for one head: xb[out..] += sum_s scores[so + s] * values[vBase + s * kvDim ..].
    // One accumulator per vector of the head, kept in registers across the block's positions (independent chains);
    // per block, they go through memory: vectors carried across the block loop would defeat C2's vector boxing
    // elimination (JDK 17).

    private static void accumulate4(float[] values, int vBase, int kvDim, float[] scores, int so, int n, float[] xb,
            int out) {
        FloatVector c0 = FloatVector.zero(S);
        FloatVector c1 = c0;
        FloatVector c2 = c0;
        FloatVector c3 = c0;
        for (int s = 0, vo = vBase; s < n; s++, vo += kvDim) {
            FloatVector a = FloatVector.broadcast(S, scores[so + s]);
            c0 = FloatVector.fromArray(S, values, vo).fma(a, c0);
            c1 = FloatVector.fromArray(S, values, vo + L).fma(a, c1);
            c2 = FloatVector.fromArray(S, values, vo + 2 * L).fma(a, c2);
            c3 = FloatVector.fromArray(S, values, vo + 3 * L).fma(a, c3);
        }
        FloatVector.fromArray(S, xb, out).add(c0).intoArray(xb, out);
        FloatVector.fromArray(S, xb, out + L).add(c1).intoArray(xb, out + L);
        FloatVector.fromArray(S, xb, out + 2 * L).add(c2).intoArray(xb, out + 2 * L);
        FloatVector.fromArray(S, xb, out + 3 * L).add(c3).intoArray(xb, out + 3 * L);
    }

    private static void accumulate3(float[] values, int vBase, int kvDim, float[] scores, int so, int n, float[] xb,
            int out) {
        FloatVector c0 = FloatVector.zero(S);
        FloatVector c1 = c0;
        FloatVector c2 = c0;
        for (int s = 0, vo = vBase; s < n; s++, vo += kvDim) {
            FloatVector a = FloatVector.broadcast(S, scores[so + s]);
            c0 = FloatVector.fromArray(S, values, vo).fma(a, c0);
            c1 = FloatVector.fromArray(S, values, vo + L).fma(a, c1);
            c2 = FloatVector.fromArray(S, values, vo + 2 * L).fma(a, c2);
        }
        FloatVector.fromArray(S, xb, out).add(c0).intoArray(xb, out);
        FloatVector.fromArray(S, xb, out + L).add(c1).intoArray(xb, out + L);
        FloatVector.fromArray(S, xb, out + 2 * L).add(c2).intoArray(xb, out + 2 * L);
    }

    private static void accumulate1(float[] values, int vBase, int kvDim, float[] scores, int so, int n, float[] xb,
            int out) {
        // two accumulators (even and odd positions) halve the dependency chain
        FloatVector c0 = FloatVector.zero(S);
        FloatVector c1 = c0;
        int s = 0;
        for (int vo = vBase; s + 1 < n; s += 2, vo += 2 * kvDim) {
            c0 = FloatVector.fromArray(S, values, vo).fma(FloatVector.broadcast(S, scores[so + s]), c0);
            c1 = FloatVector.fromArray(S, values, vo + kvDim).fma(FloatVector.broadcast(S, scores[so + s + 1]), c1);
        }
        if (s < n) {
            c0 = FloatVector.fromArray(S, values, vBase + s * kvDim).fma(FloatVector.broadcast(S, scores[so + s]), c0);
        }
        FloatVector.fromArray(S, xb, out).add(c0.add(c1)).intoArray(xb, out);
    }

    /**
     * {@code hb = silu(hb) * hb2} on columns {@code [c0, c1)} of every token, {@code silu(x) = x * sigmoid(x)}; exp on
     * whole vectors ({@link Exp}). Vector and scalar paths give the same bits, so where a column falls does not matter.
     */
    private void swiglu(int worker, int c0, int c1) {
        float[] e = expScratch[worker]; // exp(-hb[t, c0..c1))
        int n = c1 - c0;
        FloatVector one = FloatVector.broadcast(S, 1.0f);
        for (int t = 0; t < tokens; t++) {
            int i = t * hiddenStride + c0;
            Exp.expNegated(hb, i, e, 0, n);
            int j = 0;
            for (; j + L <= n; j += L, i += L) {
                FloatVector sigmoid = one.div(one.add(FloatVector.fromArray(S, e, j)));
                FloatVector.fromArray(S, hb, i).mul(sigmoid).mul(FloatVector.fromArray(S, hb2, i)).intoArray(hb, i);
            }
            for (; j < n; j++, i++) {
                float val = hb[i];
                val *= 1.0f / (1.0f + e[j]);
                hb[i] = val * hb2[i];
            }
        }
    }

    // ---- small kernels --------------------------------------------------------------------------------------

    /** {@code out = weight * x / rms(x)}, as run.c computes it (sequential float sum). */
    static void rmsnorm(float[] out, int oo, float[] x, int xo, float[] weight, int size) {
        float ss = 0f;
        for (int j = 0; j < size; j++) {
            ss += x[xo + j] * x[xo + j];
        }
        ss /= size;
        ss += 1e-5f;
        ss = 1.0f / (float) Math.sqrt(ss);
        for (int j = 0; j < size; j++) {
            out[oo + j] = weight[j] * (ss * x[xo + j]);
        }
    }

    /** In-place softmax of {@code x[off..off+size)}; the exponentials on whole vectors, the sum in order as run.c. */
    static void softmax(float[] x, int off, int size) {
        int end = off + size;
        float max = x[off];
        for (int i = off + 1; i < end; i++) {
            max = Math.max(max, x[i]);
        }
        Exp.expShifted(x, off, max, x, off, size);
        float sum = 0f;
        for (int i = off; i < end; i++) {
            sum += x[i];
        }
        int i = off;
        for (; i + L <= end; i += L) {
            FloatVector.fromArray(S, x, i).div(sum).intoArray(x, i);
        }
        for (; i < end; i++) {
            x[i] /= sum;
        }
    }

    /** {@code n} rounded up to whole vectors. */
    private static int padded(int n) {
        return (n + L - 1) / L * L;
    }

    private static float[] array(FloatBuffer b, int n) {
        float[] a = new float[n];
        b.get(0, a, 0, n);
        return a;
    }

    @Override
    public void close() {
        workers.close();
        cache.close();
    }
}
