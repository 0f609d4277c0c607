package io.sluice.job.sim;

/**
 * The simulator's ground truth: how long one engine step of a given shape takes on one model
 * instance, and how much KV cache the instance holds. The scheduler never sees this object; it
 * sees a {@code LatencyModel} fitted from samples of it, as it would from {@code sluice profile}.
 */
public interface CostModel {

    /** A short name for reports, e.g. {@code a100-llama2-7b}. */
    String name();

    /** Wall time of one step in milliseconds; an empty shape costs nothing. */
    double stepMs(BatchShape shape);

    /** KV cache capacity of one instance, in blocks. */
    int kvBlocks();

    /** Tokens per KV block. */
    int blockSize();

    /** Longest sequence (prompt + output) the model accepts; longer requests are rejected. */
    int maxContext();

    /** Bytes of KV cache per token (all layers, K and V): what a PD handoff moves. */
    double kvBytesPerToken();
}
