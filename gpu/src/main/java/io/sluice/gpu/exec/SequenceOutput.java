package io.sluice.gpu.exec;

/**
 * What one chunk produced.
 *
 * @param sequenceId the sequence
 * @param position   the position of {@code nextToken} in the sequence (= tokens now cached)
 * @param nextToken  the picked token, or -1 when the chunk asked for no output
 * @param logits     the logits {@code nextToken} was picked from (before sampling changed them), or null
 */
public record SequenceOutput(long sequenceId, int position, int nextToken, float[] logits) {
}
