package io.sluice.gpu.model;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.FloatBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.List;

/**
 * Loads a llama2.c legacy (v0) checkpoint: a header of 7 little-endian int32, then float32 tensors in a fixed
 * order, memory-mapped tensor by tensor (files above 2 GB work; no tensor is copied).
 */
public final class CheckpointLoader {

    private CheckpointLoader() {
    }

    /** Maps the checkpoint at {@code file}; a missing, truncated or inconsistent file throws a {@link CheckpointException}. */
    public static Weights load(Path file) {
        try (FileChannel channel = FileChannel.open(file, StandardOpenOption.READ)) {
            long size = channel.size();
            if (size < ModelConfig.HEADER_BYTES) {
                throw new CheckpointException(file, "truncated: " + size + " bytes, but the llama2.c header alone needs "
                        + ModelConfig.HEADER_BYTES);
            }
            ByteBuffer headerBytes = ByteBuffer.allocate(ModelConfig.HEADER_BYTES).order(ByteOrder.LITTLE_ENDIAN);
            while (headerBytes.hasRemaining()) {
                if (channel.read(headerBytes, headerBytes.position()) < 0) {
                    throw new CheckpointException(file, "truncated while reading the header");
                }
            }
            headerBytes.flip();
            int[] header = new int[ModelConfig.HEADER_INTS];
            for (int i = 0; i < header.length; i++) {
                header[i] = headerBytes.getInt();
            }
            ModelConfig config;
            try {
                config = ModelConfig.fromHeader(header);
            } catch (IllegalArgumentException e) {
                throw new CheckpointException(file, "bad header " + java.util.Arrays.toString(header)
                        + " (not a llama2.c v0 checkpoint?): " + e.getMessage(), e);
            }
            long expected = config.fileBytes();
            if (size < expected) {
                throw new CheckpointException(file, "truncated: the header " + describe(config) + " needs " + expected
                        + " bytes, the file has " + size);
            }
            if (size > expected) {
                throw new CheckpointException(file, "the header " + describe(config) + " accounts for " + expected
                        + " bytes, but the file has " + size + " (" + (size - expected)
                        + " bytes unexplained): shape and file size do not add up");
            }
            return map(channel, config);
        } catch (NoSuchFileException e) {
            throw new CheckpointException(file, "no such file", e);
        } catch (IOException e) {
            throw CheckpointException.unreadable(file, e);
        }
    }

    private static Weights map(FileChannel channel, ModelConfig config) throws IOException {
        Mapper m = new Mapper(channel, ModelConfig.HEADER_BYTES);
        long d = config.dim();
        long kv = config.kvDim();
        long h = config.hiddenDim();
        int layers = config.layers();
        FloatBuffer embedding = m.next((long) config.vocabSize() * d);
        // Each tensor kind is stored for all layers together: [L, ...].
        List<FloatBuffer> rmsAtt = m.perLayer(layers, d);
        List<FloatBuffer> wq = m.perLayer(layers, d * d);
        List<FloatBuffer> wk = m.perLayer(layers, kv * d);
        List<FloatBuffer> wv = m.perLayer(layers, kv * d);
        List<FloatBuffer> wo = m.perLayer(layers, d * d);
        List<FloatBuffer> rmsFfn = m.perLayer(layers, d);
        List<FloatBuffer> w1 = m.perLayer(layers, h * d);
        List<FloatBuffer> w2 = m.perLayer(layers, d * h);
        List<FloatBuffer> w3 = m.perLayer(layers, h * d);
        FloatBuffer rmsFinal = m.next(d);
        m.skip((long) config.seqLen() * config.headSize()); // legacy freq_cis_real and freq_cis_imag: recomputed
        FloatBuffer classifier = config.sharedClassifier() ? embedding : m.next((long) config.vocabSize() * d);
        List<Weights.Layer> list = new ArrayList<>(layers);
        for (int l = 0; l < layers; l++) {
            list.add(new Weights.Layer(rmsAtt.get(l), wq.get(l), wk.get(l), wv.get(l), wo.get(l), rmsFfn.get(l),
                    w1.get(l), w2.get(l), w3.get(l)));
        }
        return new Weights(config, embedding, list, rmsFinal, classifier);
    }

    private static String describe(ModelConfig c) {
        return "(dim " + c.dim() + ", hidden " + c.hiddenDim() + ", layers " + c.layers() + ", heads " + c.heads()
                + ", kv heads " + c.kvHeads() + ", vocab " + (c.sharedClassifier() ? "" : "-") + c.vocabSize()
                + ", seq_len " + c.seqLen() + ")";
    }

    /** Walks the file, mapping one tensor at a time. */
    private static final class Mapper {
        private final FileChannel channel;
        private long offset;

        Mapper(FileChannel channel, long offset) {
            this.channel = channel;
            this.offset = offset;
        }

        FloatBuffer next(long floats) throws IOException {
            long bytes = floats * Float.BYTES;
            if (bytes > Integer.MAX_VALUE) {
                throw new IOException("a single tensor of " + bytes + " bytes exceeds what one Java buffer can map");
            }
            FloatBuffer buffer = channel.map(FileChannel.MapMode.READ_ONLY, offset, bytes)
                    .order(ByteOrder.LITTLE_ENDIAN).asFloatBuffer();
            offset += bytes;
            return buffer;
        }

        List<FloatBuffer> perLayer(int layers, long floatsPerLayer) throws IOException {
            List<FloatBuffer> list = new ArrayList<>(layers);
            for (int l = 0; l < layers; l++) {
                list.add(next(floatsPerLayer));
            }
            return list;
        }

        void skip(long floats) {
            offset += floats * Float.BYTES;
        }
    }
}
