package io.sluice.operators.ingest;

/** An input record that cannot be read; its message is the dead-letter reason a person reads. */
public final class MalformedRecordException extends Exception {
    private static final long serialVersionUID = 1L;

    public MalformedRecordException(String reason) {
        super(reason);
    }
}
