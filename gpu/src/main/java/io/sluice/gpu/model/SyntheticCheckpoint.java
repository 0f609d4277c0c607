package io.sluice.gpu.model;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.FloatBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.util.Locale;
import java.util.concurrent.ThreadLocalRandom;

/**
 * Writes reproducible llama2.c checkpoints whose weights come from a seeded SplitMix64 stream, exactly as
 * {@code models/README.md} of the shared data specifies (so seed 1234 reproduces the published sha256 values).
 */
public final class SyntheticCheckpoint {

    /** The scale of the published recipe: weights uniform in [-0.02, 0.02). */
    public static final double DEFAULT_SCALE = 0.02;

    /** Standard shapes, those of the TinyStories checkpoints. */
    public enum Shape {
        S260K("260k", new ModelConfig(64, 172, 5, 8, 4, 512, 512, true)),
        S15M("15m", new ModelConfig(288, 768, 6, 6, 6, 32000, 256, true)),
        S42M("42m", new ModelConfig(512, 1376, 8, 8, 8, 32000, 1024, true)),
        S110M("110m", new ModelConfig(768, 2048, 12, 12, 12, 32000, 1024, true));

        private final String label;
        private final ModelConfig config;

        Shape(String label, ModelConfig config) {
            this.label = label;
            this.config = config;
        }

        public String label() {
            return label;
        }

        public ModelConfig config() {
            return config;
        }

        /** The shape named {@code 260k}, {@code 15m}, {@code 42m} or {@code 110m}. */
        public static Shape of(String label) {
            for (Shape s : values()) {
                if (s.label.equalsIgnoreCase(label)) {
                    return s;
                }
            }
            throw new IllegalArgumentException("unknown shape '" + label + "': use one of 260k, 15m, 42m, 110m");
        }

        @Override
        public String toString() {
            return label;
        }
    }

    private static final int CHUNK_FLOATS = 1 << 18;

    private SyntheticCheckpoint() {
    }

    /** Writes {@code config} with weights of the published recipe (scale 0.02) to {@code out}. */
    public static void write(ModelConfig config, long seed, Path out) {
        write(config, seed, DEFAULT_SCALE, out, p -> { });
    }

    /**
     * Writes {@code config} to {@code out} (atomically: a temporary file beside it, then a rename). {@code scale}
     * other than {@link #DEFAULT_SCALE} gives larger weights (for tests that need outputs that are not one repeated
     * token); {@code progress} receives the fraction written so far.
     */
    public static void write(ModelConfig config, long seed, double scale, Path out,
            java.util.function.DoubleConsumer progress) {
        if (!config.sharedClassifier()) {
            throw new IllegalArgumentException("the synthetic recipe covers shared-classifier checkpoints only");
        }
        // Weights are floats: a scale past the largest float wrote infinities, a model that computes nothing but NaN.
        if (!(scale > 0) || scale > Float.MAX_VALUE) {
            throw new IllegalArgumentException("scale must be a positive number up to " + Float.MAX_VALUE
                    + " (weights are floats), got " + scale);
        }
        Path parent = out.toAbsolutePath().getParent();
        try {
            if (parent != null) {
                Files.createDirectories(parent);
            }
            // Created as any new file is, with the permissions the umask gives: Files.createTempFile makes an
            // owner-only file, and the rename below keeps the permissions, so the model was unreadable to others.
            Path tmp = out.toAbsolutePath().resolveSibling(out.getFileName() + "."
                    + Long.toHexString(ThreadLocalRandom.current().nextLong()) + ".part");
            // Ctrl-C ends the JVM without the catch below: the shutdown hooks still delete the part written (named
            // before it exists, so a stop right after its creation deletes it too).
            tmp.toFile().deleteOnExit();
            try (FileChannel channel = FileChannel.open(tmp, StandardOpenOption.CREATE_NEW,
                    StandardOpenOption.WRITE)) {
                ByteBuffer buffer = ByteBuffer.allocateDirect(CHUNK_FLOATS * Float.BYTES).order(ByteOrder.LITTLE_ENDIAN);
                for (int v : config.toHeader()) {
                    buffer.putInt(v);
                }
                buffer.flip();
                writeFully(channel, buffer);
                new Writer(channel, buffer, seed, scale, config.bodyFloats(), progress).writeBody(config);
            } catch (IOException | RuntimeException e) {
                Files.deleteIfExists(tmp);
                throw e;
            }
            Files.move(tmp, out, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot write " + out + ": " + e.getMessage(), e);
        }
    }

    /** Float number {@code n} of the body for {@code seed}: uniform in [-scale, scale), offset by 1 for norms. */
    static double uniform(long seed, long n, double scale) {
        long z = seed + (n + 1) * 0x9E3779B97F4A7C15L;
        z = (z ^ (z >>> 30)) * 0xBF58476D1CE4E5B9L;
        z = (z ^ (z >>> 27)) * 0x94D049BB133111EBL;
        z = z ^ (z >>> 31);
        return ((z >>> 40) * 0x1.0p-23 - 1.0) * scale;
    }

    private static void writeFully(FileChannel channel, ByteBuffer buffer) throws IOException {
        while (buffer.hasRemaining()) {
            channel.write(buffer);
        }
    }

    /** Streams the body: a running float counter over the whole body decides each value. */
    private static final class Writer {
        private final FileChannel channel;
        private final ByteBuffer bytes;
        private final FloatBuffer floats;
        private final long seed;
        private final double scale;
        private final long total;
        private final java.util.function.DoubleConsumer progress;
        private final float[] chunk = new float[CHUNK_FLOATS];
        private long n;

        Writer(FileChannel channel, ByteBuffer bytes, long seed, double scale, long total,
                java.util.function.DoubleConsumer progress) {
            this.channel = channel;
            this.bytes = bytes;
            this.floats = bytes.clear().asFloatBuffer();
            this.seed = seed;
            this.scale = scale;
            this.total = total;
            this.progress = progress;
        }

        void writeBody(ModelConfig c) throws IOException {
            long d = c.dim();
            long kv = c.kvDim();
            long h = c.hiddenDim();
            long l = c.layers();
            tensor((long) c.vocabSize() * d, false); // token_embedding
            tensor(l * d, true); // rms_att
            tensor(l * d * d, false); // wq
            tensor(l * kv * d, false); // wk
            tensor(l * kv * d, false); // wv
            tensor(l * d * d, false); // wo
            tensor(l * d, true); // rms_ffn
            tensor(l * h * d, false); // w1
            tensor(l * d * h, false); // w2
            tensor(l * h * d, false); // w3
            tensor(d, true); // rms_final
            tensor((long) c.seqLen() * c.headSize(), false); // freq_cis region, filled from the same stream
            if (n != total) {
                throw new IllegalStateException(
                        String.format(Locale.ROOT, "wrote %d floats, the shape needs %d", n, total));
            }
        }

        private void tensor(long count, boolean norm) throws IOException {
            long end = n + count;
            while (n < end) {
                int len = (int) Math.min(CHUNK_FLOATS, end - n);
                for (int i = 0; i < len; i++) {
                    double r = uniform(seed, n + i, scale);
                    chunk[i] = norm ? (float) (1.0 + r) : (float) r;
                }
                floats.clear();
                floats.put(chunk, 0, len);
                bytes.clear().limit(len * Float.BYTES);
                writeFully(channel, bytes);
                n += len;
                progress.accept((double) n / total);
            }
        }
    }
}
