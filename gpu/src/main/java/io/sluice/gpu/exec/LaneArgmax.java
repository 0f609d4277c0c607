package io.sluice.gpu.exec;

import java.util.Arrays;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorMask;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorSpecies;

/**
 * Greedy tokens found while the classifier computes the logits, so that a greedy row's 32,000 logits are never
 * written to memory and read back: at batch 32 that is 4 MB stored (each store a cache-line fill from DRAM) and
 * scanned again every step.
 *
 * <p>Each worker keeps, per row and lane, the largest value folded so far and its vocabulary index (as a float:
 * exact below 2^24). A worker folds its columns in increasing index order (it claims work units in order), and a
 * lane only takes a strictly larger value, so within a lane the first index of the maximum wins; {@link #result}
 * then takes the largest value over workers and lanes, the smallest index on ties. That is {@code Sampler.argmax}'s
 * answer, the scalar loop's: the first index of the maximum, NaNs never larger than anything, and index 0 when
 * nothing beats the first value (a NaN or every value -inf).
 */
final class LaneArgmax {

    /** Largest vocabulary whose indices a float holds exactly. */
    static final int MAX_VOCAB = 1 << 24;

    private static final VectorSpecies<Float> S = PackedMatrix.SPECIES;
    private static final int L = PackedMatrix.L;
    private static final FloatVector IOTA = FloatVector.zero(S).addIndex(1);

    private final float[][] max; // [workers][rows * L]
    private final float[][] index; // [workers][rows * L]
    private final boolean[] firstIsNaN; // [rows] logit 0 was NaN: the scalar loop then answers 0

    LaneArgmax(int workers, int maxRows) {
        this.max = new float[workers][maxRows * L];
        this.index = new float[workers][maxRows * L];
        this.firstIsNaN = new boolean[maxRows];
    }

    /** Starts a step of {@code rows} rows. */
    void reset(int rows) {
        for (int w = 0; w < max.length; w++) {
            Arrays.fill(max[w], 0, rows * L, Float.NEGATIVE_INFINITY);
            Arrays.fill(index[w], 0, rows * L, Float.POSITIVE_INFINITY);
        }
        Arrays.fill(firstIsNaN, 0, rows, false);
    }

    /**
     * Folds the logits {@code src[offset .. offset + count)} of {@code row}, those of vocabulary indices
     * {@code first ..}, into worker {@code worker}'s lanes. {@code first} must exceed every index this worker folded
     * for the row before.
     */
    void fold(int worker, int row, float[] src, int offset, int first, int count) {
        if (first == 0 && count > 0 && Float.isNaN(src[offset])) {
            firstIsNaN[row] = true;
        }
        float[] mx = max[worker];
        float[] ix = index[worker];
        int base = row * L;
        FloatVector m = FloatVector.fromArray(S, mx, base);
        FloatVector i = FloatVector.fromArray(S, ix, base);
        int k = 0;
        for (; k + L <= count; k += L) {
            FloatVector v = FloatVector.fromArray(S, src, offset + k);
            VectorMask<Float> larger = v.compare(VectorOperators.GT, m);
            m = m.blend(v, larger);
            i = i.blend(IOTA.add((float) (first + k)), larger);
        }
        m.intoArray(mx, base);
        i.intoArray(ix, base);
        for (; k < count; k++) { // a vocabulary that ends inside a vector
            float v = src[offset + k];
            int lane = base + k % L;
            if (v > mx[lane]) {
                mx[lane] = v;
                ix[lane] = first + k;
            }
        }
    }

    /** Row {@code row}'s greedy token. */
    int result(int row) {
        if (firstIsNaN[row]) {
            return 0;
        }
        float best = Float.NEGATIVE_INFINITY;
        float bestIndex = Float.POSITIVE_INFINITY;
        for (int w = 0; w < max.length; w++) {
            for (int lane = row * L; lane < (row + 1) * L; lane++) {
                float v = max[w][lane];
                if (v > best || (v == best && index[w][lane] < bestIndex)) {
                    best = v;
                    bestIndex = index[w][lane];
                }
            }
        }
        // no lane took a value: every one was -inf or NaN, and the scalar loop keeps index 0
        return bestIndex == Float.POSITIVE_INFINITY ? 0 : (int) bestIndex;
    }
}
