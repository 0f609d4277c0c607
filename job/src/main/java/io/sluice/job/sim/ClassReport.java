package io.sluice.job.sim;

/**
 * One class's results under one policy. {@code infeasible}: requests that would miss their SLO
 * even alone on an idle instance (or are too long for the model), a floor on misses no policy can
 * lower. Latencies in milliseconds; a percentile is null when
 * no request of the class produced that measurement (JSON {@code null}, not a made-up zero).
 */
public record ClassReport(
        String name,
        long requests,
        long met,
        double attainment,
        long rejected,
        long infeasible,
        Double ttftP50,
        Double ttftP90,
        Double ttftP99,
        Double tpotP50,
        Double tpotP90,
        Double tpotP99) {}
