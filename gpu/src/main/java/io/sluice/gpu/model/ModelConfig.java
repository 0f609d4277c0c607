package io.sluice.gpu.model;

/**
 * The shape of a Llama-architecture model, as the 7-int32 header of a llama2.c (legacy v0) checkpoint gives it.
 *
 * @param dim              width of the residual stream
 * @param hiddenDim        width of the feed-forward layer
 * @param layers           number of transformer layers
 * @param heads            number of query heads
 * @param kvHeads          number of key/value heads (fewer than {@code heads}: grouped-query attention)
 * @param vocabSize        number of tokens in the vocabulary (always positive here)
 * @param seqLen           longest sequence the model supports
 * @param sharedClassifier whether the classifier reuses the token embedding (header vocab_size positive)
 */
public record ModelConfig(
        int dim, int hiddenDim, int layers, int heads, int kvHeads, int vocabSize, int seqLen,
        boolean sharedClassifier) {

    /** Number of int32 values in the checkpoint header. */
    public static final int HEADER_INTS = 7;
    /** Bytes of the checkpoint header. */
    public static final int HEADER_BYTES = HEADER_INTS * Integer.BYTES;

    public ModelConfig {
        require(dim > 0, "dim must be positive, got " + dim);
        require(hiddenDim > 0, "hidden_dim must be positive, got " + hiddenDim);
        require(layers > 0, "n_layers must be positive, got " + layers);
        require(heads > 0, "n_heads must be positive, got " + heads);
        require(kvHeads > 0, "n_kv_heads must be positive, got " + kvHeads);
        require(vocabSize > 0, "vocab_size must be non-zero, got " + vocabSize);
        require(seqLen > 0, "seq_len must be positive, got " + seqLen);
        require(dim % heads == 0, "dim " + dim + " is not a multiple of n_heads " + heads);
        require(heads % kvHeads == 0, "n_heads " + heads + " is not a multiple of n_kv_heads " + kvHeads);
        require((dim / heads) % 2 == 0, "head size " + dim / heads + " must be even for rotary embeddings");
        try {
            Math.addExact(HEADER_BYTES, Math.multiplyExact(
                    bodyFloats(dim, hiddenDim, layers, heads, kvHeads, vocabSize, seqLen, sharedClassifier),
                    (long) Float.BYTES));
        } catch (ArithmeticException e) {
            throw new IllegalArgumentException("the shape is too large: its checkpoint would exceed 2^63 bytes");
        }
    }

    /**
     * Reads the seven header ints in file order (dim, hidden_dim, n_layers, n_heads, n_kv_heads, vocab_size,
     * seq_len); a negative vocab_size marks a separate classifier.
     */
    public static ModelConfig fromHeader(int[] header) {
        if (header.length != HEADER_INTS) {
            throw new IllegalArgumentException("a header has " + HEADER_INTS + " ints, got " + header.length);
        }
        int vocab = header[5];
        if (vocab == Integer.MIN_VALUE) { // its magnitude is no int: Math.abs would keep it negative
            throw new IllegalArgumentException("vocab_size " + vocab + " is out of range");
        }
        return new ModelConfig(header[0], header[1], header[2], header[3], header[4], Math.abs(vocab), header[6],
                vocab > 0);
    }

    /** The header ints in file order, vocab_size negative for a separate classifier. */
    public int[] toHeader() {
        return new int[] {dim, hiddenDim, layers, heads, kvHeads, sharedClassifier ? vocabSize : -vocabSize, seqLen};
    }

    /** Width of one attention head. */
    public int headSize() {
        return dim / heads;
    }

    /** Width of the keys (and values) of one token: all key/value heads together. */
    public int kvDim() {
        return headSize() * kvHeads; // not dim * kvHeads / heads: the product overflows an int for large headers
    }

    /** How many query heads share one key/value head. */
    public int kvMul() {
        return heads / kvHeads;
    }

    /** Number of float32 values the checkpoint body holds after the header, classifier included. */
    public long bodyFloats() {
        return bodyFloats(dim, hiddenDim, layers, heads, kvHeads, vocabSize, seqLen, sharedClassifier);
    }

    private static long bodyFloats(int dim, int hiddenDim, int layers, int heads, int kvHeads, int vocabSize,
            int seqLen, boolean sharedClassifier) {
        // Exact arithmetic: a header's ints can describe more than a long holds (the constructor refuses those).
        long d = dim;
        long kv = (long) (dim / heads) * kvHeads;
        long perLayer = Math.addExact(Math.addExact(2 * d, Math.multiplyExact(2 * d, d)),
                Math.addExact(Math.multiplyExact(2 * kv, d), Math.multiplyExact(3L * hiddenDim, d)));
        long embedding = (long) vocabSize * d;
        long total = Math.addExact(Math.addExact(embedding, Math.multiplyExact(layers, perLayer)),
                d + (long) seqLen * (dim / heads));
        return sharedClassifier ? total : Math.addExact(total, embedding);
    }

    /** Size in bytes of a checkpoint of this shape. */
    public long fileBytes() {
        return HEADER_BYTES + bodyFloats() * Float.BYTES; // fits: the constructor checked
    }

    /** Number of weights in the transformer (token embedding and classifier included, RoPE tables excluded). */
    public long parameterCount() {
        return bodyFloats() - (long) seqLen * headSize();
    }

    private static void require(boolean condition, String message) {
        if (!condition) {
            throw new IllegalArgumentException(message);
        }
    }
}
