package io.sluice.job.sim;

import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.function.DoubleFunction;

/**
 * Finds the largest rate scale at which a measure (attainment) stays at or above a target, by
 * bracketing (doubling or halving from 1) and then bisection. Every evaluation is kept, so the
 * caller can plot attainment against load without simulating again.
 */
public final class Sweep {

    /**
     * One simulated point: the rate scale, the report there, and the attainment the search judged
     * by (for a run stopped early, the most it could have reached).
     */
    public record Point(double rateScale, PolicyReport report, double attainment, boolean stoppedEarly) {}

    /** The answer: the capacity (0 when even the lightest load tried misses) and every point. */
    public record Result(double capacity, List<Point> points) {}

    private static final double MAX_SCALE = 4096;
    private static final double MIN_SCALE = 1.0 / 4096;

    private final double relativeTolerance;

    /** @param relativeTolerance stop when the bracket is narrower than this fraction of its top */
    public Sweep(double relativeTolerance) {
        if (!(relativeTolerance > 0 && relativeTolerance < 1)) {
            throw new IllegalArgumentException("sweep tolerance must be in (0, 1), got " + relativeTolerance);
        }
        this.relativeTolerance = relativeTolerance;
    }

    /**
     * Largest scale where the attainment of {@code run(scale)} is at least {@code target}.
     *
     * @param run simulates at a rate scale
     */
    public Result search(DoubleFunction<Point> run, double target) {
        List<Point> points = new ArrayList<>();
        double lo = Double.NaN;
        double hi = Double.NaN;
        if (passes(run, target, 1.0, points)) {
            lo = 1.0;
            for (double s = 2.0; s <= MAX_SCALE; s *= 2) {
                if (!passes(run, target, s, points)) {
                    hi = s;
                    break;
                }
                lo = s;
            }
            if (Double.isNaN(hi)) {
                return result(lo, points);
            }
        } else {
            hi = 1.0;
            for (double s = 0.5; s >= MIN_SCALE; s /= 2) {
                if (passes(run, target, s, points)) {
                    lo = s;
                    break;
                }
                hi = s;
            }
            if (Double.isNaN(lo)) {
                return result(0, points);
            }
        }
        while ((hi - lo) > relativeTolerance * hi) {
            double mid = 0.5 * (lo + hi);
            if (passes(run, target, mid, points)) {
                lo = mid;
            } else {
                hi = mid;
            }
        }
        return result(lo, points);
    }

    private static Result result(double capacity, List<Point> points) {
        points.sort(Comparator.comparingDouble(Point::rateScale));
        return new Result(capacity, List.copyOf(points));
    }

    private static boolean passes(DoubleFunction<Point> run, double target, double scale, List<Point> points) {
        Point p = run.apply(scale);
        points.add(p);
        return p.attainment() >= target;
    }
}
