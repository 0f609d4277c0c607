package io.sluice.job.cli;

import io.sluice.gpu.exec.CpuExecutor;
import io.sluice.gpu.exec.Generator;
import io.sluice.gpu.model.CheckpointLoader;
import io.sluice.gpu.model.Weights;
import io.sluice.gpu.sampling.SamplingParams;
import io.sluice.gpu.tokenizer.TextStream;
import io.sluice.gpu.tokenizer.Tokenizer;
import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.Locale;
import java.util.StringJoiner;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParameterException;
import picocli.CommandLine.Spec;

/** {@code sluice generate}: runs one request on the CPU engine, as llama2.c's {@code run} does. */
@Command(name = "generate", mixinStandardHelpOptions = true,
        description = "Generate text from a llama2.c checkpoint on the CPU engine; prints the text (or the ids) and "
                + "tokens/s.")
public final class GenerateCommand implements Callable<Integer> {

    @Spec
    CommandSpec spec;

    @Option(names = "--model", required = true, description = "llama2.c checkpoint (.bin).")
    Path model;

    @Option(names = "--tokenizer",
            description = "llama2.c tokenizer (.bin). Optional with --print-ids and no prompt (the prompt is BOS).")
    Path tokenizer;

    @Option(names = "--prompt", defaultValue = "", description = "Prompt text (default: none, start from BOS).")
    String prompt;

    @Option(names = "--steps", defaultValue = "256",
            description = "Positions to fill after BOS, prompt included; capped at seq_len (default: ${DEFAULT-VALUE}).")
    int steps;

    @Option(names = "--temperature", defaultValue = "1.0",
            description = "0 = greedy (default: ${DEFAULT-VALUE}).")
    float temperature;

    @Option(names = "--top-p", defaultValue = "0.9", description = "Nucleus mass in (0, 1] (default: ${DEFAULT-VALUE}).")
    float topP;

    @Option(names = "--seed", description = "Seed of the sampling randomness (default: the current time, printed).")
    Long seed;

    @Option(names = "--print-ids",
            description = "Print the ids of positions 1..N on one line (prompt ids first) instead of the text.")
    boolean printIds;

    @Option(names = "--threads", description = "Worker threads (default: available processors).")
    Integer threads;

    @Override
    public Integer call() {
        if (steps <= 0) {
            throw new ParameterException(spec.commandLine(), "--steps must be positive, got " + steps);
        }
        if (tokenizer == null && (!printIds || !prompt.isEmpty())) {
            throw new ParameterException(spec.commandLine(),
                    "--tokenizer is required unless --print-ids is given without --prompt");
        }
        OptionChecks.atLeastIfGiven("--threads", threads, 1);
        if (!(temperature >= 0) || Float.isInfinite(temperature)) {
            throw new ParameterException(spec.commandLine(),
                    "--temperature must be a finite number >= 0 (0 = greedy), got " + temperature);
        }
        if (!(topP > 0 && topP <= 1)) {
            throw new ParameterException(spec.commandLine(), "--top-p must be in (0, 1], got " + topP);
        }
        long s = seed != null ? seed : System.currentTimeMillis();
        SamplingParams sampling = new SamplingParams(temperature, topP, s);
        PrintWriter out = spec.commandLine().getOut();
        PrintWriter err = spec.commandLine().getErr();
        Weights weights = CheckpointLoader.load(model);
        if (tokenizer != null) {
            ModelFiles.checkTokenizer(model, weights.config(), tokenizer);
        }
        Tokenizer tok = tokenizer == null ? null : Tokenizer.load(tokenizer, weights.config().vocabSize());
        int[] promptIds = tok == null ? new int[] {Tokenizer.BOS} : tok.encode(prompt);
        // A prompt the context cannot hold was cut silently to seq_len and nothing generated, exit 0: the
        // model never read the prompt's end. --steps under the prompt's length stays a documented cut.
        if (promptIds.length > weights.config().seqLen()) {
            throw new IllegalArgumentException("--prompt is " + (promptIds.length - 1) + " tokens (with BOS "
                    + promptIds.length + "), more than the model's context of seq_len " + weights.config().seqLen());
        }
        // Only now that every input has passed: a refused run printed a seed it never used.
        if (seed == null && temperature > 0) {
            err.println("seed " + s + " (pass --seed " + s + " to replay)");
        }
        CpuExecutor.Options options = CpuExecutor.Options.defaults(weights.config());
        if (threads != null) {
            options = options.withThreads(threads);
        }
        // One sequence: room for seq_len tokens is all the cache needs.
        options = options.withKvBlocks((weights.config().seqLen() + options.blockSize() - 1) / options.blockSize());
        PrintWriter text = printIds ? err : out;
        TextStream stream = new TextStream();
        int[] previous = {promptIds[0]};
        Generator.Result result;
        try (CpuExecutor executor = new CpuExecutor(weights, options)) {
            result = Generator.generate(executor, promptIds, steps, sampling, id -> {
                if (tok != null) {
                    text.print(stream.push(tok.decodePiece(previous[0], id)));
                    text.flush();
                }
                previous[0] = id;
            });
        }
        if (tok != null) {
            text.println(stream.finish());
        }
        if (printIds) {
            StringJoiner line = new StringJoiner(" ");
            for (int id : result.ids()) {
                line.add(Integer.toString(id));
            }
            out.println(line);
        }
        err.printf(Locale.ROOT, "achieved tok/s: %.1f (prompt %d tokens in %.1f ms, decode %d steps at %.1f tok/s, "
                + "%d threads)%n", result.tokensPerSecond(), result.promptTokens(), result.prefillNanos() / 1e6,
                result.decodeSteps(), result.decodeTokensPerSecond(), options.threads());
        return 0;
    }
}
