package io.sluice.operators.ingest;

/** How records on the Kafka topics are encoded. */
public enum RequestFormat {
    /** Avro binary of the schemas' records (the default; compact, typed). */
    AVRO,
    /** Plain JSON objects with the schemas' field names, for people and scripts. */
    JSON
}
