package io.sluice.gpu.model;

import java.nio.FloatBuffer;
import java.util.List;

/**
 * The weights of a Llama model, immutable, each tensor a read-only float view (memory-mapped from the checkpoint
 * by {@link CheckpointLoader}). Matrices are row-major {@code [out, in]}. Per-layer tensors are separate views, so
 * no single view has to exceed the 2 GB limit of a Java buffer.
 */
public final class Weights {

    private final ModelConfig config;
    private final FloatBuffer tokenEmbedding; // [vocab, dim]
    private final List<Layer> layers;
    private final FloatBuffer rmsFinal; // [dim]
    private final FloatBuffer classifier; // [vocab, dim]

    /** The tensors of one transformer layer. */
    public record Layer(
            FloatBuffer rmsAtt, // [dim]
            FloatBuffer wq, // [dim, dim]
            FloatBuffer wk, // [kv_dim, dim]
            FloatBuffer wv, // [kv_dim, dim]
            FloatBuffer wo, // [dim, dim]
            FloatBuffer rmsFfn, // [dim]
            FloatBuffer w1, // [hidden, dim]
            FloatBuffer w2, // [dim, hidden]
            FloatBuffer w3) { // [hidden, dim]
    }

    public Weights(ModelConfig config, FloatBuffer tokenEmbedding, List<Layer> layers, FloatBuffer rmsFinal,
            FloatBuffer classifier) {
        this.config = config;
        this.tokenEmbedding = readOnly(tokenEmbedding, (long) config.vocabSize() * config.dim(), "token_embedding");
        if (layers.size() != config.layers()) {
            throw new IllegalArgumentException("expected " + config.layers() + " layers, got " + layers.size());
        }
        long d = config.dim();
        long kv = config.kvDim();
        long h = config.hiddenDim();
        this.layers = layers.stream().map(l -> new Layer(
                readOnly(l.rmsAtt(), d, "rms_att"),
                readOnly(l.wq(), d * d, "wq"),
                readOnly(l.wk(), kv * d, "wk"),
                readOnly(l.wv(), kv * d, "wv"),
                readOnly(l.wo(), d * d, "wo"),
                readOnly(l.rmsFfn(), d, "rms_ffn"),
                readOnly(l.w1(), h * d, "w1"),
                readOnly(l.w2(), d * h, "w2"),
                readOnly(l.w3(), h * d, "w3"))).toList();
        this.rmsFinal = readOnly(rmsFinal, d, "rms_final");
        this.classifier = readOnly(classifier, (long) config.vocabSize() * d, "classifier");
    }

    public ModelConfig config() {
        return config;
    }

    /** {@code [vocab, dim]}. */
    public FloatBuffer tokenEmbedding() {
        return tokenEmbedding.duplicate();
    }

    public Layer layer(int index) {
        Layer l = layers.get(index);
        return new Layer(l.rmsAtt.duplicate(), l.wq.duplicate(), l.wk.duplicate(), l.wv.duplicate(),
                l.wo.duplicate(), l.rmsFfn.duplicate(), l.w1.duplicate(), l.w2.duplicate(), l.w3.duplicate());
    }

    /** {@code [dim]}. */
    public FloatBuffer rmsFinal() {
        return rmsFinal.duplicate();
    }

    /** {@code [vocab, dim]}: the token embedding itself when the classifier is shared. */
    public FloatBuffer classifier() {
        return classifier.duplicate();
    }

    private static FloatBuffer readOnly(FloatBuffer buffer, long expected, String name) {
        if (buffer.remaining() != expected) {
            throw new IllegalArgumentException(
                    "tensor " + name + " has " + buffer.remaining() + " floats, expected " + expected);
        }
        return buffer.slice().asReadOnlyBuffer();
    }
}
