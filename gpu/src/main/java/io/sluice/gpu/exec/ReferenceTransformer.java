package io.sluice.gpu.exec;

import io.sluice.gpu.model.ModelConfig;
import io.sluice.gpu.model.Weights;
import java.nio.FloatBuffer;

/**
 * The plain scalar reference: llama2.c's {@code forward()} transliterated, one token at a time, over a contiguous
 * KV cache, reading the weights straight from the checkpoint. Slow and obviously correct; tests hold the fast
 * {@link CpuExecutor} against it.
 */
public final class ReferenceTransformer {

    private final ModelConfig c;
    private final Weights w;
    private final float[] x; // [dim] activation at the current time stamp
    private final float[] xb; // [dim] inside a residual branch
    private final float[] xb2; // [dim] an additional buffer for convenience
    private final float[] hb; // [hidden] buffer for the hidden dimension in the ffn
    private final float[] hb2; // [hidden]
    private final float[] q; // [dim] query
    private final float[] att; // [heads, seqLen] scores
    private final float[] logits; // [vocab]
    private final float[] keyCache; // [layers, seqLen, kvDim]
    private final float[] valueCache; // [layers, seqLen, kvDim]

    public ReferenceTransformer(Weights weights) {
        this.w = weights;
        this.c = weights.config();
        int dim = c.dim();
        x = new float[dim];
        xb = new float[dim];
        xb2 = new float[dim];
        hb = new float[c.hiddenDim()];
        hb2 = new float[c.hiddenDim()];
        q = new float[dim];
        att = new float[c.heads() * c.seqLen()];
        logits = new float[c.vocabSize()];
        keyCache = new float[c.layers() * c.seqLen() * c.kvDim()];
        valueCache = new float[c.layers() * c.seqLen() * c.kvDim()];
    }

    /** The logits after {@code token} at {@code pos}; positions must come in order 0, 1, 2, ... */
    public float[] forward(int token, int pos) {
        int dim = c.dim();
        int kvDim = c.kvDim();
        int kvMul = c.kvMul();
        int hidden = c.hiddenDim();
        int hs = c.headSize();
        w.tokenEmbedding().get(token * dim, x, 0, dim);
        for (int l = 0; l < c.layers(); l++) {
            Weights.Layer lw = w.layer(l);
            rmsnorm(xb, x, lw.rmsAtt(), dim);
            int loff = l * c.seqLen() * kvDim;
            float[] k = new float[kvDim];
            float[] v = new float[kvDim];
            matmul(q, xb, lw.wq(), dim, dim);
            matmul(k, xb, lw.wk(), dim, kvDim);
            matmul(v, xb, lw.wv(), dim, kvDim);
            // RoPE: rotate each pair of q (and k) by a position- and frequency-dependent angle
            for (int i = 0; i < dim; i += 2) {
                int headDim = i % hs;
                float freq = 1.0f / (float) Math.pow(10000.0f, headDim / (float) hs);
                float val = pos * freq;
                float fcr = (float) Math.cos(val);
                float fci = (float) Math.sin(val);
                int rotn = i < kvDim ? 2 : 1;
                for (int r = 0; r < rotn; r++) {
                    float[] vec = r == 0 ? q : k;
                    float v0 = vec[i];
                    float v1 = vec[i + 1];
                    vec[i] = v0 * fcr - v1 * fci;
                    vec[i + 1] = v0 * fci + v1 * fcr;
                }
            }
            System.arraycopy(k, 0, keyCache, loff + pos * kvDim, kvDim);
            System.arraycopy(v, 0, valueCache, loff + pos * kvDim, kvDim);
            // multi-head attention over all cached positions
            for (int h = 0; h < c.heads(); h++) {
                int ao = h * c.seqLen();
                for (int t = 0; t <= pos; t++) {
                    int ko = loff + t * kvDim + (h / kvMul) * hs;
                    float score = 0f;
                    for (int i = 0; i < hs; i++) {
                        score += q[h * hs + i] * keyCache[ko + i];
                    }
                    att[ao + t] = score / (float) Math.sqrt(hs);
                }
                softmax(att, ao, pos + 1);
                for (int i = 0; i < hs; i++) {
                    xb[h * hs + i] = 0f;
                }
                for (int t = 0; t <= pos; t++) {
                    int vo = loff + t * kvDim + (h / kvMul) * hs;
                    float a = att[ao + t];
                    for (int i = 0; i < hs; i++) {
                        xb[h * hs + i] += a * valueCache[vo + i];
                    }
                }
            }
            matmul(xb2, xb, lw.wo(), dim, dim);
            for (int i = 0; i < dim; i++) {
                x[i] += xb2[i];
            }
            // feed-forward: w2(silu(w1(x)) * w3(x))
            rmsnorm(xb, x, lw.rmsFfn(), dim);
            matmul(hb, xb, lw.w1(), dim, hidden);
            matmul(hb2, xb, lw.w3(), dim, hidden);
            for (int i = 0; i < hidden; i++) {
                float val = hb[i];
                val *= 1.0f / (1.0f + (float) Math.exp(-val));
                hb[i] = val * hb2[i];
            }
            matmul(xb, hb, lw.w2(), hidden, dim);
            for (int i = 0; i < dim; i++) {
                x[i] += xb[i];
            }
        }
        rmsnorm(x, x, w.rmsFinal(), dim);
        matmul(logits, x, w.classifier(), dim, c.vocabSize());
        return logits.clone();
    }

    private static void rmsnorm(float[] o, float[] x, FloatBuffer weight, int size) {
        float ss = 0f;
        for (int j = 0; j < size; j++) {
            ss += x[j] * x[j];
        }
        ss /= size;
        ss += 1e-5f;
        ss = 1.0f / (float) Math.sqrt(ss);
        for (int j = 0; j < size; j++) {
            o[j] = weight.get(j) * (ss * x[j]);
        }
    }

    private static void softmax(float[] x, int offset, int size) {
        float max = x[offset];
        for (int i = 1; i < size; i++) {
            max = Math.max(max, x[offset + i]);
        }
        float sum = 0f;
        for (int i = 0; i < size; i++) {
            x[offset + i] = (float) Math.exp(x[offset + i] - max);
            sum += x[offset + i];
        }
        for (int i = 0; i < size; i++) {
            x[offset + i] /= sum;
        }
    }

    /** {@code out[d] = W[d, n] x[n]}, one row at a time. */
    private static void matmul(float[] out, float[] x, FloatBuffer w, int n, int d) {
        for (int i = 0; i < d; i++) {
            float val = 0f;
            for (int j = 0; j < n; j++) {
                val += w.get(i * n + j) * x[j];
            }
            out[i] = val;
        }
    }
}
