package io.sluice.operators;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.zip.CRC32C;

/**
 * Which model file an instance runs: its length and the CRC32C of its bytes. A KV handoff carries its prefill
 * instance's, so a decode instance can tell KV of another model (a TaskManager with another file at the model's
 * path, of the same shape or not) from its own. Reading the file costs a fraction of the engine's warm-up.
 */
final class ModelFingerprint {

    private ModelFingerprint() {}

    static long of(Path file) {
        CRC32C crc = new CRC32C();
        ByteBuffer buffer = ByteBuffer.allocateDirect(1 << 20);
        try (FileChannel in = FileChannel.open(file, StandardOpenOption.READ)) {
            while (in.read(buffer) >= 0) {
                buffer.flip();
                crc.update(buffer);
                buffer.clear();
            }
            return in.size() << 32 ^ crc.getValue();
        } catch (IOException e) {
            throw new UncheckedIOException("cannot read the model file " + file, e);
        }
    }
}
