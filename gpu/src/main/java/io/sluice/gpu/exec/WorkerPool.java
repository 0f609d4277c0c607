package io.sluice.gpu.exec;

import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.locks.LockSupport;

/**
 * Persistent worker threads for the forward pass's many short parallel regions (about 7 per layer). A fork-join
 * task per region costs more than the region itself at batch 1; here a region is one volatile write to start and
 * a spin on a counter to finish. Idle workers spin briefly, then park, so an idle engine costs no CPU.
 *
 * <p>The calling thread is worker 0 and does its share; {@link #run} returns when every worker has finished.
 * Not reentrant: one region at a time, from one driving thread.
 */
final class WorkerPool implements AutoCloseable {

    /** One parallel region: worker {@code worker} of {@code workers} does its share. */
    @FunctionalInterface
    interface Task {
        void run(int worker, int workers);
    }

    private static final long SPIN_NANOS = 200_000;

    private final int size;
    private final Thread[] threads;
    private final boolean[] parked;
    private final AtomicInteger pending = new AtomicInteger();
    private volatile Task task;
    private volatile int generation;
    private volatile boolean closed;
    private volatile Throwable failure;
    private final Object parkedLock = new Object();

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

    /** Runs {@code t} on every worker, the caller included, and waits for all. */
    void run(Task t) {
        if (closed) {
            throw new IllegalStateException("the worker pool is closed");
        }
        if (size == 1) {
            t.run(0, 1);
            return;
        }
        task = t;
        pending.set(size - 1);
        generation = generation + 1; // publishes task and pending
        wakeParked();
        Throwable mine = null;
        try {
            t.run(0, size);
        } catch (Throwable e) {
            mine = e;
        }
        while (pending.get() != 0) {
            Thread.onSpinWait();
        }
        task = null;
        Throwable theirs = failure;
        failure = null;
        if (mine != null || theirs != null) {
            Throwable e = mine != null ? mine : theirs;
            if (e instanceof RuntimeException r) {
                throw r;
            }
            if (e instanceof Error err) {
                throw err;
            }
            throw new IllegalStateException(e);
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
        int seen = 0;
        while (true) {
            int g = awaitGeneration(worker, seen);
            if (closed) {
                return;
            }
            seen = g;
            try {
                task.run(worker, size);
            } catch (Throwable e) {
                failure = e;
            } finally {
                pending.decrementAndGet();
            }
        }
    }

    private int awaitGeneration(int worker, int seen) {
        long spinUntil = System.nanoTime() + SPIN_NANOS;
        int spins = 0;
        while (true) {
            int g = generation;
            if (g != seen || closed) {
                return g;
            }
            if (++spins % 256 == 0 && System.nanoTime() > spinUntil) {
                synchronized (parkedLock) {
                    parked[worker] = true;
                }
                // Re-check after announcing: the driver either sees parked or we see its new generation.
                while (generation == seen && !closed) {
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
