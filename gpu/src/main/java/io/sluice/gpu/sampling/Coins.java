package io.sluice.gpu.sampling;

/** The randomness of a request: a pure function of (request seed, position), so replays pick the same tokens. */
public final class Coins {

    private Coins() {
    }

    /** A number in [0, 1) determined by {@code seed} and {@code position} alone (SplitMix64 of both). */
    public static double coin(long seed, int position) {
        long z = mix(seed) + (position + 1L) * 0x9E3779B97F4A7C15L;
        return (mix(z) >>> 11) * 0x1.0p-53;
    }

    /** The SplitMix64 finaliser. */
    static long mix(long z) {
        z = (z ^ (z >>> 30)) * 0xBF58476D1CE4E5B9L;
        z = (z ^ (z >>> 27)) * 0x94D049BB133111EBL;
        return z ^ (z >>> 31);
    }
}
