package io.sluice.job.loadgen;

import static org.assertj.core.api.Assertions.assertThat;

import io.sluice.schemas.FinishReason;
import io.sluice.schemas.TokenEvent;
import java.time.Instant;
import org.junit.jupiter.api.Test;

/** What the load generator's collector keeps of the token events it reads. */
class LoadRunnerResultsTest {

    private static TokenEvent token(String id, int index, int tokenId, boolean last, long emittedAtMs) {
        return TokenEvent.newBuilder().setRequestId(id).setIndex(index).setTokenId(tokenId).setText("t")
                .setFinal$(last).setFinishReason(last ? FinishReason.LENGTH : null)
                .setEmittedAt(Instant.ofEpochMilli(emittedAtMs)).build();
    }

    @Test
    void firstTokenIsIndexZeroEvenWhenALaterTokenArrivesFirst() {
        // Under PD separation the prefill instance writes token 0 and a decode instance the rest: token 1 can
        // reach the client first.
        LoadRunner.Results results = new LoadRunner.Results();
        results.sentAtMs.put("r", 1000L);
        results.add(token("r", 1, 7, false, 1050), 1052, 1060);
        results.add(token("r", 0, 5, false, 1030), 1040, 1070);
        results.add(token("r", 2, 9, true, 1080), 1081, 1090);

        assertThat(results.firstTokens()).containsExactly(new FirstToken(1000, 1030, 1040, 1070));
        assertThat(results.finished).containsExactly("r");
        assertThat(results.events.get("r")).extracting(TokenEvent::getIndex).as("arrival order").containsExactly(1, 0, 2);
    }

    @Test
    void deadLettersOfTheRunAreCountedWithTheFirstReason() {
        LoadRunner.Results results = new LoadRunner.Results();
        assertThat(results.deadLetterNote("sluice.dlq")).isEmpty();
        results.addDeadLetter("not valid JSON: x; it looks binary (Avro?), and this job reads JSON");
        results.addDeadLetter("not valid JSON: y");

        assertThat(results.deadLetterNote("sluice.dlq")).hasValue("2 records went to sluice.dlq during the run; "
                + "the first: not valid JSON: x; it looks binary (Avro?), and this job reads JSON");
    }

    @Test
    void aRequestRejectedWithoutATokenHasNoFirstToken() {
        LoadRunner.Results results = new LoadRunner.Results();
        results.sentAtMs.put("r", 1000L);
        results.add(token("r", 0, -1, true, 1010), 1011, 1020);

        assertThat(results.firstTokens()).isEmpty();
        assertThat(results.finished).containsExactly("r");
    }
}
