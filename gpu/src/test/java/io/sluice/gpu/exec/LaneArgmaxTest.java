package io.sluice.gpu.exec;

import static org.assertj.core.api.Assertions.assertThat;

import io.sluice.gpu.sampling.Sampler;
import java.util.Random;
import org.junit.jupiter.api.Test;

/** The classifier's folded greedy pick against the sampler's scalar answer, on rows made to break it. */
class LaneArgmaxTest {

    private static final int UNIT = PackedMatrix.GROUP * PackedMatrix.L;

    /** Folds {@code row} as the classifier does: units of {@code UNIT} columns, dealt to two workers in turn. */
    private static int folded(float[] row) {
        LaneArgmax a = new LaneArgmax(2, 3);
        a.reset(3);
        for (int first = 0, unit = 0; first < row.length; first += UNIT, unit++) {
            float[] tile = new float[UNIT];
            int count = Math.min(UNIT, row.length - first);
            System.arraycopy(row, first, tile, 0, count);
            a.fold(unit % 2, 1, tile, 0, first, count);
        }
        return a.result(1);
    }

    private static int sampled(float[] row) {
        return Sampler.greedy().sample(row.clone(), 0, row.length, 0.5);
    }

    @Test
    void picksWhatTheSamplerPicksOnRandomRowsWithTiesNansAndInfinities() {
        Random r = new Random(5);
        for (int trial = 0; trial < 2000; trial++) {
            int size = 1 + r.nextInt(700);
            float[] row = new float[size];
            for (int i = 0; i < size; i++) {
                row[i] = r.nextInt(4) == 0 ? r.nextInt(3) : (float) r.nextGaussian(); // many ties at 0, 1, 2
            }
            int specials = r.nextInt(4);
            for (int s = 0; s < specials; s++) {
                float[] odd = {Float.NaN, Float.NEGATIVE_INFINITY, Float.POSITIVE_INFINITY};
                row[r.nextInt(size)] = odd[r.nextInt(odd.length)];
            }
            assertThat(folded(row)).as("trial %d, %d values", trial, size).isEqualTo(sampled(row));
        }
    }

    @Test
    void rowsThatNothingBeatsAnswerZeroAsTheScalarLoopDoes() {
        float[] nanFirst = {Float.NaN, 1f, 5f, 2f};
        float[] allNegativeInfinity = new float[100];
        java.util.Arrays.fill(allNegativeInfinity, Float.NEGATIVE_INFINITY);
        float[] allNan = new float[70];
        java.util.Arrays.fill(allNan, Float.NaN);
        for (float[] row : new float[][] {nanFirst, allNegativeInfinity, allNan}) {
            assertThat(folded(row)).isZero().isEqualTo(sampled(row));
        }
    }

    @Test
    void theFirstOfEqualMaximaWinsAcrossLanesUnitsAndWorkers() {
        float[] row = new float[5 * UNIT + 3];
        int[] at = {3 * UNIT + 7, UNIT + 2, 4 * UNIT, 5 * UNIT + 1};
        for (int i : at) {
            row[i] = 9f;
        }
        assertThat(folded(row)).isEqualTo(UNIT + 2).isEqualTo(sampled(row));
    }
}
