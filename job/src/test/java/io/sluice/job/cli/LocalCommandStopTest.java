package io.sluice.job.cli;

import static org.assertj.core.api.Assertions.assertThat;

import java.time.Duration;
import org.apache.flink.core.execution.JobClient;
import org.apache.flink.streaming.api.environment.StreamExecutionEnvironment;
import org.apache.flink.streaming.api.functions.sink.v2.DiscardingSink;
import org.junit.jupiter.api.Test;

/** Local mode's stop: the broker may only go once the job has ended, not when its cancellation is accepted. */
class LocalCommandStopTest {

    @Test
    void stopReturnsOnceTheJobHasEnded() throws Exception {
        StreamExecutionEnvironment env = StreamExecutionEnvironment.createLocalEnvironment(2);
        env.fromSequence(0, Long.MAX_VALUE).name("endless").sinkTo(new DiscardingSink<>());
        JobClient job = env.executeAsync("stop-test");
        long until = System.nanoTime() + Duration.ofSeconds(60).toNanos();
        while (!job.getJobStatus().get().toString().equals("RUNNING") && System.nanoTime() < until) {
            Thread.sleep(50);
        }
        assertThat(job.getJobStatus().get().toString()).isEqualTo("RUNNING");

        LocalCommand.stop(job, Duration.ofSeconds(60));

        assertThat(job.getJobExecutionResult().isDone()).as("the job has ended when stop returns").isTrue();
    }
}
