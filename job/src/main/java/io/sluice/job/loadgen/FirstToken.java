package io.sluice.job.loadgen;

/**
 * Where a request's first token spent its time on the way to the client, from four clocks of one
 * machine (epoch ms): the client's send, the job's emission (the token event's {@code emitted_at}),
 * the job's Kafka producer handing it over (the token record's Kafka timestamp, set at send), and
 * the client reading it. On one host the clocks agree; across hosts only {@link #clientMs()} holds.
 */
public record FirstToken(long sentAtMs, long emittedAtMs, long producedAtMs, long receivedAtMs) {

    /** Send to first token read back: what a user waits. */
    public long clientMs() {
        return receivedAtMs - sentAtMs;
    }

    /** Send to the job's emission: the request's way in through Kafka, and the job. */
    public long jobMs() {
        return emittedAtMs - sentAtMs;
    }

    /** Emission to the job's producer sending it: the hop into the sink (buffer timeout, chaining). */
    public long toSinkMs() {
        return producedAtMs - emittedAtMs;
    }

    /** The producer's send to the client's read: producer batching, broker, consumer fetch. */
    public long throughKafkaMs() {
        return receivedAtMs - producedAtMs;
    }
}
