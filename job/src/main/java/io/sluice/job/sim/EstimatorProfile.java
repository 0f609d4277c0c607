package io.sluice.job.sim;

import io.sluice.scheduling.LatencyModel;
import java.util.ArrayList;
import java.util.List;

/**
 * Fits the scheduler's {@link LatencyModel} from a cost model the way {@code sluice profile}
 * fits it from a real engine: time a grid of prefill, decode and mixed batch shapes, then least
 * squares. The scheduler thus sees an estimate with the estimator's own bias (a linear model of
 * a roofline), never the simulator's truth.
 */
public final class EstimatorProfile {

    private static final int[] CHUNK_TOKENS = {16, 32, 64, 128, 256, 384, 512, 768, 1024, 1536, 2048, 3072, 4096, 6144, 8192};
    private static final int[] CACHED_TOKENS = {0, 256, 1024, 2048, 4096, 8192, 16384, 32768, 65536};
    private static final int[] DECODE_BATCH = {1, 2, 4, 8, 16, 32, 48, 64, 96, 128, 192, 256};
    private static final int[] DECODE_CONTEXT = {64, 256, 512, 1024, 2048, 4096, 8192, 16384, 32768};

    private EstimatorProfile() {}

    /** The grid of batch shapes and their times under {@code cost}, within its context and KV capacity. */
    public static List<LatencyModel.Sample> samples(CostModel cost) {
        long kvTokens = (long) cost.kvBlocks() * cost.blockSize();
        int maxContext = cost.maxContext();
        List<LatencyModel.Sample> out = new ArrayList<>();
        BatchShape shape = new BatchShape();
        for (int d : CHUNK_TOKENS) {
            for (int p : CACHED_TOKENS) {
                if ((long) d + p > maxContext || (long) d + p > kvTokens) {
                    continue;
                }
                double ms = cost.stepMs(shape.clear().addChunk(d, p, true));
                out.add(LatencyModel.Sample.prefill(d, p, ms));
            }
        }
        for (int b : DECODE_BATCH) {
            for (int ctx : DECODE_CONTEXT) {
                if (ctx >= maxContext || (long) b * (ctx + 1) > kvTokens) {
                    continue;
                }
                shape.clear();
                for (int i = 0; i < b; i++) {
                    shape.addDecode(ctx);
                }
                out.add(LatencyModel.Sample.decode(b, (long) b * ctx, cost.stepMs(shape)));
            }
        }
        // Mixed steps (chunked prefill riding on decodes), as colocated engines run them.
        for (int d : new int[] {64, 256, 512, 1024, 2048}) {
            for (int b : new int[] {8, 32, 128}) {
                for (int ctx : new int[] {512, 2048}) {
                    if (ctx >= maxContext || d > maxContext || (long) b * (ctx + 1) + d > kvTokens) {
                        continue;
                    }
                    shape.clear().addChunk(d, 0, true);
                    for (int i = 0; i < b; i++) {
                        shape.addDecode(ctx);
                    }
                    out.add(new LatencyModel.Sample(1, d, (double) d * d, 0, 0, b, (double) b * ctx,
                            cost.stepMs(shape)));
                }
            }
        }
        return out;
    }

    /**
     * The fitted estimator with its held-out error (MAPE, percent), as {@code sluice profile} reports it. The
     * estimator's b4 (a decode step's cost per 4-token GEMM tile of the CPU engine) stays 0: a roofline has no
     * tiles, the offline fit gives it 0 anyway, and the online refits, free to move it, traded it against b1 on
     * the mixed batches and moved the vidur study's gain at the reference below sarathi's (50,032 against
     * 50,040). b3 (a decode step's first sequences dearer) stays in: the fit finds it in the roofline too.
     */
    public static LatencyModel.FitReport fit(CostModel cost, long seed) {
        List<LatencyModel.Sample> samples = samples(cost);
        LatencyModel.FitReport holdout = LatencyModel.fitWithHoldout(samples, 0.2, seed, "b4");
        // The scheduler gets the model fitted on every sample; the holdout only measures error.
        return new LatencyModel.FitReport(LatencyModel.fit(samples, "b4"), holdout.mapePrefill(), holdout.mapeDecode(),
                samples.size(), holdout.heldOutSamples());
    }
}
