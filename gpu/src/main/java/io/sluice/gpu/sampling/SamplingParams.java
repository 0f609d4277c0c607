package io.sluice.gpu.sampling;

/**
 * How one request picks its tokens: temperature (0 = greedy), top-p and the seed its randomness derives from.
 *
 * @param temperature 0 for greedy, else the softmax temperature
 * @param topP        nucleus mass in (0, 1]; 1 samples from the whole distribution
 * @param seed        the request's seed
 */
public record SamplingParams(float temperature, float topP, long seed) {

    /** Greedy decoding. */
    public static final SamplingParams GREEDY = new SamplingParams(0f, 1f, 0L);

    public SamplingParams {
        if (temperature < 0 || Float.isNaN(temperature) || Float.isInfinite(temperature)) {
            throw new IllegalArgumentException("temperature must be a finite number >= 0, got " + temperature);
        }
        if (!(topP > 0 && topP <= 1)) {
            throw new IllegalArgumentException("top-p must be in (0, 1], got " + topP);
        }
    }

    /** A sampler for these parameters. */
    public Sampler sampler() {
        return Sampler.of(temperature, topP);
    }

    /** The token for {@code position}, picked from {@code logits[offset .. offset + size)} (which it may overwrite). */
    public int sample(Sampler sampler, float[] logits, int offset, int size, int position) {
        return sampler.sample(logits, offset, size, Coins.coin(seed, position));
    }
}
