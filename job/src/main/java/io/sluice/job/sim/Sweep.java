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
     * Where a search stands: the scale to probe {@code next}, or done with {@code capacity}. The
     * search is a pure function of the outcomes so far, so a caller may look ahead at both possible
     * next probes ({@link #after}) and run them before the current one ends.
     */
    public record State(Phase phase, double lo, double hi, double next, double capacity) {

        /** Whether the search is over; {@code capacity} is then its answer. */
        public boolean done() {
            return phase == Phase.DONE;
        }
    }

    /** Bracketing up (doubling from 1) or down (halving), then bisection. */
    public enum Phase { FIRST, UP, DOWN, BISECT, DONE }

    /** The state before any probe: the first probe is at scale 1. */
    public State start() {
        return new State(Phase.FIRST, Double.NaN, Double.NaN, 1.0, Double.NaN);
    }

    /** The state after the probe at {@code s.next()} passed or failed. */
    public State after(State s, boolean passed) {
        double at = s.next();
        return switch (s.phase()) {
            case FIRST -> passed ? new State(Phase.UP, 1.0, Double.NaN, 2.0, Double.NaN)
                    : new State(Phase.DOWN, Double.NaN, 1.0, 0.5, Double.NaN);
            case UP -> passed ? (2 * at <= MAX_SCALE ? new State(Phase.UP, at, Double.NaN, 2 * at, Double.NaN) : done(at))
                    : bisect(s.lo(), at);
            case DOWN -> passed ? bisect(at, s.hi())
                    : (at / 2 >= MIN_SCALE ? new State(Phase.DOWN, Double.NaN, at, at / 2, Double.NaN) : done(0));
            case BISECT -> passed ? bisect(at, s.hi()) : bisect(s.lo(), at);
            case DONE -> throw new IllegalStateException("the search is over");
        };
    }

    private State bisect(double lo, double hi) {
        return (hi - lo) > relativeTolerance * hi ? new State(Phase.BISECT, lo, hi, 0.5 * (lo + hi), Double.NaN)
                : done(lo);
    }

    private static State done(double capacity) {
        return new State(Phase.DONE, Double.NaN, Double.NaN, Double.NaN, capacity);
    }

    /**
     * Largest scale where the attainment of {@code run(scale)} is at least {@code target}.
     *
     * @param run simulates at a rate scale
     */
    public Result search(DoubleFunction<Point> run, double target) {
        List<Point> points = new ArrayList<>();
        State s = start();
        while (!s.done()) {
            Point p = run.apply(s.next());
            points.add(p);
            s = after(s, p.attainment() >= target);
        }
        return result(s.capacity(), points);
    }

    /** The answer of a finished search over {@code points}, sorted by scale. */
    public static Result result(double capacity, List<Point> points) {
        points = new ArrayList<>(points);
        points.sort(Comparator.comparingDouble(Point::rateScale));
        return new Result(capacity, List.copyOf(points));
    }
}
