package io.sluice.job.sim;

/**
 * An accelerator as a roofline: peak dense fp16 FLOP/s and memory bandwidth, each derated by
 * the efficiency a real engine reaches, plus a fixed per-step cost (kernel launches, sampling,
 * scheduler) that no batch amortises away.
 *
 * @param memoryUtilization share of memory the engine may claim (vLLM's default is 0.9)
 * @param activationBytes memory held back from the KV cache for activations and workspace
 */
public record Device(
        String name,
        double peakFlops,
        double memoryBandwidth,
        double memoryBytes,
        double computeEfficiency,
        double bandwidthEfficiency,
        double stepOverheadMs,
        double memoryUtilization,
        double activationBytes) {

    private static final double GIB = 1024.0 * 1024 * 1024;

    public Device {
        if (peakFlops <= 0 || memoryBandwidth <= 0 || memoryBytes <= 0) {
            throw new IllegalArgumentException("device " + name + ": peak, bandwidth and memory must be > 0");
        }
        if (computeEfficiency <= 0 || computeEfficiency > 1 || bandwidthEfficiency <= 0
                || bandwidthEfficiency > 1 || memoryUtilization <= 0 || memoryUtilization > 1) {
            throw new IllegalArgumentException("device " + name + ": efficiencies and utilization must be in (0, 1]");
        }
        if (stepOverheadMs < 0 || activationBytes < 0) {
            throw new IllegalArgumentException("device " + name + ": overhead and activation bytes must be >= 0");
        }
    }

    /**
     * NVIDIA A100 SXM 80 GB: 312 TFLOP/s dense fp16, 2.039 TB/s HBM2e. Efficiencies chosen so
     * that Llama-2-7B lands on public vLLM/Sarathi profiles (about 9.4 ms for a 1-token step,
     * 0.065 ms per prefill token past the knee, 0.35-0.4 us per cached token in decode).
     */
    public static Device a100() {
        return new Device("a100", 312e12, 2.039e12, 80 * GIB, 0.64, 0.72, 0.25, 0.9, 2 * GIB);
    }

    /** NVIDIA H100 SXM 80 GB: 989 TFLOP/s dense fp16, 3.35 TB/s HBM3 (5.6 ms, 0.021 ms/token). */
    public static Device h100() {
        return new Device("h100", 989e12, 3.35e12, 80 * GIB, 0.62, 0.75, 0.25, 0.9, 2 * GIB);
    }

    double effectiveFlops() {
        return peakFlops * computeEfficiency;
    }

    double effectiveBandwidth() {
        return memoryBandwidth * bandwidthEfficiency;
    }
}
