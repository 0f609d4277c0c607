package io.sluice.operators;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

import java.util.HashMap;
import java.util.Map;
import org.apache.flink.metrics.Gauge;
import org.apache.flink.metrics.Metric;
import org.apache.flink.metrics.groups.UnregisteredMetricsGroup;
import org.junit.jupiter.api.Test;

/** The estimator gauges: the last batch's signed error, and the running mean absolute error. */
class InstanceMetricsTest {

    /** Keeps what is registered, so a test can read a gauge as a reporter would. */
    private static final class Recording extends UnregisteredMetricsGroup {
        final Map<String, Metric> metrics = new HashMap<>();

        @Override
        public <T, G extends Gauge<T>> G gauge(String name, G gauge) {
            metrics.put(name, gauge);
            return gauge;
        }

        double read(String name) {
            return ((Number) ((Gauge<?>) metrics.get(name)).getValue()).doubleValue();
        }
    }

    @Test
    void mapeIsThePlainMeanOfAbsoluteErrorsUntilTheWindowFills() {
        Recording group = new Recording();
        InstanceMetrics m = new InstanceMetrics(group);
        m.batch(1, 1, 1.0, 10);
        m.batch(1, 1, 1.0, -30);
        m.batch(1, 1, 1.0, 20);
        assertThat(group.read("estimatorErrorPercent")).isEqualTo(20.0);
        assertThat(group.read("estimatorMapePercent")).isCloseTo(20.0, within(1e-9));
    }

    @Test
    void oldErrorsFadeOnceTheWindowIsFull() {
        Recording group = new Recording();
        InstanceMetrics m = new InstanceMetrics(group);
        for (int i = 0; i < InstanceMetrics.MAPE_BATCHES; i++) {
            m.batch(1, 1, 1.0, 500); // a prior far from the machine
        }
        for (int i = 0; i < 5 * InstanceMetrics.MAPE_BATCHES; i++) {
            m.batch(1, 1, 1.0, -2); // after the refits
        }
        assertThat(group.read("estimatorMapePercent")).as("500 %% errors have faded").isLessThan(6.0);
    }
}
