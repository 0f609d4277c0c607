package io.sluice.operators.ingest;

/**
 * A Kafka record value as it arrived, with where it came from, so that a record the job cannot
 * read can be sent to the dead-letter topic byte for byte. A Flink POJO.
 */
public final class RawRecord {
    public byte[] value;
    public String topic;
    public int partition;
    public long offset;
    /** The record's Kafka timestamp, epoch millis. */
    public long timestamp;

    public RawRecord() {}

    public RawRecord(byte[] value, String topic, int partition, long offset, long timestamp) {
        this.value = value;
        this.topic = topic;
        this.partition = partition;
        this.offset = offset;
        this.timestamp = timestamp;
    }
}
