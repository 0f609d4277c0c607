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

    // A deliberately plain prior for a CPU: ~20 GFLOP/s of useful matrix work per thread and
    // ~10 GB/s of weight streaming, plus a fixed cost per step. The online refit replaces it.
    private static final double FLOPS_PER_THREAD = 20e9;
    private static final double WEIGHT_BYTES_PER_S = 10e9;
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
        double flopsPerToken = 2.0 * config.parameterCount();
        double msPerToken = flopsPerToken / (FLOPS_PER_THREAD * threads) * 1e3;
        double weightsMs = config.parameterCount() * (double) Float.BYTES / WEIGHT_BYTES_PER_S * 1e3;
        // Attention per cached token: read K and V of every layer (kv_dim floats each).
        double msPerCached = 2.0 * config.layers() * config.kvDim() * Float.BYTES / WEIGHT_BYTES_PER_S * 1e3;
        double msPerTokenCached = 4.0 * config.layers() * config.dim() / (FLOPS_PER_THREAD * threads) * 1e3;
        return new double[] {
            STEP_OVERHEAD_MS + weightsMs, msPerToken, 0, msPerTokenCached, 0,
            STEP_OVERHEAD_MS + weightsMs, msPerToken, msPerCached, 0, 0};
    }
}
