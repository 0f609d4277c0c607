package io.sluice.job.pipeline;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.sluice.gpu.model.ModelConfig;
import io.sluice.scheduling.LatencyModel;
import java.io.IOException;
import java.nio.file.Path;

/**
 * Where the instances' latency model starts: the profile {@code sluice profile} wrote for this
 * engine, or, without one, a rough prior from the model's size that the instances then refit
 * online from the batches they run.
 */
public final class LatencyProfiles {

    // A plain prior for this engine on a CPU, from what it measures on a 2-core AVX-512 machine:
    // ~100 GFLOP/s of matrix work per thread (prefill ~118, batch-32 decode ~105) and ~25 GB/s of
    // weight streaming per thread (a batch-1 step reads every weight once). It was 20 GFLOP/s and
    // 10 GB/s with the classifier counted for every prefill token, 6-11x above the measured times,
    // and a short run ended before the online refit had corrected it (estimator error +990 %).
    private static final double FLOPS_PER_THREAD = 100e9;
    private static final double WEIGHT_BYTES_PER_S_PER_THREAD = 25e9;
    private static final double STEP_OVERHEAD_MS = 0.2;

    /** The profile field of b3, the extra time of each of a decode step's first sequences (see {@link LatencyModel}). */
    public static final String FIRST_TILE_FIELD = "decode_first_tile";
    /** The profile field of b4, the time of each 4-token tile of a decode step (see {@link LatencyModel}). */
    public static final String TILE_FIELD = "decode_tile";

    private LatencyProfiles() {}

    /**
     * Reads c0..c4 and b0..b4 from a profile JSON (fields {@code prefill}, {@code decode},
     * {@code decode_first_tile} and {@code decode_tile}). b3 and b4 have fields of their own so that
     * readers of the three-number {@code decode} (the simulator's {@code profile:FILE}) keep working; a
     * profile written before they existed reads as b3 = b4 = 0.
     */
    public static double[] load(Path profile) throws IOException {
        JsonNode json = new ObjectMapper().readTree(profile.toFile());
        JsonNode prefill = json.get("prefill");
        JsonNode decode = json.get("decode");
        if (prefill == null || decode == null || prefill.size() != 5 || decode.size() != 3) {
            throw new IllegalArgumentException(profile + ": a profile needs \"prefill\" with 5 coefficients and "
                    + "\"decode\" with 3 (write one with `sluice profile`)");
        }
        double[] c = new double[LatencyModel.COEFFICIENTS];
        for (int i = 0; i < 5; i++) {
            c[i] = prefill.get(i).asDouble();
        }
        for (int i = 0; i < 3; i++) {
            c[5 + i] = decode.get(i).asDouble();
        }
        c[8] = optional(profile, json, FIRST_TILE_FIELD);
        c[9] = optional(profile, json, TILE_FIELD);
        new LatencyModel(c, 1, 1); // validates: finite and >= 0
        return c;
    }

    private static double optional(Path profile, JsonNode json, String field) {
        JsonNode node = json.get(field);
        if (node != null && !node.isNumber()) {
            throw new IllegalArgumentException(profile + ": \"" + field + "\" must be a number");
        }
        return node == null ? 0 : node.asDouble();
    }

    /** A prior for {@code config} on {@code threads} CPU threads. */
    public static double[] prior(ModelConfig config, int threads) {
        double flops = FLOPS_PER_THREAD * threads;
        double bandwidth = WEIGHT_BYTES_PER_S_PER_THREAD * threads;
        long kvDim = config.kvDim();
        // The matrices every token goes through, and the classifier, which a prefill chunk runs for its last token
        // only and a decode step for every sequence.
        double layerWeights = (double) config.layers()
                * (2L * config.dim() * config.dim() + 2L * config.dim() * kvDim + 3L * config.dim() * config.hiddenDim());
        double classifierWeights = (double) config.vocabSize() * config.dim();
        double weightsMs = (layerWeights + classifierWeights) * Float.BYTES / bandwidth * 1e3;
        double classifierMs = 2.0 * classifierWeights / flops * 1e3;
        double msPerPrefillToken = 2.0 * layerWeights / flops * 1e3;
        double msPerDecode = 2.0 * (layerWeights + classifierWeights) / flops * 1e3;
        // Attention per cached token: read K and V of every layer (kv_dim floats each).
        double msPerCached = 2.0 * config.layers() * kvDim * Float.BYTES / bandwidth * 1e3;
        double msPerTokenCached = 4.0 * config.layers() * config.dim() / flops * 1e3;
        return new double[] {
            STEP_OVERHEAD_MS + weightsMs + classifierMs, msPerPrefillToken, 0, msPerTokenCached, 0,
            STEP_OVERHEAD_MS + weightsMs, msPerDecode, msPerCached, 0, 0};
    }
}
