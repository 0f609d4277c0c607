package io.sluice.gpu.kv;

import java.util.Arrays;

/**
 * The blocks of one sequence's KV cache, in position order, and how many tokens they hold. Position {@code p} of
 * the sequence lives in block {@code block(p / blockSize)} at slot {@code p % blockSize}:
 *
 * <pre>
 *   positions  0..15   16..31   32..47
 *   blocks     [ 7 ]   [ 2 ]    [ 9 ]    (any free blocks of the pool, in any order)
 * </pre>
 *
 * Mutable state owned by one sequence; not thread-safe. Its blocks come from one pool: a table used with another
 * pool fails, since block ids there belong to other sequences (writing or freeing them would corrupt those).
 */
public final class BlockTable {

    private final long sequenceId;
    private int[] blocks = new int[4];
    private int blockCount;
    private int length;
    private BlockPool pool; // the pool its blocks come from; null while it holds none

    public BlockTable(long sequenceId) {
        this.sequenceId = sequenceId;
    }

    public long sequenceId() {
        return sequenceId;
    }

    /** Tokens whose keys and values are in the cache. */
    public int length() {
        return length;
    }

    public int blockCount() {
        return blockCount;
    }

    /** The pool block that holds the {@code index}-th run of positions. */
    public int block(int index) {
        if (index < 0 || index >= blockCount) {
            throw new IndexOutOfBoundsException("block " + index + " of " + blockCount);
        }
        return blocks[index];
    }

    /** A copy of the block ids in position order. */
    public int[] blocks() {
        return Arrays.copyOf(blocks, blockCount);
    }

    /**
     * Makes room for {@code tokens} tokens in total, taking blocks from {@code pool}; all or nothing: false (and
     * nothing taken) when the pool has too few free blocks.
     */
    public boolean reserve(BlockPool pool, int tokens) {
        requireOwnPool(pool);
        int needed = pool.blocksFor(tokens) - blockCount;
        if (needed <= 0) {
            return true;
        }
        return pool.allocate(needed).map(fresh -> {
            append(fresh);
            this.pool = pool;
            return true;
        }).orElse(false);
    }

    /** Blocks {@link #reserve} would take from {@code pool} to hold {@code tokens} tokens. */
    public int blocksMissing(BlockPool pool, int tokens) {
        return Math.max(0, pool.blocksFor(tokens) - blockCount);
    }

    /** Records that the cache now holds {@code newLength} tokens; the blocks must already be reserved. */
    public void setLength(int newLength, int blockSize) {
        if (newLength < 0 || newLength > blockCount * blockSize) {
            throw new IllegalArgumentException("length " + newLength + " does not fit " + blockCount + " blocks of "
                    + blockSize);
        }
        length = newLength;
    }

    /** Gives blocks beyond the first {@code keep} back to {@code pool} (undoing a reservation). */
    public void shrinkTo(BlockPool pool, int keep) {
        requireOwnPool(pool); // even with nothing to free: the length below is cut by this pool's block size
        while (blockCount > keep) {
            pool.free(blocks[--blockCount]);
        }
        length = Math.min(length, blockCount * pool.blockSize());
        if (blockCount == 0) {
            this.pool = null;
        }
    }

    /** Gives every block back to {@code pool}; the table is empty afterwards. */
    public void release(BlockPool pool) {
        shrinkTo(pool, 0);
        length = 0;
    }

    /** Throws unless the blocks this table holds, if any, are blocks of {@code pool}. */
    public void requireOwnPool(BlockPool pool) {
        if (blockCount > 0 && this.pool != pool) {
            throw new IllegalArgumentException("the block table of sequence " + sequenceId
                    + " holds blocks of another pool (another executor's?)");
        }
    }

    private void append(int[] fresh) {
        if (blockCount + fresh.length > blocks.length) {
            blocks = Arrays.copyOf(blocks, Math.max(blocks.length * 2, blockCount + fresh.length));
        }
        System.arraycopy(fresh, 0, blocks, blockCount, fresh.length);
        blockCount += fresh.length;
    }
}
