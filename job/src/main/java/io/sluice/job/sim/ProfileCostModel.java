package io.sluice.job.sim;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.sluice.job.pipeline.LatencyProfiles;
import io.sluice.scheduling.LatencyModel;
import io.sluice.scheduling.LatencyModel.Sample;
import java.io.IOException;
import java.nio.file.Path;

/**
 * A cost model read from the JSON that {@code sluice profile} writes for a real engine: fitted
 * latency coefficients (milliseconds) plus the instance's KV capacity.
 *
 * <pre>{@code
 * {
 *   "name": "cpu-stories110m",          // optional, for reports
 *   "prefill": [c0, c1, c2, c3, c4],     // a step with chunks of d new tokens on p cached:
 *                                        //   c0 + sum over chunks of (c1*d + c2*d^2 + c3*d*p + c4*p)
 *   "decode": [b0, b1, b2],              // a decode-only step of B sequences: b0 + b1*B + b2*sum(ctx)
 *   "decode_first_tile": b3,             // optional (default 0): + b3 * min(B, 4)
 *   "decode_tile": b4,                   //   and + b4 per 4-sequence GEMM tile of the step
 *   "kv_blocks": 4096,                   // KV blocks of one instance
 *   "block_size": 16,                    // tokens per block
 *   "max_context": 2048,                 // longest prompt + output the model accepts
 *   "kv_bytes_per_token": 73728          // optional (default 0: PD handoff is free)
 * }
 * }</pre>
 *
 * These are the scheduler's {@code LatencyModel} coefficients, and a step is priced by that model itself,
 * so that the simulator charges what the engine's own estimator predicts: a step holding both chunks and
 * decodes pays one overhead, {@code c0} (one pass streams the weights once), plus the prefill work plus
 * {@code b1*B + b2*sum(ctx)} and its decodes' share of the GEMM tiles.
 */
public final class ProfileCostModel implements CostModel {

    private final String name;
    private final LatencyModel model; // the profile's ten coefficients, never refit
    private final int kvBlocks;
    private final int blockSize;
    private final int maxContext;
    private final double kvBytesPerToken;

    public ProfileCostModel(String name, double[] prefill, double[] decode, int kvBlocks, int blockSize,
            int maxContext, double kvBytesPerToken) {
        this(name, prefill, decode, 0, 0, kvBlocks, blockSize, maxContext, kvBytesPerToken);
    }

    /** With the decode step's GEMM tile terms: {@code firstTile} (b3) and {@code tile} (b4). */
    public ProfileCostModel(String name, double[] prefill, double[] decode, double firstTile, double tile,
            int kvBlocks, int blockSize, int maxContext, double kvBytesPerToken) {
        if (prefill.length != 5 || decode.length != 3) {
            throw new IllegalArgumentException("profile " + name
                    + ": \"prefill\" needs 5 coefficients and \"decode\" 3, got " + prefill.length
                    + " and " + decode.length);
        }
        for (double c : prefill) {
            requireCoefficient(name, c);
        }
        for (double c : decode) {
            requireCoefficient(name, c);
        }
        requireCoefficient(name, firstTile);
        requireCoefficient(name, tile);
        if (prefill[0] + prefill[1] <= 0 || decode[0] + decode[1] <= 0) {
            throw new IllegalArgumentException("profile " + name
                    + ": a step must cost something (c0 + c1 and b0 + b1 must be > 0)");
        }
        if (kvBlocks <= 0 || blockSize <= 0 || maxContext <= 0 || kvBytesPerToken < 0) {
            throw new IllegalArgumentException("profile " + name
                    + ": kv_blocks, block_size and max_context must be > 0, kv_bytes_per_token >= 0");
        }
        this.name = name;
        double[] c = new double[LatencyModel.COEFFICIENTS];
        System.arraycopy(prefill, 0, c, 0, 5);
        System.arraycopy(decode, 0, c, 5, 3);
        c[8] = firstTile;
        c[9] = tile;
        this.model = new LatencyModel(c, 1, 1);
        this.kvBlocks = kvBlocks;
        this.blockSize = blockSize;
        this.maxContext = maxContext;
        this.kvBytesPerToken = kvBytesPerToken;
    }

    private static void requireCoefficient(String name, double c) {
        if (!(c >= 0) || Double.isInfinite(c)) {
            throw new IllegalArgumentException("profile " + name + ": coefficients must be finite and >= 0, got " + c);
        }
    }

    /** Reads a profile JSON file (see the class comment for its shape). */
    public static ProfileCostModel read(Path file) throws IOException {
        JsonNode root;
        try {
            root = new ObjectMapper().readTree(file.toFile());
        } catch (IOException e) {
            throw new IllegalArgumentException("profile " + file + " is not valid JSON: " + e.getMessage(), e);
        }
        if (root == null || !root.isObject()) {
            throw new IllegalArgumentException("profile " + file + " must hold one JSON object");
        }
        String name = root.path("name").asText("profile:" + file.getFileName());
        return new ProfileCostModel(name,
                doubles(file, root, "prefill"),
                doubles(file, root, "decode"),
                optionalCoefficient(file, root, LatencyProfiles.FIRST_TILE_FIELD),
                optionalCoefficient(file, root, LatencyProfiles.TILE_FIELD),
                requiredInt(file, root, "kv_blocks"),
                root.path("block_size").asInt(16),
                requiredInt(file, root, "max_context"),
                root.path("kv_bytes_per_token").asDouble(0));
    }

    private static double[] doubles(Path file, JsonNode root, String field) {
        JsonNode node = root.get(field);
        if (node == null || !node.isArray()) {
            throw new IllegalArgumentException("profile " + file + ": field \"" + field + "\" must be an array of numbers");
        }
        double[] out = new double[node.size()];
        for (int i = 0; i < out.length; i++) {
            if (!node.get(i).isNumber()) {
                throw new IllegalArgumentException("profile " + file + ": \"" + field + "\"[" + i + "] is not a number");
            }
            out[i] = node.get(i).asDouble();
        }
        return out;
    }

    private static double optionalCoefficient(Path file, JsonNode root, String field) {
        JsonNode node = root.get(field);
        if (node != null && !node.isNumber()) {
            throw new IllegalArgumentException("profile " + file + ": \"" + field + "\" must be a number");
        }
        return node == null ? 0 : node.asDouble();
    }

    private static int requiredInt(Path file, JsonNode root, String field) {
        JsonNode node = root.get(field);
        if (node == null || !node.canConvertToInt()) {
            throw new IllegalArgumentException("profile " + file + ": field \"" + field + "\" (an integer) is missing");
        }
        return node.asInt();
    }

    @Override
    public String name() {
        return name;
    }

    @Override
    public double stepMs(BatchShape s) {
        if (s.isEmpty()) {
            return 0;
        }
        return model.estimate(new Sample(s.chunks, s.sumD, s.sumD2, s.sumDP, s.sumP, s.decodes, s.sumCtx, 0));
    }

    @Override
    public int kvBlocks() {
        return kvBlocks;
    }

    @Override
    public int blockSize() {
        return blockSize;
    }

    @Override
    public int maxContext() {
        return maxContext;
    }

    @Override
    public double kvBytesPerToken() {
        return kvBytesPerToken;
    }

    @Override
    public String toString() {
        return name + " (profile, " + kvBlocks + " KV blocks of " + blockSize + ")";
    }
}
