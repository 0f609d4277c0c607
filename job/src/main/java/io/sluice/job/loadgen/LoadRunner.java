package io.sluice.job.loadgen;

import io.sluice.job.kafka.KafkaIo;
import io.sluice.job.pipeline.Topics;
import io.sluice.operators.ingest.AvroJson;
import io.sluice.operators.ingest.MalformedRecordException;
import io.sluice.operators.ingest.RequestFormat;
import io.sluice.schemas.DeadLetter;
import io.sluice.schemas.InferenceRequest;
import io.sluice.schemas.RequestMetrics;
import io.sluice.schemas.TokenEvent;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Properties;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Consumer;
import java.util.stream.IntStream;
import org.apache.avro.io.BinaryDecoder;
import org.apache.avro.io.BinaryEncoder;
import org.apache.avro.io.DecoderFactory;
import org.apache.avro.io.EncoderFactory;
import org.apache.avro.specific.SpecificDatumReader;
import org.apache.avro.specific.SpecificDatumWriter;
import org.apache.avro.specific.SpecificRecord;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.apache.kafka.common.serialization.StringSerializer;

/**
 * Sends planned requests to a running job at their planned times and collects what comes back:
 * every token event (to check each request ends exactly once) and every request's metrics. Shows a
 * progress line while it runs and returns a {@link LoadReport}.
 */
public final class LoadRunner {

    private final String bootstrap;
    private final Topics topics;
    private final RequestFormat format;
    private final Properties kafkaProperties;

    public LoadRunner(String bootstrap, Topics topics, RequestFormat format, Properties kafkaProperties) {
        this.bootstrap = bootstrap;
        this.topics = topics;
        this.format = format;
        this.kafkaProperties = kafkaProperties;
    }

    /** What came back for the requests of one run. */
    public static final class Results {
        /** Every token event of the run's requests, in arrival order per request. */
        public final Map<String, List<TokenEvent>> events = new ConcurrentHashMap<>();
        public final Map<String, RequestMetrics> metrics = new ConcurrentHashMap<>();
        /** Requests with a final event. */
        public final Set<String> finished = ConcurrentHashMap.newKeySet();
        /** When each request was sent (epoch ms). */
        public final Map<String, Long> sentAtMs = new ConcurrentHashMap<>();
        /**
         * Per request, its index-0 token's times: when the job emitted it, when the job's producer sent it (the
         * record's Kafka timestamp) and when it reached this client. Index 0, not the first to arrive: under PD separation the first token
         * comes from the prefill instance and the rest from a decode instance, two tasks whose records can reach
         * the client in either order.
         */
        final Map<String, long[]> firstTokenTimes = new ConcurrentHashMap<>();
        volatile long lastFinalAtMs;
        /**
         * Records the job dead-lettered during the run. A dead letter names no request (the job could not read
         * it), so these are counted, not matched: when requests go missing, they are the likely reason.
         */
        final AtomicInteger deadLetters = new AtomicInteger();
        private volatile String firstDeadLetterReason;

        /** Records a dead letter read during the run. */
        void addDeadLetter(String reason) {
            if (deadLetters.getAndIncrement() == 0) {
                firstDeadLetterReason = reason;
            }
        }

        /** What went to the dead-letter {@code topic} during the run, for a run that missed requests. */
        public Optional<String> deadLetterNote(String topic) {
            int n = deadLetters.get();
            return n == 0 ? Optional.empty() : Optional.of(n + (n == 1 ? " record" : " records") + " went to " + topic
                    + " during the run; the first: " + firstDeadLetterReason);
        }

        /** Records a token event of one of the run's requests, read at {@code receivedAtMs}. */
        void add(TokenEvent e, long producedAtMs, long receivedAtMs) {
            events.computeIfAbsent(e.getRequestId(), k -> new ArrayList<>()).add(e);
            if (e.getIndex() == 0 && e.getTokenId() >= 0) { // a token, not a rejection or an expiry
                firstTokenTimes.putIfAbsent(e.getRequestId(),
                        new long[] {e.getEmittedAt().toEpochMilli(), producedAtMs, receivedAtMs});
            }
            if (e.getFinal$()) {
                finished.add(e.getRequestId());
                lastFinalAtMs = receivedAtMs;
            }
        }

        /** Where each request's first token spent its time; none for a request that ended without a token. */
        List<FirstToken> firstTokens() {
            List<FirstToken> firstTokens = new ArrayList<>();
            firstTokenTimes.forEach((id, times) -> {
                Long sent = sentAtMs.get(id);
                if (sent != null) {
                    firstTokens.add(new FirstToken(sent, times[0], times[1], times[2]));
                }
            });
            return firstTokens;
        }
    }

    /** The topic the job writes the records it cannot read to. */
    public String deadLetterTopic() {
        return topics.dlq();
    }

    /** The report of a run and the raw events behind it. */
    public record Outcome(LoadReport report, Results results) {}

    /**
     * Runs the plan and waits until every request has its final event and its metrics, or until
     * {@code drainTimeout} after the last send.
     *
     * @param progress takes the progress line, about once a second and once at the end (null for none)
     */
    public Outcome run(List<PlannedRequest> plan, List<String> classOrder, Duration drainTimeout,
            Consumer<String> progress) throws InterruptedException {
        Results results = new Results();
        Set<String> ids = new HashSet<>();
        plan.forEach(p -> ids.add(p.requestId()));
        AtomicBoolean stop = new AtomicBoolean();
        Thread collector = startCollector(ids, results, stop);
        long startMs = System.currentTimeMillis();
        int sent = 0;
        long lastProgress = 0;
        List<PlannedRequest> ordered = new ArrayList<>(plan);
        ordered.sort(Comparator.comparingDouble(PlannedRequest::sendAtMs));
        try (KafkaProducer<String, byte[]> producer = producer()) {
            for (PlannedRequest p : ordered) {
                long due = startMs + Math.round(p.sendAtMs());
                long now;
                while ((now = System.currentTimeMillis()) < due) {
                    Thread.sleep(Math.min(due - now, 200));
                    lastProgress = progress(progress, lastProgress, sent, plan.size(), results);
                }
                results.sentAtMs.put(p.requestId(), now);
                producer.send(new ProducerRecord<>(topics.requests(), p.requestId(), encode(toRequest(p, now))));
                sent++;
                lastProgress = progress(progress, lastProgress, sent, plan.size(), results);
            }
            producer.flush();
        }
        long drainUntil = System.currentTimeMillis() + drainTimeout.toMillis();
        while (!allIn(results, ids) && System.currentTimeMillis() < drainUntil) {
            Thread.sleep(100);
            lastProgress = progress(progress, lastProgress, sent, plan.size(), results);
        }
        stop.set(true);
        collector.join(10_000);
        progress(progress, 0, sent, plan.size(), results);
        // Goodput's span, as LoadReport documents it: from the first send (a replayed trace may start later than
        // the run) to the last final event.
        long firstSentMs = results.sentAtMs.values().stream().mapToLong(Long::longValue).min().orElse(startMs);
        double seconds = Math.max(0, (Math.max(results.lastFinalAtMs, firstSentMs) - firstSentMs) / 1000.0);
        return new Outcome(new LoadReport(classOrder, plan.size(), new ArrayList<>(results.metrics.values()),
                results.firstTokens(), seconds),
                results);
    }

    private static boolean allIn(Results results, Set<String> ids) {
        return results.finished.size() >= ids.size() && results.metrics.size() >= ids.size();
    }

    private long progress(Consumer<String> out, long lastMs, int sent, int total, Results results) {
        long now = System.currentTimeMillis();
        if (out == null || now - lastMs < 1000) {
            return lastMs;
        }
        long met = results.metrics.values().stream().filter(RequestMetrics::getSloMet).count();
        int done = results.metrics.size();
        String line = String.format("sent %d/%d  finished %d  attainment so far %s%s", sent, total,
                results.finished.size(), done == 0 ? "-" : String.format("%.1f%%", 100.0 * met / done),
                results.deadLetters.get() == 0 ? "" : "  dead-lettered " + results.deadLetters.get());
        out.accept(line);
        return now;
    }

    private InferenceRequest toRequest(PlannedRequest p, long nowMs) {
        var c = p.serviceClass();
        InferenceRequest.Builder b = InferenceRequest.newBuilder()
                .setRequestId(p.requestId())
                .setTenant("default")
                .setPriorityClass(c.name())
                .setPriorityWeight(c.weight())
                .setMaxNewTokens(p.maxNewTokens())
                .setTemperature(p.temperature())
                .setSeed(p.seed())
                .setTtftSloMs(Workload.slo(c.ttftMs()))
                .setTpotSloMs(Workload.slo(c.tpotMs()))
                .setSubmittedAt(Instant.ofEpochMilli(nowMs));
        Long deadline = Workload.deadline(c, nowMs);
        if (deadline != null) {
            b.setDeadline(Instant.ofEpochMilli(deadline));
        }
        if (p.prompt() != null) {
            b.setPrompt(p.prompt());
        } else {
            b.setPromptTokenIds(IntStream.of(p.promptTokenIds()).boxed().toList());
        }
        return b.build();
    }

    private byte[] encode(SpecificRecord record) {
        if (format == RequestFormat.JSON) {
            return AvroJson.toJson(record);
        }
        try {
            ByteArrayOutputStream bytes = new ByteArrayOutputStream();
            BinaryEncoder encoder = EncoderFactory.get().binaryEncoder(bytes, null);
            new SpecificDatumWriter<>(record.getSchema()).write(record, encoder);
            encoder.flush();
            return bytes.toByteArray();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** Decodes records of the run's format; one per collector thread, as it keeps decoding state. */
    private final class RecordDecoder {
        private final Map<Class<?>, SpecificDatumReader<?>> readers = new HashMap<>();
        private BinaryDecoder decoder;

        <T extends SpecificRecord> T decode(byte[] value, Class<T> type) {
            return decode(value, type, format);
        }

        <T extends SpecificRecord> T decode(byte[] value, Class<T> type, RequestFormat format) {
            try {
                if (format == RequestFormat.JSON) {
                    return AvroJson.fromJson(AvroJson.parseObject(value), type);
                }
                // One reader per type, kept: building one resolves the schema, which costs more than a decode,
                // and the collector decodes every token of the run on one thread.
                @SuppressWarnings("unchecked")
                SpecificDatumReader<T> reader =
                        (SpecificDatumReader<T>) readers.computeIfAbsent(type, SpecificDatumReader::new);
                decoder = DecoderFactory.get().binaryDecoder(value, decoder);
                return reader.read(null, decoder);
            } catch (IOException | MalformedRecordException | RuntimeException e) {
                return null; // not ours to judge: a record another writer put on the topic
            }
        }
    }

    private Thread startCollector(Set<String> ids, Results results, AtomicBoolean stop) throws InterruptedException {
        Properties props = new Properties();
        props.putAll(kafkaProperties);
        props.put(ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap);
        props.put(ConsumerConfig.ENABLE_AUTO_COMMIT_CONFIG, "false");
        KafkaConsumer<byte[], byte[]> consumer =
                new KafkaConsumer<>(props, new ByteArrayDeserializer(), new ByteArrayDeserializer());
        // Read only what arrives from now on: start at the current end of both topics.
        List<TopicPartition> partitions = new ArrayList<>();
        // The dead-letter topic too, where it exists: requests the job cannot read (another --format) end there.
        for (String topic : List.of(topics.tokens(), topics.metrics(), topics.dlq())) {
            consumer.partitionsFor(topic, Duration.ofSeconds(30))
                    .forEach(info -> partitions.add(new TopicPartition(topic, info.partition())));
        }
        consumer.assign(partitions);
        consumer.seekToEnd(partitions);
        partitions.forEach(consumer::position); // resolve the end offsets before anything is sent
        RecordDecoder decoder = new RecordDecoder();
        Thread thread = new Thread(() -> {
            try (consumer) {
                while (!stop.get()) {
                    var records = consumer.poll(Duration.ofMillis(100));
                    // One clock reading per poll: the records of a poll arrived together.
                    long received = System.currentTimeMillis();
                    for (ConsumerRecord<byte[], byte[]> record : records) {
                        if (record.topic().equals(topics.dlq())) {
                            // Written in the job's format, which is the question when requests go there.
                            DeadLetter d = decoder.decode(record.value(), DeadLetter.class);
                            if (d == null) {
                                d = decoder.decode(record.value(), DeadLetter.class,
                                        format == RequestFormat.JSON ? RequestFormat.AVRO : RequestFormat.JSON);
                            }
                            results.addDeadLetter(d == null ? "(unreadable)" : d.getReason());
                        } else if (record.topic().equals(topics.tokens())) {
                            TokenEvent e = decoder.decode(record.value(), TokenEvent.class);
                            if (e != null && ids.contains(e.getRequestId())) {
                                results.add(e, record.timestamp(), received);
                            }
                        } else {
                            RequestMetrics m = decoder.decode(record.value(), RequestMetrics.class);
                            if (m != null && ids.contains(m.getRequestId())) {
                                results.metrics.put(m.getRequestId(), m);
                            }
                        }
                    }
                }
            }
        }, "loadgen-collector");
        thread.setDaemon(true);
        thread.start();
        return thread;
    }

    private KafkaProducer<String, byte[]> producer() {
        Properties props = KafkaIo.producerProperties(kafkaProperties);
        props.put(ProducerConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap);
        props.putIfAbsent(ProducerConfig.ACKS_CONFIG, "all");
        return new KafkaProducer<>(props, new StringSerializer(), new ByteArraySerializer());
    }
}
