package io.sluice.gpu.tokenizer;

import java.nio.ByteBuffer;
import java.nio.CharBuffer;
import java.nio.charset.CharsetDecoder;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;

/**
 * Turns decoded token bytes into text as tokens arrive: a UTF-8 character split over several byte-fallback tokens
 * is held back until it is complete. Invalid bytes become U+FFFD.
 */
public final class TextStream {

    private final CharsetDecoder decoder = StandardCharsets.UTF_8.newDecoder()
            .onMalformedInput(CodingErrorAction.REPLACE).onUnmappableCharacter(CodingErrorAction.REPLACE);
    private ByteBuffer pending = ByteBuffer.allocate(64);

    /** The text that {@code bytes} complete (possibly empty). */
    public String push(byte[] bytes) {
        if (pending.remaining() < bytes.length) {
            ByteBuffer bigger = ByteBuffer.allocate(Math.max(pending.capacity() * 2, pending.position() + bytes.length));
            pending.flip();
            bigger.put(pending);
            pending = bigger;
        }
        pending.put(bytes);
        pending.flip();
        CharBuffer out = CharBuffer.allocate(pending.remaining() + 1);
        decoder.decode(pending, out, false);
        pending.compact();
        return out.flip().toString();
    }

    /** The text of any bytes still held back (an incomplete character becomes U+FFFD). */
    public String finish() {
        pending.flip();
        CharBuffer out = CharBuffer.allocate(pending.remaining() + 2);
        decoder.decode(pending, out, true);
        decoder.flush(out);
        pending.clear();
        decoder.reset();
        return out.flip().toString();
    }
}
