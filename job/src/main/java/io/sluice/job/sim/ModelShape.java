package io.sluice.job.sim;

/**
 * The architecture of a decoder-only (Llama-style) transformer, enough to count its FLOPs and
 * bytes per step: grouped-query attention via {@code kvHeads}, SwiGLU MLP of width
 * {@code intermediate}, untied LM head.
 *
 * @param bytesPerValue bytes per weight and per KV value (2 for fp16/bf16)
 */
public record ModelShape(
        String name,
        int layers,
        int hidden,
        int heads,
        int kvHeads,
        int vocab,
        int intermediate,
        int maxContext,
        int bytesPerValue) {

    public ModelShape {
        if (layers <= 0 || hidden <= 0 || heads <= 0 || kvHeads <= 0 || vocab <= 0
                || intermediate <= 0 || maxContext <= 0 || bytesPerValue <= 0) {
            throw new IllegalArgumentException("model shape " + name + ": every dimension must be > 0");
        }
        if (hidden % heads != 0 || heads % kvHeads != 0) {
            throw new IllegalArgumentException("model shape " + name
                    + ": hidden must divide by heads and heads by KV heads");
        }
    }

    /** Llama-2-7B: 32 layers, 4,096 hidden, 32 heads (MHA), 4,096 context. */
    public static ModelShape llama2_7b() {
        return new ModelShape("llama2-7b", 32, 4096, 32, 32, 32000, 11008, 4096, 2);
    }

    /** Llama-3-8B (3.1): 32 layers, 4,096 hidden, GQA with 8 KV heads, 128k context. */
    public static ModelShape llama3_8b() {
        return new ModelShape("llama3-8b", 32, 4096, 32, 8, 128256, 14336, 131072, 2);
    }

    public int headDim() {
        return hidden / heads;
    }

    /** Width of the K (or V) projection: smaller than {@code hidden} under GQA. */
    public int kvDim() {
        return kvHeads * headDim();
    }

    /** Parameters of the matmuls every token goes through (attention projections and MLP). */
    public double layerMatmulParams() {
        double attention = 2.0 * hidden * hidden + 2.0 * hidden * kvDim();
        double mlp = 3.0 * hidden * intermediate;
        return layers * (attention + mlp);
    }

    /** All parameters, embedding and LM head included (untied). */
    public double totalParams() {
        return layerMatmulParams() + 2.0 * vocab * hidden + layers * 2.0 * hidden + hidden;
    }

    public double weightBytes() {
        return totalParams() * bytesPerValue;
    }

    /** K and V of one token over all layers. */
    public double kvBytesPerToken() {
        return 2.0 * layers * kvDim() * bytesPerValue;
    }
}
