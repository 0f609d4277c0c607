package io.sluice.gpu.exec;

import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.locks.LockSupport;

/**
 * Persistent worker threads for the forward pass's many short parallel regions (about 7 per layer). A fork-join
 * task per region costs more than the region itself at batch 1; here starting a region is one atomic write.
 *
 * <p>A region is a number of independent work units; every thread, the caller included, claims units from a shared
 * cursor until none is left. Claiming (instead of a fixed share per thread) keeps a region short when a worker is
 * descheduled on a busy machine: the others take its units, and the caller only waits for units already started.
 * The cursor packs the region's generation and unit count with the next unit, so a late worker cannot claim a unit
 * of a region that has moved on, nor read one region's count with another's generation. Idle workers spin
 * briefly, then park: an idle engine costs no CPU.
 *
 * <p>Not reentrant: one region at a time, driven from one thread.
 */
final class WorkerPool implements AutoCloseable {

    /** One region's work: unit {@code unit} of it, run by thread {@code worker} (0 = the caller). */
    @FunctionalInterface
    interface Task {
        void run(int worker, int unit);
    }

    private static final long SPIN_NANOS = 100_000;
    private static final int UNIT_BITS = 21;
    private static final long UNIT_MASK = (1L << UNIT_BITS) - 1;
    /** Most units a region may have. */
    static final int MAX_UNITS = (int) UNIT_MASK;

    private final int size;
    private final Thread[] threads;
    private final boolean[] parked; // guarded by parkedLock
    private final Object parkedLock = new Object();
    private final AtomicLong cursor = new AtomicLong(); // generation << 42 | units << 21 | next unit
    private final AtomicInteger done = new AtomicInteger();
    private volatile Task task;
    private volatile boolean closed;
    private volatile Throwable failure;
    private int generation;

    WorkerPool(int size, String name) {
        if (size < 1) {
            throw new IllegalArgumentException("threads must be at least 1, got " + size);
        }
        this.size = size;
        this.threads = new Thread[size];
        this.parked = new boolean[size];
        for (int w = 1; w < size; w++) {
            int worker = w;
            Thread t = new Thread(() -> loop(worker), name + "-" + w);
            t.setDaemon(true);
            threads[w] = t;
            t.start();
        }
    }

    int size() {
        return size;
    }

    /** Runs units {@code 0 .. count-1} of {@code t} on all threads, the caller included, and waits for all. */
    void run(Task t, int count) {
        if (closed) {
            throw new IllegalStateException("the worker pool is closed");
        }
        if (count > MAX_UNITS) {
            throw new IllegalArgumentException(count + " units exceed a region's limit of " + MAX_UNITS);
        }
        if (size == 1 || count <= 1) {
            for (int u = 0; u < count; u++) {
                t.run(0, u);
            }
            return;
        }
        task = t;
        done.set(0);
        generation = (generation + 1) & 0x3FFFFF;
        long start = ((long) generation << (2 * UNIT_BITS)) | ((long) count << UNIT_BITS);
        cursor.set(start); // publishes task and done
        wakeParked();
        work(0, start >>> UNIT_BITS, t);
        long spinUntil = System.nanoTime() + SPIN_NANOS;
        int spins = 0;
        while (done.get() != count) {
            // A unit still runs on a worker; if it was descheduled, give it the core rather than burn ours.
            if (++spins % 64 == 0 && System.nanoTime() > spinUntil) {
                Thread.yield();
            } else {
                Thread.onSpinWait();
            }
        }
        task = null;
        Throwable e = failure;
        if (e != null) {
            failure = null;
            if (e instanceof RuntimeException r) {
                throw r;
            }
            if (e instanceof Error err) {
                throw err;
            }
            throw new IllegalStateException(e);
        }
    }

    /**
     * Claims and runs units of {@code region} (generation and unit count) until none is left. Units are claimed a
     * few at a time (about 8 claims per thread and region): every claim moves the cursor's cache line between
     * cores, which at hundreds of units per token would cost more than the balance it buys.
     */
    private void work(int worker, long region, Task t) {
        int count = (int) (region & UNIT_MASK);
        int chunk = Math.max(1, count / (8 * size));
        while (true) {
            long v = cursor.get();
            int unit = (int) (v & UNIT_MASK);
            if (v >>> UNIT_BITS != region || unit >= count) {
                return;
            }
            int claimed = Math.min(chunk, count - unit);
            if (cursor.compareAndSet(v, v + claimed)) {
                try {
                    for (int u = unit; u < unit + claimed; u++) {
                        t.run(worker, u);
                    }
                } catch (Throwable e) {
                    failure = e;
                } finally {
                    done.addAndGet(claimed);
                }
            }
        }
    }

    private void wakeParked() {
        synchronized (parkedLock) {
            for (int w = 1; w < size; w++) {
                if (parked[w]) {
                    LockSupport.unpark(threads[w]);
                }
            }
        }
    }

    private void loop(int worker) {
        long seen = 0;
        while (true) {
            long region = awaitRegion(worker, seen);
            if (closed) {
                return;
            }
            seen = region;
            // A successful claim proves the region is still current, hence that the task read here belongs to it.
            Task t = task;
            if (t != null) {
                work(worker, region, t);
            }
        }
    }

    /** Waits for a region other than {@code seen}; returns its generation and unit count. */
    private long awaitRegion(int worker, long seen) {
        long spinUntil = System.nanoTime() + SPIN_NANOS;
        int spins = 0;
        while (true) {
            long r = cursor.get() >>> UNIT_BITS;
            if (r != seen || closed) {
                return r;
            }
            if (++spins % 256 == 0 && System.nanoTime() > spinUntil) {
                synchronized (parkedLock) {
                    parked[worker] = true;
                }
                // Re-check after announcing: the driver either sees parked or we see its new generation.
                while (cursor.get() >>> UNIT_BITS == seen && !closed) {
                    LockSupport.park(this);
                }
                synchronized (parkedLock) {
                    parked[worker] = false;
                }
                spinUntil = System.nanoTime() + SPIN_NANOS;
            } else {
                Thread.onSpinWait();
            }
        }
    }

    @Override
    public void close() {
        closed = true;
        for (int w = 1; w < size; w++) {
            LockSupport.unpark(threads[w]);
        }
        for (int w = 1; w < size; w++) {
            try {
                threads[w].join(1000);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                return;
            }
        }
    }
}
