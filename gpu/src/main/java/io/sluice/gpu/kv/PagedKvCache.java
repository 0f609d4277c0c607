package io.sluice.gpu.kv;

/**
 * Key and value storage for a pool of blocks, per layer. Each block takes {@code blockSize * kvDim} floats in both
 * arrays; keys are channel-major inside a block (one vector load gives one channel of consecutive positions, so
 * attention scores need no horizontal sums), values position-major (one position's head is contiguous):
 *
 * <pre>
 *   keys[layer]:   [blocks][kvDim][blockSize]   (block, slot, channel) at block*bs*kvDim + channel*bs + slot
 *   values[layer]: [blocks][blockSize][kvDim]   (block, slot, channel) at block*bs*kvDim + slot*kvDim + channel
 * </pre>
 *
 * The pool decides which blocks are in use; this class only stores their contents.
 */
public final class PagedKvCache implements AutoCloseable {

    private final BlockPool pool;
    private final int kvDim;
    private final int layers;
    private float[][] keys; // [layers][blocks * blockSize * kvDim]
    private float[][] values; // [layers][blocks * blockSize * kvDim]

    public PagedKvCache(int layers, int kvDim, int blocks, int blockSize) {
        if (layers <= 0 || kvDim <= 0) {
            throw new IllegalArgumentException("layers and kv_dim must be positive, got " + layers + ", " + kvDim);
        }
        long floats = (long) blocks * blockSize * kvDim;
        if (floats > Integer.MAX_VALUE - 16) {
            throw new IllegalArgumentException(blocks + " blocks of " + blockSize + " tokens x " + kvDim
                    + " floats exceed one Java array per layer: use fewer blocks");
        }
        this.pool = new BlockPool(blocks, blockSize);
        this.kvDim = kvDim;
        this.layers = layers;
        this.keys = new float[layers][(int) floats];
        this.values = new float[layers][(int) floats];
    }

    /** Bytes a cache of {@code blocks} blocks needs. */
    public static long bytesFor(int layers, int kvDim, int blocks, int blockSize) {
        return 2L * layers * blocks * blockSize * kvDim * Float.BYTES;
    }

    public BlockPool pool() {
        return pool;
    }

    public int kvDim() {
        return kvDim;
    }

    public int layers() {
        return layers;
    }

    public int blockSize() {
        return pool.blockSize();
    }

    /** The key array of {@code layer}, indexed as in the class comment. */
    public float[] keys(int layer) {
        return open()[layer];
    }

    /** The value array of {@code layer}, indexed as in the class comment. */
    public float[] values(int layer) {
        open();
        return values[layer];
    }

    /** Index in {@link #keys} of channel {@code channel} of {@code position} of the sequence with {@code table}. */
    public int keyIndex(BlockTable table, int position, int channel) {
        int bs = pool.blockSize();
        return table.block(position / bs) * bs * kvDim + channel * bs + position % bs;
    }

    /** Index in {@link #values} of channel {@code channel} of {@code position} of the sequence with {@code table}. */
    public int valueIndex(BlockTable table, int position, int channel) {
        int bs = pool.blockSize();
        return table.block(position / bs) * bs * kvDim + (position % bs) * kvDim + channel;
    }

    /** Copies positions {@code [0, table.length())} of a sequence out of the pool (see {@link KvSnapshot}). */
    public KvSnapshot export(BlockTable table) {
        float[][] k = open();
        table.requireOwnPool(pool);
        int n = table.length();
        int bs = pool.blockSize();
        float[] keysOut = new float[KvSnapshot.floats(n, layers, kvDim)];
        float[] valuesOut = new float[keysOut.length];
        for (int l = 0; l < layers; l++) {
            for (int p = 0; p < n; p++) {
                int base = table.block(p / bs) * bs * kvDim;
                int slot = p % bs;
                int out = (l * n + p) * kvDim;
                for (int ch = 0; ch < kvDim; ch++) {
                    keysOut[out + ch] = k[l][base + ch * bs + slot];
                }
                System.arraycopy(values[l], base + slot * kvDim, valuesOut, out, kvDim);
            }
        }
        return new KvSnapshot(n, layers, kvDim, keysOut, valuesOut);
    }

    /**
     * Writes a snapshot into the blocks of {@code table}, which must already hold blocks for its length, and sets
     * the table's length to it.
     */
    public void load(BlockTable table, KvSnapshot snapshot) {
        float[][] k = open();
        table.requireOwnPool(pool);
        if (snapshot.layers() != layers || snapshot.kvDim() != kvDim) {
            throw new IllegalArgumentException("a snapshot of " + snapshot.layers() + " layers x " + snapshot.kvDim()
                    + " channels does not fit a cache of " + layers + " x " + kvDim + ": another model");
        }
        int n = snapshot.length();
        int bs = pool.blockSize();
        float[] keysIn = snapshot.keys();
        float[] valuesIn = snapshot.values();
        for (int l = 0; l < layers; l++) {
            for (int p = 0; p < n; p++) {
                int base = table.block(p / bs) * bs * kvDim;
                int slot = p % bs;
                int in = (l * n + p) * kvDim;
                for (int ch = 0; ch < kvDim; ch++) {
                    k[l][base + ch * bs + slot] = keysIn[in + ch];
                }
                System.arraycopy(valuesIn, in, values[l], base + slot * kvDim, kvDim);
            }
        }
        table.setLength(n, bs);
    }

    private float[][] open() {
        if (keys == null) {
            throw new IllegalStateException("the KV cache is closed");
        }
        return keys;
    }

    @Override
    public void close() {
        keys = null;
        values = null;
    }
}
