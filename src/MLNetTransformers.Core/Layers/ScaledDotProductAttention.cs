namespace MLNetTransformers.Core.Layers;

/// <summary>
/// softmax(scale·Q·Kᵀ + masks)·V for every (batch, head), heads side by side in the feature axis
/// (head h uses columns h·hd..(h+1)·hd of Q, K, V), and its backward. The attention weights of the last
/// Forward are kept: backward needs them, and callers can read them.
/// Pieces (b, h) run in parallel, each with single-threaded GEMMs on strided views, so no head is copied.
/// </summary>
internal sealed unsafe class ScaledDotProductAttention : IParallelWork
{
    private const int QueryBlock = 64, KeyBlock = 256;
    private float[]? _p, _ds;
    // dS [B, H, Tq, Tk] lives only inside one Backward call: every attention layer trained on this thread shares one, so
    // a deep stack holds one such buffer, not one per layer (the largest activation at long sequences).
    [ThreadStatic] private static float[]? t_scores;
    private MatrixView _q, _k, _v, _dq, _dk, _dv;
    private float[] _out = Array.Empty<float>(), _dout = Array.Empty<float>();
    private bool[]? _keyPadding;
    private bool _backward, _tiled;
    // Packed sequences: sequence b is rows _starts[b].. of length _lengths[b] in Q, K, V and the output, and its
    // H score blocks of len² start at _scoreStarts[b] (H·Σ len² in all instead of B·H·T²).
    private int[]? _lengths, _starts;
    private long[]? _scoreStarts;
    // Attention dropout: the kept weights P ⊙ mask / (1 − p) that multiplied V (P itself stays in _p for the softmax
    // backward); a dropped weight is an exact 0 there, which is how backward finds the mask.
    private float[]? _pd;
    private bool _dropping;
    private long _dropCalls;
    // A relative position bias (RelativePositionBias.Offsets): [H, 2·bound − 1], query i's biases for keys 0.. contiguous
    // from bound − 1 − i; its gradient per piece (b, h) and offset, summed by the owner into the table.
    private float[]? _bias, _biasGrad;
    private int _biasBound;
    private bool _biasLearned; // false for fixed biases (ALiBi's), whose gradient nobody reads
    // Terms added to each score (DisentangledAttentionTerms), laid out as the scores; their gradient in the same layout.
    private float[]? _terms, _termsGrad;
    // A sliding window (ModernBERT's local layers): query i sees keys j with |i − j| ≤ _window; 0 = every key.
    private int _window;

    /// <summary>Batch size of the last Forward.</summary>
    public int Batch { get; private set; }
    /// <summary>Heads.</summary>
    public int Heads { get; private set; }
    /// <summary>Query length.</summary>
    public int QueryLength { get; private set; }
    /// <summary>Key length.</summary>
    public int KeyLength { get; private set; }
    /// <summary>Per-head size.</summary>
    public int HeadDim { get; private set; }
    /// <summary>Score scale (1/√hd for scaled attention).</summary>
    public float Scale { get; private set; }
    /// <summary>Whether query i sees only keys j ≤ i + (KeyLength − QueryLength).</summary>
    public bool Causal { get; private set; }
    /// <summary>Probability that a training forward drops an attention weight (the rest scaled by 1/(1 − p)); 0 = none.</summary>
    public float DropoutP { get; set; }
    /// <summary>Seed of the dropout masks: forward call c, piece (b, h) draws from its own stream. Setting it restarts the calls' count.</summary>
    public ulong DropoutSeed { get => _dropSeed; set => (_dropSeed, _dropCalls) = (value, 0); }
    private ulong _dropSeed;

    /// <summary>Attention weights of the last Forward, [B, H, Tq, Tk]; masked entries are 0.</summary>
    public ReadOnlySpan<float> Weights => _tiled
        ? throw new InvalidOperationException("The last attention forward ran tiled for inference and kept no weights; set RecordWeights on the attention layer to keep them.")
        : _lengths is not null
        ? throw new InvalidOperationException("The last attention forward ran on packed sequences, whose weights have no [B, H, T, T] layout; set RecordWeights on the attention layer to keep them.")
        : _p.AsSpan(0, Batch * Heads * QueryLength * KeyLength);

    /// <summary>
    /// output[b, i, h·hd..] = Σ_j P[b,h,i,j]·V[b, j, h·hd..].
    /// <paramref name="keyPadding"/>: [B, Tk], true = padded key (never attended). Query rows with every key
    /// masked get zero weights and zero output.
    /// With <paramref name="tiled"/> (inference) the same output comes without materializing [B, H, Tq, Tk]: per head,
    /// blocks of 64 queries take their scores against blocks of 256 keys (in a scratch block that stays in cache) with an
    /// online softmax (running row maximum and sum, earlier partial outputs rescaled), so memory grows with T, not T²; the
    /// score scale is folded into the exponent. Then no weights are kept and no backward may follow.
    /// With <paramref name="packed"/> (self-attention only) the rows are packed sequences: each attends over its own
    /// length, queryLength = keyLength = T is only their bound, and <paramref name="keyPadding"/> is not used.
    /// With <paramref name="scoreBias"/> (bidirectional self-attention only) every scaled score gains the bias of its
    /// key's offset from its query (<see cref="RelativePositionBias.Offsets"/> for sequences of at most <paramref name="biasBound"/>).
    /// With <paramref name="window"/> &gt; 0 (bidirectional self-attention only) query i sees only keys j with |i − j| ≤ window.
    /// With <paramref name="biasLearned"/> false the bias is fixed (<see cref="AttentionLinearBiases"/>) and backward leaves its gradient out.
    /// </summary>
    public void Forward(MatrixView q, MatrixView k, MatrixView v, float[] output, int batch, int heads, int queryLength, int keyLength,
        int headDim, float scale, bool causal, bool[]? keyPadding, bool tiled = false, PackedSequences? packed = null, bool training = false,
        float[]? scoreBias = null, int biasBound = 0, float[]? scoreTerms = null, int window = 0, bool biasLearned = true)
    {
        if (window < 0 || (window > 0 && (causal || queryLength != keyLength)))
            throw new ArgumentException($"A sliding window of {window} serves bidirectional self-attention only, not [{queryLength}, {keyLength}]{(causal ? ", causal" : "")}.", nameof(window));
        _window = window;
        if (keyPadding is not null && keyPadding.Length < batch * keyLength)
            throw new ArgumentException($"Key padding mask has {keyPadding.Length} entries; [{batch}, {keyLength}] needs {batch * keyLength}.", nameof(keyPadding));
        if (scoreBias is not null && (causal || queryLength != keyLength || keyLength > biasBound || scoreBias.Length < heads * (2 * biasBound - 1)))
            throw new ArgumentException($"A relative position bias for sequences of up to {biasBound} serves bidirectional self-attention over at most that many positions, not [{queryLength}, {keyLength}]{(causal ? ", causal" : "")}.", nameof(scoreBias));
        if (scoreTerms is not null && (causal || queryLength != keyLength || scoreBias is not null))
            throw new ArgumentException("Score terms serve bidirectional self-attention without a relative position bias only.", nameof(scoreTerms));
        (_bias, _biasBound, _terms, _biasLearned) = (scoreBias, biasBound, scoreTerms, biasLearned);
        (_q, _k, _v, _out) = (q, k, v, output);
        (Batch, Heads, QueryLength, KeyLength, HeadDim, Scale, Causal) = (batch, heads, queryLength, keyLength, headDim, scale, causal);
        _keyPadding = packed is null ? keyPadding : null;
        long scores = (long)batch * heads * queryLength * keyLength;
        if (packed is null) _lengths = _starts = null;
        else
        {
            if (packed.Batch != batch || queryLength != keyLength)
                throw new ArgumentException($"Packed sequences of a [{packed.Batch}, {packed.SeqLen}] batch do not fit attention over [{batch}, {queryLength}, {keyLength}].", nameof(packed));
            (_lengths, _starts) = (packed.LengthArray, packed.StartArray);
            scores = ScoreStarts(batch, heads, queryLength, packed, Workspace.Ensure(ref _scoreStarts, batch));
        }
        if (!tiled) Workspace.Ensure(ref _p, checked((int)scores));
        _dropping = training && !tiled && DropoutP > 0f;
        if (_dropping) { Workspace.Ensure(ref _pd, (int)scores); _dropCalls++; }
        _scoreBlocks = scores;
        _backward = false;
        _tiled = tiled;
        WorkerPool.For(batch * heads, this);
    }

    /// <summary>
    /// Where each sequence's H score blocks start: sequence after sequence, H blocks of len² each (len its own length when
    /// packed, else <paramref name="seqLen"/>), the layout of the scores and of score terms; returns the total.
    /// </summary>
    internal static long ScoreStarts(int batch, int heads, int seqLen, PackedSequences? packed, long[] starts)
    {
        long total = 0;
        for (int b = 0; b < batch; b++)
        {
            int len = packed is null ? seqLen : packed.LengthArray[b];
            starts[b] = total;
            total += (long)heads * len * len;
        }
        return total;
    }

    /// <summary>
    /// From dOutput (same layout as the output) adds the gradients into dq, dk, dv (which may be views of one
    /// buffer; callers clear them first).
    /// </summary>
    public void Backward(float[] dOutput, MatrixView dq, MatrixView dk, MatrixView dv)
    {
        (_dout, _dq, _dk, _dv) = (dOutput, dq, dk, dv);
        _ds = Workspace.Ensure(ref t_scores, (int)_scoreBlocks);
        if (_bias is not null && _biasLearned) Workspace.Ensure(ref _biasGrad, Batch * Heads * BiasWidth).AsSpan(0, Batch * Heads * BiasWidth).Clear();
        if (_terms is not null) Workspace.Ensure(ref _termsGrad, (int)_scoreBlocks);
        _backward = true;
        // Pieces of one batch element share dq/dk/dv rows when the views alias (SimplifiedSelfAttention with one
        // head), but never columns across heads, and different batch elements never share rows: no races.
        WorkerPool.For(Batch * Heads, this);
    }

    /// <summary>The score terms' gradient of the last Backward, laid out as the terms (dS before the scale).</summary>
    internal float[] ScoreTermsGradient => _termsGrad ?? throw new InvalidOperationException("The last Backward had no score terms.");

    /// <summary>The relative position bias's gradient of the last Backward, [B·H, 2·bound − 1] (piece (b, h), offset j − i + bound − 1).</summary>
    internal ReadOnlySpan<float> ScoreBiasGradient => _biasLearned ? _biasGrad.AsSpan(0, Batch * Heads * BiasWidth) : throw new InvalidOperationException("The last forward's score bias was fixed; it has no gradient.");

    // Offsets −(bound − 1)..bound − 1 per head.
    private int BiasWidth => 2 * _biasBound - 1;

    // Query i's biases for keys 0..keys − 1: a slice of head h's offsets.
    private ReadOnlySpan<float> BiasRow(int h, int i, int keys) => _bias.AsSpan(h * BiasWidth + _biasBound - 1 - i, keys);

    void IParallelWork.Run(int piece)
    {
        if (_backward) BackwardPiece(piece);
        else if (_tiled) TiledPiece(piece);
        else ForwardPiece(piece);
    }

    private int OutStride => Heads * HeadDim;
    private long _scoreBlocks;

    // Piece (b, h): its first query and key rows, lengths and score block.
    private (int B, int H, int QueryRow, int KeyRow, int Tq, int Tk, int Scores) Geometry(int piece)
    {
        int b = piece / Heads, h = piece % Heads;
        if (_lengths is null) return (b, h, b * QueryLength, b * KeyLength, QueryLength, KeyLength, piece * QueryLength * KeyLength);
        int len = _lengths[b];
        return (b, h, _starts![b], _starts[b], len, len, (int)(_scoreStarts![b] + (long)h * len * len));
    }

    private void ForwardPiece(int piece)
    {
        var (b, h, qRow, kRow, tq, tk, scores) = Geometry(piece);
        int hd = HeadDim;
        var p = _p.AsSpan(scores, tq * tk);
        bool rowKernel = RowGemm.Supports(hd);
        // scores[i, j] = Q_bh[i] · K_bh[j]
        fixed (float* qd = _q.Data, kd = _k.Data, pp = p)
            MultiplyTransB(rowKernel, tq, tk, hd, qd + _q.Offset + (long)qRow * _q.Stride + h * hd, _q.Stride,
                kd + _k.Offset + (long)kRow * _k.Stride + h * hd, _k.Stride, pp, tk);
        TensorPrimitives.Multiply(p, Scale, p);
        var pad = _keyPadding is null ? default : _keyPadding.AsSpan(b * tk, tk);
        for (int i = 0; i < tq; i++)
        {
            var row = p.Slice(i * tk, tk);
            if (_bias is not null) TensorPrimitives.Add(row, BiasRow(h, i, tk), row);
            if (_terms is not null) TensorPrimitives.Add(row, _terms.AsSpan(scores + i * tk, tk), row);
            int valid = Causal ? Math.Clamp(i + 1 + tk - tq, 0, tk) : tk;
            if (!pad.IsEmpty)
                for (int j = 0; j < valid; j++) if (pad[j]) row[j] = float.NegativeInfinity;
            if (_window > 0) MaskOutsideWindow(row, i, 0);
            Softmax.InPlace(row, valid);
        }
        var weights = p;
        if (_dropping)
        {
            weights = _pd.AsSpan(scores, tq * tk);
            var rng = DeterministicRandom.Derive(_dropSeed ^ (ulong)_dropCalls * 0x9E3779B97F4A7C15UL, (ulong)piece);
            Dropout.Apply(ref rng, p, weights, default, DropoutP);
        }
        // out_bh = P · V_bh (the kept weights when dropping)
        fixed (float* w = weights, vd = _v.Data, od = _out)
            Multiply(rowKernel, tq, hd, tk, w, tk, vd + _v.Offset + (long)kRow * _v.Stride + h * hd, _v.Stride,
                od + (long)qRow * OutStride + h * hd, OutStride, false);
    }

    /// <summary>
    /// Per-thread scratch: Kᵀ of one head, a score block, the output block and row statistics of the tiled forward; the
    /// transposed operand and padded product of <see cref="MultiplyTransB"/> and <see cref="MultiplyTransA"/>.
    /// </summary>
    private sealed class Scratch
    {
        [ThreadStatic] private static Scratch? _cached;
        public static Scratch ForThisThread => _cached ??= new Scratch();
        public float[]? KeysT, Scores, Output, Max, Sum, Transposed;
    }

    private void TiledPiece(int piece)
    {
        var (b, h, qRow, kRow, tq, tk, termStart) = Geometry(piece);
        int hd = HeadDim, ld = OutStride;
        int tkp = (tk + 15) / 16 * 16;
        var scratch = Scratch.ForThisThread;
        var keysT = Workspace.Ensure(ref scratch.KeysT, hd * tkp);
        var scores = Workspace.Ensure(ref scratch.Scores, QueryBlock * Math.Min(KeyBlock, tkp));
        var acc = Workspace.Ensure(ref scratch.Output, QueryBlock * hd);
        var rowMax = Workspace.Ensure(ref scratch.Max, QueryBlock);
        var rowSum = Workspace.Ensure(ref scratch.Sum, QueryBlock);
        var pad = _keyPadding is null ? default : new ReadOnlySpan<bool>(_keyPadding, b * tk, tk);
        bool rowKernel = RowGemm.Supports(hd);
        // With a position bias or score terms the scores are scaled and biased first and the exponent's scale is 1.
        float scale = _bias is null && _terms is null ? Scale : 1f;
        fixed (float* qd = _q.Data, kd = _k.Data, vd = _v.Data, od = _out, kt = keysT, s = scores, o = acc)
        {
            float* qh = qd + _q.Offset + (long)qRow * _q.Stride + h * hd;
            float* kh = kd + _k.Offset + (long)kRow * _k.Stride + h * hd;
            float* vh = vd + _v.Offset + (long)kRow * _v.Stride + h * hd;
            float* oh = od + (long)qRow * ld + h * hd;
            // Kᵀ [hd, tkp], zero beyond tk, so score blocks are whole 16-column vectors.
            TransposePadded(kh, _k.Stride, tk, hd, kt, tkp);

            for (int q0 = 0; q0 < tq; q0 += QueryBlock)
            {
                int qb = Math.Min(QueryBlock, tq - q0);
                int keys = Causal ? Math.Clamp(q0 + qb + tk - tq, 0, tk) : tk; // keys any row of this block sees
                float* qBlock = qh + (long)q0 * _q.Stride, oBlock = oh + (long)q0 * ld;
                if (keys == 0)
                {
                    for (int i = 0; i < qb; i++) new Span<float>(oBlock + (long)i * ld, hd).Clear();
                    continue;
                }
                if (keys <= KeyBlock)
                {
                    // One key block: scores, softmax (scale folded into the exponent: max, exp-and-sum, normalize), P·V, the
                    // weights normalized before P·V as Forward does (the online path below divides the output instead).
                    int kp = (keys + 15) / 16 * 16;
                    Multiply(rowKernel, qb, kp, hd, qBlock, _q.Stride, kt, tkp, s, kp, false);
                    for (int i = 0; i < qb; i++)
                    {
                        float* r = s + (long)i * kp;
                        var row = new Span<float>(r, keys);
                        int valid = Causal ? Math.Clamp(q0 + i + 1 + tk - tq, 0, keys) : keys;
                        if (_bias is not null) TensorPrimitives.MultiplyAdd(row, Scale, BiasRow(h, q0 + i, keys), row);
                        if (_terms is not null) TensorPrimitives.MultiplyAdd(row, Scale, _terms.AsSpan(termStart + (q0 + i) * tk, keys), row);
                        if (!pad.IsEmpty)
                            for (int j = 0; j < valid; j++) if (pad[j]) r[j] = float.NegativeInfinity;
                        if (_window > 0) MaskOutsideWindow(row, q0 + i, 0);
                        float max = Softmax.Max(r, valid);
                        if (float.IsNegativeInfinity(max)) { row.Clear(); continue; }
                        float sum = Softmax.ExpSum(r, valid, scale, max * scale);
                        TensorPrimitives.Multiply(row[..valid], 1f / sum, row[..valid]);
                        row[valid..].Clear();
                    }
                    Multiply(rowKernel, qb, hd, keys, s, kp, vh, _v.Stride, oBlock, ld, false);
                    continue;
                }
                new Span<float>(o, qb * hd).Clear();
                new Span<float>(rowMax, 0, qb).Fill(float.NegativeInfinity);
                new Span<float>(rowSum, 0, qb).Clear();
                // A sliding window bounds the keys this query block can see: the blocks outside it are not computed (from a
                // multiple of 16, so the padded key columns stay inside Kᵀ), and local layers cost T·window, not T².
                int kFirst = _window > 0 ? Math.Max(0, q0 - _window) / 16 * 16 : 0, kEnd = _window > 0 ? Math.Min(keys, q0 + qb + _window) : keys;
                for (int k0 = kFirst; k0 < kEnd; k0 += KeyBlock)
                {
                    int kb = Math.Min(KeyBlock, kEnd - k0), kp = (kb + 15) / 16 * 16;
                    Multiply(rowKernel, qb, kp, hd, qBlock, _q.Stride, kt + k0, tkp, s, kp, false);
                    for (int i = 0; i < qb; i++)
                    {
                        float* r = s + (long)i * kp;
                        var row = new Span<float>(r, kb);
                        int valid = Causal ? Math.Clamp(q0 + i + 1 + tk - tq - k0, 0, kb) : kb;
                        var live = row[..valid];
                        if (_bias is not null) TensorPrimitives.MultiplyAdd(row, Scale, BiasRow(h, q0 + i, k0 + kb)[k0..], row);
                        if (_terms is not null) TensorPrimitives.MultiplyAdd(row, Scale, _terms.AsSpan(termStart + (q0 + i) * tk + k0, kb), row);
                        if (!pad.IsEmpty)
                            for (int j = 0; j < valid; j++) if (pad[k0 + j]) live[j] = float.NegativeInfinity;
                        if (_window > 0) MaskOutsideWindow(live, q0 + i, k0);
                        // rowMax is kept in scaled units (the exponent's).
                        float max = Math.Max(rowMax[i], Softmax.Max(r, valid) * scale);
                        row[valid..].Clear();
                        if (float.IsNegativeInfinity(max)) { live.Clear(); continue; } // nothing seen yet: no weight
                        float correction = MathF.Exp(rowMax[i] - max); // 0 when nothing was seen before
                        rowSum[i] = rowSum[i] * correction + Softmax.ExpSum(r, valid, scale, max);
                        rowMax[i] = max;
                        if (correction != 1f && k0 > 0)                   // the first block's partial output is still zero
                        {
                            var outRow = new Span<float>(o + (long)i * hd, hd);
                            TensorPrimitives.Multiply(outRow, correction, outRow);
                        }
                    }
                    Multiply(rowKernel, qb, hd, kb, s, kp, vh + (long)k0 * _v.Stride, _v.Stride, o, hd, true);
                }
                for (int i = 0; i < qb; i++)
                {
                    var dst = new Span<float>(oBlock + (long)i * ld, hd);
                    if (rowSum[i] > 0) TensorPrimitives.Multiply(new ReadOnlySpan<float>(o + (long)i * hd, hd), 1f / rowSum[i], dst);
                    else dst.Clear(); // every key masked
                }
            }
        }
    }

    // Scores of query i against keys k0.. (one row or a block of it): −∞ where |i − j| > window.
    private void MaskOutsideWindow(Span<float> row, int i, int k0)
    {
        int lo = Math.Clamp(i - _window - k0, 0, row.Length), hi = Math.Clamp(i + _window + 1 - k0, lo, row.Length);
        row[..lo].Fill(float.NegativeInfinity);
        row[hi..].Fill(float.NegativeInfinity);
    }

    // C[m, n] (+)= A[m, k]·B[k, n], row-major with strides; RowGemm where it runs, else the packed GEMM on one thread.
    private static void Multiply(bool rowKernel, int m, int n, int k, float* a, int lda, float* b, int ldb, float* c, int ldc, bool accumulate)
    {
        if (rowKernel) { RowGemm.Multiply(m, n, k, a, lda, b, ldb, c, ldc, accumulate); return; }
        Gemm.Multiply(Transpose.No, Transpose.No, m, n, k,
            new ReadOnlySpan<float>(a, (m - 1) * lda + k), lda, new ReadOnlySpan<float>(b, (k - 1) * ldb + n), ldb,
            new Span<float>(c, (m - 1) * ldc + n), ldc, accumulate, parallel: false);
    }

    // C[m, n] = A[m, k]·B[n, k]ᵀ. On RowGemm: Bᵀ into scratch [k, np] (zero past n), the product into a [m, np] scratch
    // block, its n live columns copied to C (RowGemm stores whole 16-column vectors; C's stride is the sequence length).
    // Packing these small products (k = head size, m and n = sequence lengths) cost more than the multiply.
    private static void MultiplyTransB(bool rowKernel, int m, int n, int k, float* a, int lda, float* b, int ldb, float* c, int ldc)
    {
        if (!rowKernel)
        {
            Gemm.Multiply(Transpose.No, Transpose.Yes, m, n, k,
                new ReadOnlySpan<float>(a, (m - 1) * lda + k), lda, new ReadOnlySpan<float>(b, (n - 1) * ldb + k), ldb,
                new Span<float>(c, (m - 1) * ldc + n), ldc, parallel: false);
            return;
        }
        int np = (n + 15) / 16 * 16;
        var scratch = Scratch.ForThisThread;
        fixed (float* bt = Workspace.Ensure(ref scratch.Transposed, k * np), s = Workspace.Ensure(ref scratch.Scores, m * np))
        {
            TransposePadded(b, ldb, n, k, bt, np);
            RowGemm.Multiply(m, np, k, a, lda, bt, np, s, np, accumulate: false);
            for (int i = 0; i < m; i++) new ReadOnlySpan<float>(s + (long)i * np, n).CopyTo(new Span<float>(c + (long)i * ldc, n));
        }
    }

    // dst [cols, width] = src [rows, cols]ᵀ with zeros in columns rows..width−1, for RowGemm's whole 16-column vectors.
    private static void TransposePadded(float* src, int srcStride, int rows, int cols, float* dst, int width)
    {
        BlockTranspose.Run(src, srcStride, rows, cols, dst, width);
        for (int c = 0; c < cols; c++) new Span<float>(dst + (long)c * width + rows, width - rows).Clear();
    }

    // C[m, n] += A[k, m]ᵀ·B[k, n]. On RowGemm (which broadcasts A along its rows) A is transposed into scratch first.
    private static void MultiplyTransA(bool rowKernel, int m, int n, int k, float* a, int lda, float* b, int ldb, float* c, int ldc)
    {
        if (!rowKernel)
        {
            Gemm.Multiply(Transpose.Yes, Transpose.No, m, n, k,
                new ReadOnlySpan<float>(a, (k - 1) * lda + m), lda, new ReadOnlySpan<float>(b, (k - 1) * ldb + n), ldb,
                new Span<float>(c, (m - 1) * ldc + n), ldc, accumulate: true, parallel: false);
            return;
        }
        fixed (float* at = Workspace.Ensure(ref Scratch.ForThisThread.Transposed, m * k))
        {
            BlockTranspose.Run(a, lda, k, m, at, k);
            RowGemm.Multiply(m, n, k, at, k, b, ldb, c, ldc, accumulate: true);
        }
    }

    private void BackwardPiece(int piece)
    {
        var (_, h, qRow, kRow, tq, tk, scores) = Geometry(piece);
        int hd = HeadDim;
        bool rowKernel = RowGemm.Supports(hd);
        var p = _p.AsSpan(scores, tq * tk);
        var ds = _ds.AsSpan(scores, tq * tk);
        var weights = _dropping ? _pd.AsSpan(scores, tq * tk) : p;
        fixed (float* dOut = _dout, qd = _q.Data, kd = _k.Data, vd = _v.Data, dqd = _dq.Data, dkd = _dk.Data, dvd = _dv.Data, dsp = ds, w = weights)
        {
            float* dO = dOut + (long)qRow * OutStride + h * hd;
            float* q = qd + _q.Offset + (long)qRow * _q.Stride + h * hd, dq = dqd + _dq.Offset + (long)qRow * _dq.Stride + h * hd;
            float* k = kd + _k.Offset + (long)kRow * _k.Stride + h * hd, dk = dkd + _dk.Offset + (long)kRow * _dk.Stride + h * hd;
            float* v = vd + _v.Offset + (long)kRow * _v.Stride + h * hd, dv = dvd + _dv.Offset + (long)kRow * _dv.Stride + h * hd;
            // dP = dO · Vᵀ   [tq, tk]
            MultiplyTransB(rowKernel, tq, tk, hd, dO, OutStride, v, _v.Stride, dsp, tk);
            // dV += P_keptᵀ · dO  [tk, hd]
            MultiplyTransA(rowKernel, tk, hd, tq, w, tk, dO, OutStride, dv, _dv.Stride);
            if (_dropping)
            {
                // through the dropout: dP ⊙ mask / (1 − p), the mask being where the kept weights are non-zero (a weight
                // that is 0 before dropout has no gradient through the softmax either)
                float keep = 1f / (1f - DropoutP);
                for (int i = 0; i < ds.Length; i++) ds[i] = weights[i] != 0f ? ds[i] * keep : 0f;
            }
            // dS = scale · P ⊙ (dP − rowsum(dP ⊙ P)); masked entries have P = 0 and so dS = 0
            Softmax.Backward(p, ds, ds, tq, tk);
            if (_bias is not null && _biasLearned) // the bias of offset j − i gathers dS[i, j] (before the scale: it is added after it)
            {
                var grad = _biasGrad.AsSpan(piece * BiasWidth, BiasWidth);
                for (int i = 0; i < tq; i++)
                {
                    var slice = grad.Slice(_biasBound - 1 - i, tk);
                    TensorPrimitives.Add(slice, ds.Slice(i * tk, tk), slice);
                }
            }
            if (_terms is not null) ds.CopyTo(_termsGrad.AsSpan(scores, tq * tk)); // added after the scale, as the bias
            TensorPrimitives.Multiply(ds, Scale, ds);
            // dQ += dS · K   [tq, hd]
            Multiply(rowKernel, tq, hd, tk, dsp, tk, k, _k.Stride, dq, _dq.Stride, true);
            // dK += dSᵀ · Q  [tk, hd]
            MultiplyTransA(rowKernel, tk, hd, tq, dsp, tk, q, _q.Stride, dk, _dk.Stride);
        }
    }
}
