package io.sluice.job.bench;

import io.sluice.operators.ingest.AdmittedRequest;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Collection;
import java.util.List;
import java.util.Queue;
import java.util.concurrent.locks.LockSupport;
import org.apache.flink.api.common.functions.OpenContext;
import org.apache.flink.api.common.functions.RichMapFunction;
import org.apache.flink.api.connector.source.Boundedness;
import org.apache.flink.api.connector.source.SplitEnumerator;
import org.apache.flink.api.connector.source.SplitEnumeratorContext;
import org.apache.flink.api.connector.source.lib.NumberSequenceSource;

/**
 * The benchmark's input: request numbers {@code 0..n-1} from a source that then stays open, and the
 * admitted request each number stands for. It must stay open: when a bounded source ends, Flink
 * finishes the operators downstream and drops their pending processing-time timers, and the
 * instance operator runs every batch from such a timer. The benchmark cancels the job once every
 * request has finished.
 */
final class GeneratedRequests {

    private GeneratedRequests() {}

    /** Numbers {@code 0..n-1}, then nothing, without ending. */
    static final class OpenSequenceSource extends NumberSequenceSource {
        private static final long serialVersionUID = 1L;

        OpenSequenceSource(long n) {
            super(0, n - 1);
        }

        @Override
        public Boundedness getBoundedness() {
            return Boundedness.CONTINUOUS_UNBOUNDED;
        }

        @Override
        public SplitEnumerator<NumberSequenceSplit, Collection<NumberSequenceSplit>> createEnumerator(
                SplitEnumeratorContext<NumberSequenceSplit> context) {
            return new OpenEnumerator(context, splitNumberRange(getFrom(), getTo(), context.currentParallelism()));
        }

        @Override
        public SplitEnumerator<NumberSequenceSplit, Collection<NumberSequenceSplit>> restoreEnumerator(
                SplitEnumeratorContext<NumberSequenceSplit> context, Collection<NumberSequenceSplit> checkpoint) {
            return new OpenEnumerator(context, checkpoint);
        }
    }

    /**
     * Hands out the ranges one per request, and when none is left answers nothing: the reader then waits
     * for a split that never comes (idle, not spinning) instead of ending.
     */
    private static final class OpenEnumerator
            implements SplitEnumerator<NumberSequenceSource.NumberSequenceSplit,
                    Collection<NumberSequenceSource.NumberSequenceSplit>> {
        private final SplitEnumeratorContext<NumberSequenceSource.NumberSequenceSplit> context;
        private final Queue<NumberSequenceSource.NumberSequenceSplit> remaining;

        OpenEnumerator(SplitEnumeratorContext<NumberSequenceSource.NumberSequenceSplit> context,
                Collection<NumberSequenceSource.NumberSequenceSplit> splits) {
            this.context = context;
            this.remaining = new ArrayDeque<>(splits);
        }

        @Override
        public void start() {}

        @Override
        public void handleSplitRequest(int subtaskId, String requesterHostname) {
            NumberSequenceSource.NumberSequenceSplit split = remaining.poll();
            if (split != null) {
                context.assignSplit(split, subtaskId);
            }
        }

        @Override
        public void addSplitsBack(List<NumberSequenceSource.NumberSequenceSplit> splits, int subtaskId) {
            remaining.addAll(splits);
        }

        @Override
        public void addReader(int subtaskId) {
            // Readers ask for splits themselves.
        }

        @Override
        public Collection<NumberSequenceSource.NumberSequenceSplit> snapshotState(long checkpointId) {
            return new ArrayList<>(remaining);
        }

        @Override
        public void close() {}
    }

    /**
     * Request number {@code i}: a fixed-length prompt of ids inside the vocabulary, BOS first, a fixed output
     * length, no SLOs (a flood queues far beyond any TTFT target), routed to instance {@code i mod instances},
     * submitted when it is made. At a fixed rate, request {@code i} is made {@code i / rate} s after the first
     * (the source's thread waits for it: it runs no other operator); at rate 0, as fast as they are taken.
     */
    static final class ToRequest extends RichMapFunction<Long, AdmittedRequest> {
        private static final long serialVersionUID = 1L;
        private final int instances;
        private final int promptTokens;
        private final int maxNewTokens;
        private final int vocabSize;
        private final double rate;
        private static final long RATE_START_DELAY_NANOS = 2_000_000_000L;
        private transient long startNanos;

        ToRequest(int instances, int promptTokens, int maxNewTokens, int vocabSize, double rate) {
            this.instances = instances;
            this.promptTokens = promptTokens;
            this.maxNewTokens = maxNewTokens;
            this.vocabSize = vocabSize;
            this.rate = rate;
        }

        @Override
        public void open(OpenContext openContext) {
            // At a rate, the first request waits a moment: the instances' tasks start alongside this one, and what
            // is made before they run would finish in one burst, above the rate (measured: ~0.5 s of requests on
            // a loaded 2-core machine).
            startNanos = System.nanoTime() + (rate > 0 ? RATE_START_DELAY_NANOS : 0);
        }

        @Override
        public AdmittedRequest map(Long i) {
            if (rate > 0) {
                long wait = startNanos + (long) (i * 1e9 / rate) - System.nanoTime();
                if (wait > 0) {
                    LockSupport.parkNanos(wait);
                }
            }
            AdmittedRequest r = new AdmittedRequest();
            r.requestId = "bench-" + i;
            r.tenant = "bench";
            r.priorityClass = "standard";
            r.weight = 1.0;
            r.promptTokens = new int[promptTokens];
            r.promptTokens[0] = 1; // BOS
            for (int t = 1; t < promptTokens; t++) {
                r.promptTokens[t] = 3 + (int) ((i * 31 + t) % (vocabSize - 3));
            }
            r.maxNewTokens = maxNewTokens;
            r.temperature = 0f;
            r.topP = 1f;
            r.seed = i;
            r.submittedAtMs = System.currentTimeMillis();
            r.instance = (int) (i % instances);
            return r;
        }
    }
}
