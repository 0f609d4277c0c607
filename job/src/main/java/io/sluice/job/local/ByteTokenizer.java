package io.sluice.job.local;

import java.io.IOException;
import java.io.OutputStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.util.concurrent.ThreadLocalRandom;

/**
 * Writes a byte-level tokenizer in llama2.c's format for a vocabulary of any size: {@code <unk>},
 * BOS, EOS, the 256 byte pieces {@code <0x00>..<0xFF>} at ids 3..258 (as in Llama 2), and unused
 * pieces for the rest. Text encodes to its UTF-8 bytes and decodes back exactly. It is what
 * {@code sluice local} uses with a synthetic model when no real tokenizer is given: the Llama 2
 * tokenizer is not distributed with the project.
 */
public final class ByteTokenizer {

    private ByteTokenizer() {}

    public static void write(Path file, int vocabSize) throws IOException {
        if (vocabSize < 259) {
            throw new IllegalArgumentException("a byte-level tokenizer needs a vocabulary of at least 259, got " + vocabSize);
        }
        byte[][] pieces = new byte[vocabSize][];
        pieces[0] = "<unk>".getBytes(StandardCharsets.UTF_8);
        pieces[1] = "\n<s>\n".getBytes(StandardCharsets.UTF_8);
        pieces[2] = "\n</s>\n".getBytes(StandardCharsets.UTF_8);
        for (int b = 0; b < 256; b++) {
            pieces[3 + b] = String.format("<0x%02X>", b).getBytes(StandardCharsets.UTF_8);
        }
        for (int i = 259; i < vocabSize; i++) {
            pieces[i] = ("<unused" + i + ">").getBytes(StandardCharsets.UTF_8);
        }
        int maxLength = 0;
        for (byte[] p : pieces) {
            maxLength = Math.max(maxLength, p.length);
        }
        // A part file of this writer's own, renamed into place at once: two `sluice local` runs starting together
        // both write the cached tokenizer, and through one shared part name each truncated and moved the other's.
        Path tmp = file.toAbsolutePath().resolveSibling(file.getFileName() + "."
                + Long.toHexString(ThreadLocalRandom.current().nextLong()) + ".part");
        try {
            try (OutputStream out = Files.newOutputStream(tmp, StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE)) {
                out.write(le(maxLength));
                for (byte[] p : pieces) {
                    out.write(ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN).putFloat(0f).putInt(p.length).array());
                    out.write(p);
                }
            }
            Files.move(tmp, file, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
        } finally {
            Files.deleteIfExists(tmp);
        }
    }

    private static byte[] le(int v) {
        return ByteBuffer.allocate(4).order(ByteOrder.LITTLE_ENDIAN).putInt(v).array();
    }
}
