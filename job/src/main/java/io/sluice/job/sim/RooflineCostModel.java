package io.sluice.job.sim;

/**
 * A model shape on a device, priced as a roofline: a step takes
 * {@code max(FLOPs / effective peak, bytes / effective bandwidth) + fixed overhead}.
 *
 * <p>FLOPs: {@code 2 x matmul params} per token computed, the LM head once per sequence that
 * samples, and attention at {@code 4 x hidden} per (query, key) pair per layer, which makes it
 * quadratic in a prefill chunk (causal: chunk {@code d} on cache {@code p} sees
 * {@code d x (p + (d + 1) / 2)} pairs) and linear in the cache for a decode step. Bytes: all
 * weights once per step, every cached K/V read once per step, every new K/V written. Batching
 * amortises the weights: a decode step is memory bound until the batch is large, a prefill
 * step turns compute bound past the knee (~140 tokens for Llama-2-7B on an A100).
 *
 * <p>KV capacity is the device memory the engine may claim, minus the weights and an
 * activation reserve, divided by the KV bytes of a block.
 */
public final class RooflineCostModel implements CostModel {

    private final String name;
    private final ModelShape model;
    private final Device device;
    private final int blockSize;
    private final int kvBlocks;
    // Per-unit costs, precomputed once: the simulator prices every step.
    private final double flopsPerToken;
    private final double flopsPerLogitRow;
    private final double flopsPerAttentionPair;
    private final double weightBytes;
    private final double kvBytesPerToken;
    private final double secondsPerFlop;
    private final double secondsPerByte;

    public RooflineCostModel(String name, ModelShape model, Device device, int blockSize) {
        if (blockSize <= 0) {
            throw new IllegalArgumentException("block size must be > 0, got " + blockSize);
        }
        this.name = name;
        this.model = model;
        this.device = device;
        this.blockSize = blockSize;
        this.flopsPerToken = 2.0 * model.layerMatmulParams();
        this.flopsPerLogitRow = 2.0 * model.hidden() * (double) model.vocab();
        this.flopsPerAttentionPair = 4.0 * model.hidden() * (double) model.layers();
        this.weightBytes = model.weightBytes();
        this.kvBytesPerToken = model.kvBytesPerToken();
        this.secondsPerFlop = 1.0 / device.effectiveFlops();
        this.secondsPerByte = 1.0 / device.effectiveBandwidth();
        double kvMemory = device.memoryBytes() * device.memoryUtilization() - weightBytes - device.activationBytes();
        if (kvMemory < kvBytesPerToken * blockSize * 2) {
            throw new IllegalArgumentException("cost model " + name + ": " + model.name()
                    + " weights do not leave room for a KV cache on " + device.name());
        }
        long blocks = (long) (kvMemory / (kvBytesPerToken * blockSize));
        this.kvBlocks = (int) Math.min(Integer.MAX_VALUE, blocks);
    }

    public ModelShape model() {
        return model;
    }

    public Device device() {
        return device;
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
        double tokens = s.sumD + s.decodes;
        double attentionPairs = s.sumDP + 0.5 * (s.sumD2 + s.sumD) + s.sumCtx + s.decodes;
        double flops = tokens * flopsPerToken
                + (s.logitRows + s.decodes) * flopsPerLogitRow
                + attentionPairs * flopsPerAttentionPair;
        double kvRead = s.sumP + s.sumCtx;
        double bytes = weightBytes + (kvRead + tokens) * kvBytesPerToken;
        double seconds = Math.max(flops * secondsPerFlop, bytes * secondsPerByte);
        return seconds * 1000.0 + device.stepOverheadMs();
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
        return model.maxContext();
    }

    @Override
    public double kvBytesPerToken() {
        return kvBytesPerToken;
    }

    @Override
    public String toString() {
        return name + " (" + model.name() + " on " + device.name() + ", " + kvBlocks + " KV blocks of "
                + blockSize + ")";
    }
}
