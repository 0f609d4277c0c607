package io.sluice.scheduling;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

/** The lazy ranking pops exactly the order a full sort gives. */
class RankHeapTest {

    @Test
    void lazyOrderEqualsAFullSortWithTiesByPosition() {
        SplittableRandom rnd = new SplittableRandom(5);
        RankHeap heap = new RankHeap();
        for (int trial = 0; trial < 100; trial++) {
            // Short rounds are sorted outright, long ones heaped: both sizes.
            int n = 1 + rnd.nextInt(trial % 2 == 0 ? 30 : 700);
            heap.reset(n);
            int[] g = new int[n];
            double[] k = new double[n];
            double[] k2 = new double[n];
            List<Integer> expected = new ArrayList<>();
            for (int i = 0; i < n; i++) {
                if (rnd.nextInt(10) == 0) {
                    continue; // left out of the order
                }
                g[i] = rnd.nextInt(RankHeap.GROUPS);
                k[i] = rnd.nextInt(5) == 0 ? Double.POSITIVE_INFINITY : rnd.nextInt(20) - 10;
                k2[i] = rnd.nextInt(3);
                heap.set(i, g[i], k[i], k2[i]);
                expected.add(i);
            }
            heap.build();
            expected.sort(Comparator.<Integer>comparingInt(i -> g[i]).thenComparingDouble(i -> k[i])
                    .thenComparingDouble(i -> k2[i]).thenComparingInt(i -> i));
            List<Integer> lazy = new ArrayList<>();
            int firstFew = Math.min(5, expected.size());
            for (int r = 0; r < firstFew; r++) {
                lazy.add(heap.at(r));
            }
            heap.drain();
            for (int r = firstFew; r < heap.size(); r++) {
                lazy.add(heap.at(r));
            }
            assertThat(lazy).isEqualTo(expected);
            assertThat(heap.at(heap.size())).isEqualTo(-1);
        }
    }

    @Test
    void skippingTheRestOfAGroupKeepsTheRanksOfTheOthersAndOfTheSkippedOnes() {
        SplittableRandom rnd = new SplittableRandom(7);
        RankHeap heap = new RankHeap();
        for (int trial = 0; trial < 100; trial++) {
            int n = 1 + rnd.nextInt(trial % 2 == 0 ? 30 : 500);
            heap.reset(n);
            int[] g = new int[n];
            double[] k = new double[n];
            List<Integer> expected = new ArrayList<>();
            for (int i = 0; i < n; i++) {
                g[i] = rnd.nextInt(5);
                k[i] = rnd.nextInt(50);
                heap.set(i, g[i], k[i], 0);
                expected.add(i);
            }
            heap.build();
            expected.sort(Comparator.<Integer>comparingInt(i -> g[i]).thenComparingDouble(i -> k[i])
                    .thenComparingInt(i -> i));
            // Walk the order, passing over the rest of a group after its first member (as a fill
            // that defers a group does), then drain and read every rank.
            List<Integer> walked = new ArrayList<>();
            for (int r = 0; r < heap.size(); r++) {
                int pos = heap.at(r);
                walked.add(pos);
                int end = heap.groupEnd(r);
                assertThat(end).as("end of the group of rank %d", r).isGreaterThan(r);
                assertThat(end == expected.size() || g[expected.get(end)] != g[pos]).isTrue();
                if (rnd.nextBoolean()) {
                    r = end - 1;
                }
            }
            for (int pos : walked) {
                assertThat(expected).contains(pos);
            }
            heap.drain();
            List<Integer> all = new ArrayList<>();
            for (int r = 0; r < heap.size(); r++) {
                all.add(heap.at(r));
            }
            assertThat(all).isEqualTo(expected);
        }
    }
}
