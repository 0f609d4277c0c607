package io.sluice.operators;

import static org.assertj.core.api.Assertions.assertThat;

import io.sluice.gpu.exec.Chunk;
import io.sluice.gpu.kv.BlockTable;
import io.sluice.gpu.sampling.SamplingParams;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.stream.IntStream;
import org.junit.jupiter.api.Test;

class EngineCallsTest {

    private static Chunk chunk(long seq, int tokens, Chunk.Output output) {
        return new Chunk(new BlockTable(seq), IntStream.range(0, tokens).toArray(), SamplingParams.GREEDY, output);
    }

    @Test
    void callsRespectLimitsKeepOrderAndOnlyTheLastPieceAsksForAToken() {
        List<Chunk> batch = List.of(chunk(1, 250, Chunk.Output.TOKEN), chunk(2, 30, Chunk.Output.NONE),
                chunk(3, 1, Chunk.Output.TOKEN), chunk(4, 1, Chunk.Output.TOKEN), chunk(5, 1, Chunk.Output.TOKEN),
                chunk(6, 100, Chunk.Output.TOKEN));
        List<List<Chunk>> calls = EngineCalls.split(batch, 100, 3);
        List<Integer> tokensPerSequence = new ArrayList<>();
        long lastSeq = -1;
        for (List<Chunk> call : calls) {
            assertThat(call.stream().mapToInt(c -> c.tokens().length).sum()).isLessThanOrEqualTo(100);
            assertThat(call).hasSizeLessThanOrEqualTo(3);
            Set<Long> seqs = new HashSet<>();
            for (Chunk c : call) {
                assertThat(seqs.add(c.sequenceId())).as("a sequence once per call").isTrue();
                if (c.sequenceId() == lastSeq) {
                    tokensPerSequence.set(tokensPerSequence.size() - 1, tokensPerSequence.get(tokensPerSequence.size() - 1) + c.tokens().length);
                } else {
                    tokensPerSequence.add(c.tokens().length);
                }
                lastSeq = c.sequenceId();
            }
        }
        assertThat(tokensPerSequence).containsExactly(250, 30, 1, 1, 1, 100);
        List<Chunk> pieces = calls.stream().flatMap(List::stream).filter(c -> c.sequenceId() == 1).toList();
        assertThat(pieces).extracting(c -> c.tokens().length).containsExactly(100, 100, 50);
        assertThat(pieces).extracting(Chunk::output).containsExactly(Chunk.Output.NONE, Chunk.Output.NONE, Chunk.Output.TOKEN);
        assertThat(pieces.get(2).tokens()[0]).isEqualTo(200);
    }

    @Test
    void aBatchWithinLimitsIsOneCall() {
        List<Chunk> batch = List.of(chunk(1, 40, Chunk.Output.TOKEN), chunk(2, 1, Chunk.Output.TOKEN));
        assertThat(EngineCalls.split(batch, 64, 8)).containsExactly(batch);
    }
}
