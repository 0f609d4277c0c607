package io.sluice.operators.ingest;

import java.io.EOFException;
import java.io.IOException;
import java.nio.ByteBuffer;
import org.apache.avro.io.Decoder;
import org.apache.avro.util.Utf8;

/**
 * An Avro decoder over one record's bytes that refuses a length the record cannot hold: a string or bytes value
 * longer than the record, or an array or map block of more items than it has bytes (every item of the request's
 * arrays takes at least one). Avro allocates for the length a value or block claims before it reads a byte of it:
 * a few garbage bytes claiming 2 GiB of text or a billion prompt token ids ran the ingest task out of memory. A
 * true length fits in the record, so a longer one ends the read as a malformed record. Everything else is the
 * wrapped decoder's.
 */
final class BoundedDecoder extends Decoder {
    private final Decoder in;
    private final int recordBytes;

    BoundedDecoder(Decoder in, int recordBytes) {
        this.in = in;
        this.recordBytes = recordBytes;
    }

    private int length() throws IOException {
        long length = in.readLong();
        if (length < 0 || length > recordBytes) {
            throw new EOFException("a value of " + length + " bytes in a record of " + recordBytes);
        }
        return (int) length;
    }

    /** The item count of an array or map block, as the wrapped decoder read it, if the record can hold it. */
    private long items(long count) throws IOException {
        if (count > recordBytes) {
            throw new EOFException("a block of " + count + " items in a record of " + recordBytes + " bytes");
        }
        return count;
    }

    @Override
    public Utf8 readString(Utf8 old) throws IOException {
        int length = length();
        Utf8 s = old != null ? old : new Utf8();
        s.setByteLength(length);
        in.readFixed(s.getBytes(), 0, length);
        return s;
    }

    @Override
    public String readString() throws IOException {
        return readString(null).toString();
    }

    @Override
    public ByteBuffer readBytes(ByteBuffer old) throws IOException {
        byte[] bytes = new byte[length()];
        in.readFixed(bytes, 0, bytes.length);
        return ByteBuffer.wrap(bytes);
    }

    @Override
    public void readNull() throws IOException {
        in.readNull();
    }

    @Override
    public boolean readBoolean() throws IOException {
        return in.readBoolean();
    }

    @Override
    public int readInt() throws IOException {
        return in.readInt();
    }

    @Override
    public long readLong() throws IOException {
        return in.readLong();
    }

    @Override
    public float readFloat() throws IOException {
        return in.readFloat();
    }

    @Override
    public double readDouble() throws IOException {
        return in.readDouble();
    }

    @Override
    public void skipString() throws IOException {
        in.skipString();
    }

    @Override
    public void skipBytes() throws IOException {
        in.skipBytes();
    }

    @Override
    public void readFixed(byte[] bytes, int start, int length) throws IOException {
        in.readFixed(bytes, start, length);
    }

    @Override
    public void skipFixed(int length) throws IOException {
        in.skipFixed(length);
    }

    @Override
    public int readEnum() throws IOException {
        return in.readEnum();
    }

    @Override
    public long readArrayStart() throws IOException {
        return items(in.readArrayStart());
    }

    @Override
    public long arrayNext() throws IOException {
        return items(in.arrayNext());
    }

    @Override
    public long skipArray() throws IOException {
        return in.skipArray();
    }

    @Override
    public long readMapStart() throws IOException {
        return items(in.readMapStart());
    }

    @Override
    public long mapNext() throws IOException {
        return items(in.mapNext());
    }

    @Override
    public long skipMap() throws IOException {
        return in.skipMap();
    }

    @Override
    public int readIndex() throws IOException {
        return in.readIndex();
    }
}
