package io.sluice.scheduling;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

/** Block counts are conserved on device and host under any sequence of operations. */
class KvBlockAccountingTest {

    @Test
    void neverDoubleAllocatesUnderRandomOperations() {
        KvBlockAccounting kv = new KvBlockAccounting(16, 100, 50, 0.1, 0.02);
        SplittableRandom rnd = new SplittableRandom(3);
        List<Request> rs = new ArrayList<>();
        for (int i = 0; i < 20; i++) {
            rs.add(new Request("r" + i, "t", "c", 1, Slo.NONE, 1 + rnd.nextInt(300), 10, 0));
        }
        for (int op = 0; op < 20_000; op++) {
            Request r = rs.get(rnd.nextInt(rs.size()));
            int before = kv.freeBlocks();
            switch (rnd.nextInt(5)) {
                case 0, 1 -> {
                    int held = r.kvBlocks;
                    boolean ok = kv.allocate(r, rnd.nextInt(600));
                    if (!ok) {
                        assertThat(kv.freeBlocks()).as("a failed allocation changes nothing").isEqualTo(before);
                        assertThat(r.kvBlocks).isEqualTo(held);
                    }
                }
                case 2 -> kv.free(r);
                case 3 -> kv.swapOut(r);
                default -> kv.swapIn(r);
            }
            int device = 0;
            int host = 0;
            for (Request x : rs) {
                device += x.kvBlocks;
                host += x.hostBlocks;
                assertThat(x.kvBlocks).isGreaterThanOrEqualTo(0);
            }
            assertThat(device + kv.freeBlocks()).as("device blocks conserved").isEqualTo(kv.totalBlocks());
            assertThat(host + kv.hostFreeBlocks()).as("host blocks conserved").isEqualTo(kv.hostCapacityBlocks());
        }
    }

    @Test
    void allocationIsIdempotentPerSize() {
        KvBlockAccounting kv = new KvBlockAccounting(16, 10);
        Request r = new Request("r", "t", "c", 1, Slo.NONE, 40, 10, 0);
        assertThat(kv.allocate(r, 40)).isTrue();
        assertThat(kv.allocate(r, 40)).isTrue();
        assertThat(kv.allocate(r, 33)).isTrue();
        assertThat(r.kvBlocks()).isEqualTo(3);
        assertThat(kv.freeBlocks()).isEqualTo(7);
        assertThat(kv.allocate(r, 16 * 11)).as("over capacity").isFalse();
        assertThat(kv.copyMs(0)).isZero();
        assertThat(new KvBlockAccounting(16, 10, 5, 0.1, 0.02).copyMs(10)).isEqualTo(0.1 + 0.2);
    }

    @Test
    void rejectsNonsense() {
        assertThatThrownBy(() -> new KvBlockAccounting(0, 10)).isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> new KvBlockAccounting(16, 0)).isInstanceOf(IllegalArgumentException.class);
    }

    @Test
    void blocksForRoundsUpForEveryBlockSize() {
        for (int size : new int[] {1, 2, 16, 32, 12, 7}) {
            KvBlockAccounting kv = new KvBlockAccounting(size, 100);
            for (long tokens = 0; tokens < 200; tokens++) {
                assertThat(kv.blocksFor(tokens)).as("%d tokens in blocks of %d", tokens, size)
                        .isEqualTo((int) Math.ceil(tokens / (double) size));
            }
        }
    }
}
