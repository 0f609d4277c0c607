package io.sluice.gpu.kv;

import java.util.BitSet;
import java.util.Optional;
import java.util.OptionalInt;

/**
 * A fixed pool of KV-cache blocks, each holding {@code blockSize} tokens. Running out is a return value (an empty
 * {@link OptionalInt}), never an exception; a block is never handed out twice, and freeing a block that is not
 * allocated is a bug that throws.
 */
public final class BlockPool {

    /** Tokens per block unless told otherwise. */
    public static final int DEFAULT_BLOCK_SIZE = 16;

    private final int blockSize;
    private final int[] freeStack; // free block ids; the top is handed out next
    private final BitSet allocated;
    private int freeCount;

    public BlockPool(int blocks, int blockSize) {
        if (blocks <= 0) {
            throw new IllegalArgumentException("a block pool needs at least one block, got " + blocks);
        }
        if (blockSize <= 0) {
            throw new IllegalArgumentException("block size must be positive, got " + blockSize);
        }
        this.blockSize = blockSize;
        this.freeStack = new int[blocks];
        this.allocated = new BitSet(blocks);
        // Hand out low ids first: block 0 on top of the stack.
        for (int i = 0; i < blocks; i++) {
            freeStack[i] = blocks - 1 - i;
        }
        this.freeCount = blocks;
    }

    public int blockSize() {
        return blockSize;
    }

    public int capacity() {
        return freeStack.length;
    }

    public synchronized int freeCount() {
        return freeCount;
    }

    /** Blocks needed to hold {@code tokens} tokens. */
    public int blocksFor(int tokens) {
        return (tokens + blockSize - 1) / blockSize;
    }

    /** One free block, or empty when none is left. */
    public synchronized OptionalInt allocate() {
        if (freeCount == 0) {
            return OptionalInt.empty();
        }
        int block = freeStack[--freeCount];
        allocated.set(block);
        return OptionalInt.of(block);
    }

    /** {@code count} blocks all at once, or empty (and nothing taken) when fewer are free. */
    public synchronized Optional<int[]> allocate(int count) {
        if (count < 0) {
            throw new IllegalArgumentException("cannot allocate " + count + " blocks");
        }
        if (count > freeCount) {
            return Optional.empty();
        }
        int[] blocks = new int[count];
        for (int i = 0; i < count; i++) {
            blocks[i] = freeStack[--freeCount];
            allocated.set(blocks[i]);
        }
        return Optional.of(blocks);
    }

    /** Returns {@code block} to the pool. */
    public synchronized void free(int block) {
        if (block < 0 || block >= freeStack.length) {
            throw new IllegalArgumentException("block " + block + " is not in this pool of " + freeStack.length);
        }
        if (!allocated.get(block)) {
            throw new IllegalStateException("block " + block + " is not allocated (freed twice?)");
        }
        allocated.clear(block);
        freeStack[freeCount++] = block;
    }

    public synchronized boolean isAllocated(int block) {
        return allocated.get(block);
    }
}
