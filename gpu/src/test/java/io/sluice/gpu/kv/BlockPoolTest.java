package io.sluice.gpu.kv;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.HashSet;
import java.util.OptionalInt;
import java.util.Set;
import org.junit.jupiter.api.Test;

/** Block pool, block tables and the paged cache layout. */
class BlockPoolTest {

    @Test
    void exhaustionReturnsEmptyAndFreeRestoresTheCount() {
        BlockPool pool = new BlockPool(3, 16);
        Set<Integer> handedOut = new HashSet<>();
        for (int i = 0; i < 3; i++) {
            OptionalInt b = pool.allocate();
            assertThat(b).isPresent();
            assertThat(handedOut.add(b.getAsInt())).as("block %d handed out twice", b.getAsInt()).isTrue();
        }
        assertThat(pool.freeCount()).isZero();
        assertThat(pool.allocate()).isEmpty();
        assertThat(pool.allocate(1)).isEmpty();
        pool.free(1);
        assertThat(pool.freeCount()).isEqualTo(1);
        assertThat(pool.allocate()).hasValue(1);
    }

    @Test
    void neverHandsOutABlockTwiceUnderChurn() {
        BlockPool pool = new BlockPool(64, 16);
        java.util.Random random = new java.util.Random(3);
        Set<Integer> held = new HashSet<>();
        for (int step = 0; step < 10_000; step++) {
            if (random.nextBoolean() || held.isEmpty()) {
                OptionalInt b = pool.allocate();
                if (b.isPresent()) {
                    assertThat(held.add(b.getAsInt())).isTrue();
                } else {
                    assertThat(held).hasSize(64);
                }
            } else {
                int b = held.iterator().next();
                held.remove(b);
                pool.free(b);
            }
            assertThat(pool.freeCount()).isEqualTo(64 - held.size());
        }
    }

    @Test
    void multiBlockAllocationIsAllOrNothing() {
        BlockPool pool = new BlockPool(5, 16);
        assertThat(pool.allocate(3)).get().satisfies(b -> assertThat(b).hasSize(3).doesNotHaveDuplicates());
        assertThat(pool.allocate(3)).isEmpty();
        assertThat(pool.freeCount()).isEqualTo(2);
    }

    @Test
    void doubleFreeAndForeignBlocksAreBugs() {
        BlockPool pool = new BlockPool(2, 16);
        int b = pool.allocate().getAsInt();
        pool.free(b);
        assertThatThrownBy(() -> pool.free(b)).isInstanceOf(IllegalStateException.class)
                .hasMessageContaining("not allocated");
        assertThatThrownBy(() -> pool.free(7)).hasMessageContaining("not in this pool");
        assertThatThrownBy(() -> new BlockPool(0, 16)).hasMessageContaining("at least one block");
    }

    @Test
    void blockTableReservesReleasesAndMapsPositions() {
        BlockPool pool = new BlockPool(4, 16);
        pool.allocate(); // block 0 taken by someone else
        BlockTable table = new BlockTable(7);
        assertThat(table.reserve(pool, 17)).isTrue();
        assertThat(table.blocks()).containsExactly(1, 2);
        table.setLength(17, 16);
        assertThat(table.reserve(pool, 32)).isTrue();
        assertThat(table.blockCount()).isEqualTo(2);
        assertThat(table.reserve(pool, 64)).as("needs 2 more, only 1 free").isFalse();
        assertThat(table.blockCount()).isEqualTo(2);
        assertThat(pool.freeCount()).isEqualTo(1);
        table.release(pool);
        assertThat(table.length()).isZero();
        assertThat(pool.freeCount()).isEqualTo(3);
    }

    @Test
    void aTableTakesAndGivesBackBlocksOfOnePoolOnly() {
        BlockPool first = new BlockPool(4, 16);
        BlockPool second = new BlockPool(4, 16);
        BlockTable table = new BlockTable(1);
        assertThat(table.reserve(first, 20)).isTrue();
        assertThatThrownBy(() -> table.reserve(second, 40)).isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("another pool");
        assertThatThrownBy(() -> table.release(second)).isInstanceOf(IllegalArgumentException.class);
        table.setLength(20, 16);
        BlockPool smallBlocks = new BlockPool(4, 8);
        assertThatThrownBy(() -> table.shrinkTo(smallBlocks, 2)).as("frees nothing, but would cut the length to 16")
                .isInstanceOf(IllegalArgumentException.class);
        assertThat(table.length()).isEqualTo(20);
        assertThat(second.freeCount()).isEqualTo(4);
        assertThat(table.blockCount()).isEqualTo(2);
        table.release(first);
        assertThat(first.freeCount()).isEqualTo(4);
        // Empty, it may take blocks of any pool.
        assertThat(table.reserve(second, 20)).isTrue();
        assertThat(second.freeCount()).isEqualTo(2);
    }

    @Test
    void pagedCacheOffsetsFollowTheTable() {
        try (PagedKvCache cache = new PagedKvCache(2, 8, 4, 16)) {
            BlockTable table = new BlockTable(1);
            cache.pool().allocate(2);
            assertThat(table.reserve(cache.pool(), 20)).isTrue();
            int second = table.block(1);
            assertThat(cache.valueIndex(table, 17, 3)).isEqualTo((second * 16 + 1) * 8 + 3);
            assertThat(cache.keyIndex(table, 17, 3)).isEqualTo(second * 16 * 8 + 3 * 16 + 1);
            assertThat(cache.keys(1)).hasSize(4 * 16 * 8);
        }
    }
}
