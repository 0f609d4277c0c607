package io.sluice.gpu.exec;

import io.sluice.gpu.kv.BlockPool;
import java.util.ArrayList;
import java.util.List;

/** Reserves the KV blocks a batch needs, all or nothing, as every executor must before it runs. */
public final class BlockReservation {

    private BlockReservation() {}

    /**
     * Gives every chunk's table the blocks its new tokens need. When some do not fit, every table is
     * put back as it was and the sequences that found no room are returned; else the list is empty.
     */
    public static List<Long> reserveAll(List<Chunk> chunks, BlockPool pool) {
        // Before taking anything: a table of another pool would throw halfway, with blocks taken for the others.
        for (Chunk ch : chunks) {
            ch.table().requireOwnPool(pool);
        }
        int[] keep = new int[chunks.size()];
        List<Long> outOfBlocks = new ArrayList<>();
        for (int i = 0; i < chunks.size(); i++) {
            Chunk ch = chunks.get(i);
            keep[i] = ch.table().blockCount();
            if (!ch.table().reserve(pool, ch.startPosition() + ch.tokens().length)) {
                outOfBlocks.add(ch.sequenceId());
            }
        }
        if (!outOfBlocks.isEmpty()) {
            for (int i = 0; i < chunks.size(); i++) {
                chunks.get(i).table().shrinkTo(pool, keep[i]);
            }
        }
        return outOfBlocks;
    }
}
