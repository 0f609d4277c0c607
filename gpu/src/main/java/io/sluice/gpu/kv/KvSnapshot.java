package io.sluice.gpu.kv;

import java.util.Objects;

/**
 * A copy of one sequence's keys and values for positions {@code [0, length)}, off the block pool: what a
 * preempted sequence keeps in host memory and what a prefill instance hands to a decode instance. The layout is
 * independent of any pool's (block size, block ids, channel order inside a block), so a snapshot taken on one
 * executor loads into another of the same model:
 *
 * <pre>
 *   keys, values: [layers][length][kvDim]   (layer, position, channel) at (layer * length + position) * kvDim + channel
 * </pre>
 *
 * Immutable by contract: the arrays are not copied on the way in or out, and nobody writes them after
 * {@link PagedKvCache#export} filled them.
 */
public final class KvSnapshot {

    private final int length;
    private final int layers;
    private final int kvDim;
    private final float[] keys;
    private final float[] values;

    public KvSnapshot(int length, int layers, int kvDim, float[] keys, float[] values) {
        Objects.requireNonNull(keys, "keys");
        Objects.requireNonNull(values, "values");
        if (length < 0 || layers < 0 || kvDim < 0) {
            throw new IllegalArgumentException("length, layers and kv_dim must be >= 0, got " + length + ", "
                    + layers + ", " + kvDim);
        }
        long floats = (long) layers * length * kvDim;
        if (keys.length != floats || values.length != floats) {
            throw new IllegalArgumentException("a snapshot of " + length + " positions x " + layers + " layers x "
                    + kvDim + " channels needs " + floats + " keys and values, got " + keys.length + " and "
                    + values.length);
        }
        this.length = length;
        this.layers = layers;
        this.kvDim = kvDim;
        this.keys = keys;
        this.values = values;
    }

    /**
     * Floats in each of a snapshot's two arrays ({@code layers x length x kvDim}), or a clear refusal where one Java
     * array cannot hold them (a 7B model past 16,383 positions): the product overflowed an int and failed with an
     * index error.
     */
    public static int floats(int length, int layers, int kvDim) {
        long floats = (long) layers * length * kvDim;
        if (floats > Integer.MAX_VALUE - 16) {
            throw new IllegalArgumentException("a snapshot of " + length + " positions x " + layers + " layers x "
                    + kvDim + " channels is " + floats + " floats, more than one Java array holds");
        }
        return (int) floats;
    }

    /** Positions held: the sequence's cached tokens when it was taken. */
    public int length() {
        return length;
    }

    public int layers() {
        return layers;
    }

    public int kvDim() {
        return kvDim;
    }

    /** The keys, laid out as in the class comment; do not write. */
    public float[] keys() {
        return keys;
    }

    /** The values, laid out as in the class comment; do not write. */
    public float[] values() {
        return values;
    }

    /** Bytes of KV the snapshot holds. */
    public long bytes() {
        return 2L * keys.length * Float.BYTES;
    }
}
