package io.sluice.gpu.exec;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.concurrent.atomic.AtomicIntegerArray;
import org.junit.jupiter.api.Test;

/** The worker pool runs every unit of every region exactly once, on any number of threads. */
class WorkerPoolTest {

    @Test
    void everyUnitRunsExactlyOnceAcrossManyRegions() {
        for (int threads = 1; threads <= 3; threads++) {
            try (WorkerPool pool = new WorkerPool(threads, "test")) {
                for (int region = 0; region < 2000; region++) {
                    int units = region % 37;
                    AtomicIntegerArray runs = new AtomicIntegerArray(Math.max(units, 1));
                    pool.run((worker, unit) -> runs.incrementAndGet(unit), units);
                    for (int u = 0; u < units; u++) {
                        assertThat(runs.get(u)).as("unit %d of region %d, %d threads", u, region, threads)
                                .isEqualTo(1);
                    }
                }
            }
        }
    }

    @Test
    void aFailingUnitIsRethrownAndThePoolStaysUsable() {
        try (WorkerPool pool = new WorkerPool(2, "test")) {
            assertThatThrownBy(() -> pool.run((worker, unit) -> {
                if (unit == 5) {
                    throw new IllegalStateException("unit 5 failed");
                }
            }, 10)).hasMessage("unit 5 failed");
            AtomicIntegerArray runs = new AtomicIntegerArray(8);
            pool.run((worker, unit) -> runs.incrementAndGet(unit), 8);
            for (int u = 0; u < 8; u++) {
                assertThat(runs.get(u)).isEqualTo(1);
            }
        }
    }

    @Test
    void workersParkWhenIdleAndWakeForTheNextRegion() throws InterruptedException {
        try (WorkerPool pool = new WorkerPool(2, "test")) {
            Thread.sleep(5); // longer than the spin phase: the worker parks
            AtomicIntegerArray runs = new AtomicIntegerArray(64);
            pool.run((worker, unit) -> runs.incrementAndGet(unit), 64);
            for (int u = 0; u < 64; u++) {
                assertThat(runs.get(u)).isEqualTo(1);
            }
        }
    }
}
