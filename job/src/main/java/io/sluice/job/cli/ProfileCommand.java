package io.sluice.job.cli;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.sluice.gpu.exec.CpuExecutor;
import io.sluice.gpu.model.CheckpointLoader;
import io.sluice.gpu.model.ModelConfig;
import io.sluice.gpu.model.Weights;
import io.sluice.job.pipeline.LatencyProfiles;
import io.sluice.job.profile.EngineProfiler;
import io.sluice.scheduling.LatencyModel;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/** {@code sluice profile}: measures the CPU engine and fits the scheduler's latency model to it. */
@Command(name = "profile", mixinStandardHelpOptions = true,
        description = "Runs the real CPU engine over a grid of batch shapes, fits the scheduler's latency model "
                + "(prefill: c0 + sum of c1*d + c2*d^2 + c3*d*p + c4*p over chunks of d new tokens on p cached; "
                + "decode: b0 + b1*B + b2*sum(ctx) + b3*min(B, 4) + b4*ceil(B/4)), reports its error (MAPE) on held-out shapes, and writes "
                + "the profile that `simulate --cost-model profile:FILE` reads. Measure on an idle machine.")
public final class ProfileCommand implements Callable<Integer> {

    /** The error the estimator is expected to stay under, in percent. */
    private static final double TARGET_MAPE = 4.0;

    @Option(names = "--model", required = true, description = "llama2.c checkpoint to profile.")
    Path model;

    @Option(names = "--out", defaultValue = "profile.json", description = "Where to write the profile (default: ${DEFAULT-VALUE}).")
    Path out;

    @Option(names = "--threads", description = "Engine threads (default: all processors).")
    Integer threads;

    @Option(names = "--repeats", defaultValue = "8", description = "Rounds over the batch shapes (decode steps: eight per round, "
            + "at most seq_len/8); each shape keeps its fastest time (default: ${DEFAULT-VALUE}).")
    int repeats;

    @Option(names = "--holdout", defaultValue = "0.25", description = "Share of samples held out of the fit to measure its error (default: ${DEFAULT-VALUE}).")
    double holdout;

    @Option(names = "--seed", defaultValue = "1", description = "Seed of the token ids and the held-out split (default: ${DEFAULT-VALUE}).")
    long seed;

    @Option(names = "--json", description = "Print the result as one JSON object instead of a table.")
    boolean json;

    @Override
    public Integer call() throws Exception {
        // The profile is written after all the measuring: an --out that cannot be written must fail now, as a
        // usage error, not as a FileNotFoundException stack trace that throws the measurements away.
        OutputFile.check("--out", out, false);
        // The profiler checks these too, but by its own names for them (repeats, holdout fraction, threads).
        OptionChecks.atLeast("--repeats", repeats, 1);
        if (!(holdout > 0 && holdout < 1)) {
            throw new IllegalArgumentException("--holdout must be a share in (0, 1), got " + holdout);
        }
        OptionChecks.atLeastIfGiven("--threads", threads, 1);
        Weights weights = CheckpointLoader.load(model);
        ModelConfig config = weights.config();
        CpuExecutor.Options options = CpuExecutor.Options.defaults(config);
        if (threads != null) {
            options = options.withThreads(threads);
        }
        EngineProfiler.Profile profile;
        try (CpuExecutor executor = new CpuExecutor(weights, options)) {
            EngineProfiler profiler = new EngineProfiler(executor, seed, line -> System.err.println("profile: " + line));
            profile = profiler.run(new EngineProfiler.Options(repeats, holdout, seed));
        }
        LatencyModel.FitReport fit = profile.fit();
        double[] c = fit.model().coefficients();
        ObjectMapper mapper = new ObjectMapper();
        ObjectNode result = mapper.createObjectNode();
        result.put("name", "cpu-" + stripExtension(model.getFileName().toString()));
        result.set("prefill", mapper.valueToTree(Arrays.copyOfRange(c, 0, 5)));
        result.set("decode", mapper.valueToTree(Arrays.copyOfRange(c, 5, 8)));
        result.put(LatencyProfiles.FIRST_TILE_FIELD, c[8]);
        result.put(LatencyProfiles.TILE_FIELD, c[9]);
        result.put("kv_blocks", options.kvBlocks());
        result.put("block_size", options.blockSize());
        result.put("max_context", config.seqLen());
        result.put("kv_bytes_per_token", 2L * config.layers() * config.kvDim() * Float.BYTES);
        result.put("threads", options.threads());
        result.put("samples", profile.samples().size());
        result.put("held_out", fit.heldOutSamples());
        result.put("mape_prefill", fit.mapePrefill());
        result.put("mape_decode", fit.mapeDecode());
        // The measurements themselves, so a fit can be checked or redone elsewhere.
        var measured = result.putArray("measurements");
        for (LatencyModel.Sample sample : profile.samples()) {
            measured.addObject()
                    .put("chunks", sample.chunks()).put("new_tokens", sample.sumNew())
                    .put("new_tokens_sq", sample.sumNewSq()).put("new_x_cached", sample.sumNewCached())
                    .put("cached_tokens", sample.sumCached()).put("decodes", sample.decodeBatch())
                    .put("decode_context", sample.sumContext()).put("ms", sample.ms())
                    .put("estimate_ms", fit.model().estimate(sample));
        }
        mapper.writerWithDefaultPrettyPrinter().writeValue(out.toFile(), result);

        if (json) {
            result.remove("measurements");
            System.out.println(mapper.writeValueAsString(result));
        } else {
            System.out.printf("profile of %s (%d threads, %d samples, %d held out) -> %s%n",
                    model, options.threads(), profile.samples().size(), fit.heldOutSamples(), out);
            System.out.printf("  prefill ms = %.4f + sum(%.3e*d + %.3e*d^2 + %.3e*d*p + %.3e*p)%n", c[0], c[1], c[2], c[3], c[4]);
            System.out.printf("  decode  ms = %.4f + %.3e*B + %.3e*sum(ctx) + %.3e*min(B, %d) + %.3e*ceil(B/%d)%n",
                    c[5], c[6], c[7], c[8], LatencyModel.TILE, c[9], LatencyModel.TILE);
            System.out.printf("  held-out MAPE: prefill %.2f %%, decode %.2f %% (target <= %.0f %%)%n",
                    fit.mapePrefill(), fit.mapeDecode(), TARGET_MAPE);
        }
        if (fit.mapePrefill() > TARGET_MAPE || fit.mapeDecode() > TARGET_MAPE) {
            System.err.println("profile: warning: the fit misses the " + TARGET_MAPE
                    + " % target; a busy machine makes timings noisy, measure again on an idle one or with more --repeats");
        }
        return 0;
    }

    private static String stripExtension(String name) {
        int dot = name.lastIndexOf('.');
        return dot > 0 ? name.substring(0, dot) : name;
    }
}
