package io.sluice.operators;

import io.sluice.gpu.exec.Chunk;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * Cuts one scheduled batch into executor calls within the executor's limits (tokens and chunks per call). A
 * scheduler's batch may be larger than one call of the engine takes (policies count tokens for the whole
 * batch); the tokens do not depend on how the batch is cut, because the engine is batch-invariant. A chunk
 * longer than a call is cut into consecutive pieces that go to consecutive calls (one sequence appears at most
 * once per call); only its last piece asks for the next token.
 */
final class EngineCalls {

    private EngineCalls() {
    }

    /** The calls, in order, that together run {@code chunks}. */
    static List<List<Chunk>> split(List<Chunk> chunks, int maxTokens, int maxChunks) {
        if (maxTokens < 1 || maxChunks < 1) {
            throw new IllegalArgumentException("executor limits must be >= 1, got " + maxTokens + " tokens and "
                    + maxChunks + " chunks");
        }
        List<List<Chunk>> calls = new ArrayList<>();
        List<Chunk> call = new ArrayList<>();
        int callTokens = 0;
        for (Chunk chunk : chunks) {
            int[] tokens = chunk.tokens();
            for (int from = 0; from < tokens.length; from += maxTokens) {
                int to = Math.min(tokens.length, from + maxTokens);
                Chunk piece = from == 0 && to == tokens.length ? chunk
                        : new Chunk(chunk.table(), Arrays.copyOfRange(tokens, from, to), chunk.sampling(),
                                to == tokens.length ? chunk.output() : Chunk.Output.NONE);
                int n = to - from;
                // A later piece of the same sequence must not share a call with the earlier one: only the first
                // piece can join a call that has room, the others start full-sized calls of their own.
                if (!call.isEmpty() && (callTokens + n > maxTokens || call.size() == maxChunks || from > 0)) {
                    calls.add(call);
                    call = new ArrayList<>();
                    callTokens = 0;
                }
                call.add(piece);
                callTokens += n;
            }
        }
        if (!call.isEmpty()) {
            calls.add(call);
        }
        return calls;
    }
}
