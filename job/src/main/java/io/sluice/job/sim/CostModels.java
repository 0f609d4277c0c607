package io.sluice.job.sim;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

/** Named cost-model presets and the {@code --cost-model} parser. */
public final class CostModels {

    /** Names accepted by {@link #parse}, besides {@code profile:FILE}. */
    public static final List<String> PRESETS = List.of("a100-llama2-7b", "h100-llama2-7b", "h100-llama3-8b");

    private static final int BLOCK_SIZE = 16;

    private CostModels() {}

    /**
     * Resolves a preset name or {@code profile:FILE}.
     *
     * @throws IllegalArgumentException for an unknown name or an unreadable or invalid profile
     */
    public static CostModel parse(String spec) {
        if (spec == null || spec.isBlank()) {
            throw new IllegalArgumentException("--cost-model is empty; use one of " + PRESETS + " or profile:FILE");
        }
        if (spec.startsWith("profile:")) {
            Path file = Path.of(spec.substring("profile:".length()));
            if (!Files.isRegularFile(file)) {
                throw new IllegalArgumentException("profile file " + file + " does not exist");
            }
            try {
                return ProfileCostModel.read(file);
            } catch (IOException e) {
                throw new UncheckedIOException("cannot read profile " + file, e);
            }
        }
        return switch (spec) {
            case "a100-llama2-7b" -> new RooflineCostModel(spec, ModelShape.llama2_7b(), Device.a100(), BLOCK_SIZE);
            case "h100-llama2-7b" -> new RooflineCostModel(spec, ModelShape.llama2_7b(), Device.h100(), BLOCK_SIZE);
            case "h100-llama3-8b" -> new RooflineCostModel(spec, ModelShape.llama3_8b(), Device.h100(), BLOCK_SIZE);
            default -> throw new IllegalArgumentException(
                    "unknown cost model '" + spec + "'; use one of " + PRESETS + " or profile:FILE");
        };
    }
}
