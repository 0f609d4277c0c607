package io.sluice.job.sim;

/**
 * One class's results under one policy. Latencies in milliseconds; a percentile is null when
 * no request of the class produced that measurement (JSON {@code null}, not a made-up zero).
 */
public record ClassReport(
        String name,
        long requests,
        long met,
        double attainment,
        long rejected,
        Double ttftP50,
        Double ttftP90,
        Double ttftP99,
        Double tpotP50,
        Double tpotP90,
        Double tpotP99) {}
