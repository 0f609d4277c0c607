package io.sluice.job.cli;

import io.sluice.gpu.model.ModelConfig;
import io.sluice.gpu.model.SyntheticCheckpoint;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Locale;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/** {@code sluice gen-model}: writes a reproducible synthetic llama2.c checkpoint of a standard shape. */
@Command(name = "gen-model", mixinStandardHelpOptions = true,
        description = "Write a synthetic llama2.c checkpoint (weights from a seeded SplitMix64 stream; "
                + "seed 1234 reproduces the published sha256 values).")
public final class GenModelCommand implements Callable<Integer> {

    @Spec
    CommandSpec spec;

    @Option(names = "--shape", required = true, description = "Model shape: 260k, 15m, 42m or 110m.")
    String shape;

    @Option(names = "--seed", defaultValue = "1234", description = "Seed of the weights (default: ${DEFAULT-VALUE}).")
    long seed;

    @Option(names = "--out", required = true, description = "Checkpoint file to write.")
    Path out;

    @Option(names = "--scale", defaultValue = "0.02",
            description = "Half-width of the uniform weights (default: ${DEFAULT-VALUE}, the published recipe; "
                    + "larger values give outputs that vary, for tests).")
    double scale;

    @Override
    public Integer call() throws Exception {
        SyntheticCheckpoint.Shape s = SyntheticCheckpoint.Shape.of(shape);
        ModelConfig config = s.config();
        // An --out that cannot be written (a folder, a file in its path) is the user's to fix: exit 2 with one
        // line, not an UncheckedIOException stack trace after writing the whole checkpoint (the writer creates
        // missing folders, so only the nearest existing one has to be writable).
        OutputFile.check("--out", out, true);
        OptionChecks.positive("--scale", scale);
        long start = System.nanoTime();
        int[] lastPercent = {-1};
        ProgressLine progress = new ProgressLine(spec.commandLine().getErr());
        try {
            SyntheticCheckpoint.write(config, seed, scale, out, fraction -> {
                int percent = (int) (fraction * 100);
                if (percent / 10 != lastPercent[0] / 10) {
                    progress.show(String.format(Locale.ROOT, "writing %s: %3d%%", out.getFileName(), percent));
                    lastPercent[0] = percent;
                }
            });
        } catch (UncheckedIOException e) {
            // A disk that fills up (or a quota) half-way: what failed is the message, a stack trace adds nothing.
            progress.clear();
            spec.commandLine().getErr().println(spec.qualifiedName() + ": " + e.getMessage());
            return 1;
        }
        progress.clear();
        spec.commandLine().getOut().printf(Locale.ROOT, "wrote %s: shape %s, seed %d, %,d bytes, %,d parameters in %.1f s%n", out, s,
                seed, Files.size(out), config.parameterCount(), (System.nanoTime() - start) / 1e9);
        return 0;
    }
}
