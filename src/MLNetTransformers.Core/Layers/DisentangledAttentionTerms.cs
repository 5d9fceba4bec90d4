namespace MLNetTransformers.Core.Layers;

/// <summary>
/// DeBERTa's disentangled attention terms of one self-attention layer (DeBERTa-v2's <c>disentangled_attention_bias</c> with
/// <c>share_att_key</c> and <c>pos_att_type</c> c2p|p2c): the layer's query and key projections of the shared relative
/// positions (<see cref="DisentangledPositions"/>), Qr = R·Wqᵀ + bq and Kr = R·Wkᵀ + bk [rows, A], made with its query
/// and key weights or, in DeBERTa v1, with projections of its own (<see cref="DisentangledProjections"/>: Kr without a
/// bias), add to the score of query i and key j, per head,
/// scale · (q_i · Kr[ρ(i − j)] + k_j · Qr[ρ(i − j)])
/// (content-to-position and position-to-content), scale = 1/√(3·hd) as the content score's. The terms are laid out as the
/// attention's scores (<see cref="ScaledDotProductAttention"/>: per sequence and head, padded or packed) and added there;
/// their gradient comes back in the same layout and goes into Q, K, the projections and the shared rows.
/// </summary>
internal sealed class DisentangledAttentionTerms : IParallelWork
{
    private readonly DisentangledPositions _positions;
    private readonly MultiHeadAttention _attention;
    private float[]? _qr, _kr, _terms, _partial, _dqrSum, _dkrSum, _dRows;
    private float[] _rows = Array.Empty<float>(); // the shared rows as this layer saw them (after its dropout in training)
    private readonly Dropout _drop;
    private int[]? _rowOf;
    private float[] _qkv = Array.Empty<float>(), _dTerms = Array.Empty<float>(), _dqkv = Array.Empty<float>();
    private int _batch, _seqLen, _rowCount;
    private PackedSequences? _packed;
    private long[]? _starts;
    private bool _backward;

    public DisentangledAttentionTerms(DisentangledPositions positions, MultiHeadAttention attention)
    {
        (_positions, _attention) = (positions, attention);
        _drop = new Dropout(positions.Dropout, DropoutSeed(attention.AttentionDropoutSeed));
    }

    // DeBERTa's pos_dropout on the rows this layer projects: masks of their own, restarted with the attention's.
    private static ulong DropoutSeed(ulong attentionSeed) => attentionSeed ^ 0x5DEECE66DUL;

    /// <summary>Restarts the rows' dropout masks from <paramref name="attentionSeed"/> (as the attention's restart).</summary>
    public void RestartDropout(ulong attentionSeed)
    {
        _drop.Seed = DropoutSeed(attentionSeed);
        _drop.Restart();
    }

    /// <summary>The shared relative positions.</summary>
    public DisentangledPositions Positions => _positions;

    /// <summary>The score scale of a layer with these terms: 1/√(3·hd), DeBERTa's for c2p and p2c.</summary>
    public float Scale => 1f / MathF.Sqrt(3f * _attention.HeadDim);

    private int A => _attention.AttnDim;

    // The projections of the positions: the layer's own (DeBERTa v1: Kr without a bias), or its query and key weights and biases.
    private Span<float> QueryWeight => _attention.PositionProjections is { } own ? own.QueryWeight.Value : _attention.InProjWeight.Value[..(A * _attention.InDim)];
    private Span<float> KeyWeight => _attention.PositionProjections is { } own ? own.KeyWeight.Value : _attention.InProjWeight.Value[(A * _attention.InDim)..(2 * A * _attention.InDim)];
    private Span<float> QueryBias => _attention.PositionProjections is { } own ? own.QueryBias.Value : _attention.InProjBias is { } b ? b.Value[..A] : default;
    private Span<float> KeyBias => _attention.PositionProjections is null && _attention.InProjBias is { } b ? b.Value[A..(2 * A)] : default;
    private int Hd => _attention.HeadDim;
    private int Heads => _attention.Heads;

    // Sequence b's tokens, its first row in qkv and its score blocks' start (ScaledDotProductAttention.ScoreStarts).
    private (int Length, int Row, long Scores) Sequence(int b) => _packed is null
        ? (_seqLen, b * _seqLen, _starts![b])
        : (_packed.LengthArray[b], _packed.StartArray[b], _starts![b]);

    /// <summary>
    /// The terms of every score, in the attention's score layout, from qkv [n, 3A] (this layer's projections) for a batch
    /// of <paramref name="batch"/> sequences padded to <paramref name="seqLen"/>, or packed.
    /// </summary>
    public float[] Forward(float[] qkv, int batch, int seqLen, PackedSequences? packed, bool training)
    {
        (_qkv, _batch, _seqLen, _packed) = (qkv, batch, seqLen, packed);
        int a = A, d = _attention.InDim, rows = _positions.RowCount;
        _rowCount = rows;
        long total = ScaledDotProductAttention.ScoreStarts(batch, Heads, seqLen, packed, Workspace.Ensure(ref _starts, batch));
        // ρ(i − j) for i − j = −(T − 1)..T − 1, as a row of the normalized slice.
        var rowOf = Workspace.Ensure(ref _rowOf, 2 * seqLen - 1);
        for (int o = -(seqLen - 1); o < seqLen; o++) rowOf[o + seqLen - 1] = _positions.Row(o) - _positions.FirstRow;
        // Qr, Kr [rows, A] = R · W{q,k}ᵀ + b{q,k}, R after this layer's dropout in training
        _rows = _drop.Forward(_positions.RowsArray, rows * d, training);
        var rowsSeen = _rows.AsSpan(0, rows * d);
        var qr = Workspace.Ensure(ref _qr, rows * a);
        var kr = Workspace.Ensure(ref _kr, rows * a);
        Gemm.MatMulTransB(rowsSeen, QueryWeight, qr.AsSpan(0, rows * a), rows, a, d, QueryBias);
        Gemm.MatMulTransB(rowsSeen, KeyWeight, kr.AsSpan(0, rows * a), rows, a, d, KeyBias);
        Workspace.Ensure(ref _terms, checked((int)total));
        _backward = false;
        WorkerPool.For(batch * Heads, this);
        return _terms!;
    }

    /// <summary>
    /// From the terms' gradient (the attention's <see cref="ScaledDotProductAttention.ScoreTermsGradient"/>, before the
    /// scale) adds into dqkv's Q and K columns, the input projection's weight and bias gradients (query and key rows) and
    /// the shared rows' gradient.
    /// </summary>
    public void Backward(float[] dTerms, float[] dqkv)
    {
        (_dTerms, _dqkv) = (dTerms, dqkv);
        int pieces = _batch * Heads, rows = _rowCount, hd = Hd, a = A, d = _attention.InDim;
        // Each piece's dQr and dKr of its head [rows, hd] apart, summed in piece order afterwards (deterministic).
        Workspace.Ensure(ref _partial, pieces * 2 * rows * hd);
        _backward = true;
        WorkerPool.For(pieces, this);
        var dqr = Workspace.Ensure(ref _dqrSum, rows * a);
        var dkr = Workspace.Ensure(ref _dkrSum, rows * a);
        dqr.AsSpan(0, rows * a).Clear();
        dkr.AsSpan(0, rows * a).Clear();
        for (int piece = 0; piece < pieces; piece++)
        {
            int h = piece % Heads;
            var part = _partial.AsSpan(piece * 2 * rows * hd, 2 * rows * hd);
            for (int r = 0; r < rows; r++)
            {
                var q = dqr.AsSpan(r * a + h * hd, hd);
                var k = dkr.AsSpan(r * a + h * hd, hd);
                TensorPrimitives.Add(q, part.Slice(r * hd, hd), q);
                TensorPrimitives.Add(k, part.Slice((rows + r) * hd, hd), k);
            }
        }
        // Through Qr = R·Wqᵀ + bq and Kr = R·Wkᵀ + bk: the weights' and biases' gradients, and R's.
        var rowsSeen = _rows.AsSpan(0, rows * d);
        var own = _attention.PositionProjections;
        var bias = _attention.InProjBias;
        Gemm.MatMulTransA(dqr.AsSpan(0, rows * a), rowsSeen, own is null ? _attention.InProjWeight.Grad[..(a * d)] : own.QueryWeight.Grad, a, d, rows, accumulate: true);
        Gemm.MatMulTransA(dkr.AsSpan(0, rows * a), rowsSeen, own is null ? _attention.InProjWeight.Grad[(a * d)..(2 * a * d)] : own.KeyWeight.Grad, a, d, rows, accumulate: true);
        if (own is not null) ColumnSum.Run(dqr, rows, a, own.QueryBias.Owner.Grad, own.QueryBias.Offset);
        else if (bias is not null)
        {
            ColumnSum.Run(dqr, rows, a, bias.Owner.Grad, bias.Offset);
            if (_attention.KeyBias) ColumnSum.Run(dkr, rows, a, bias.Owner.Grad, bias.Offset + a);
        }
        var dSeen = Workspace.Ensure(ref _dRows, rows * d);
        Gemm.MatMul(dqr.AsSpan(0, rows * a), QueryWeight, dSeen.AsSpan(0, rows * d), rows, d, a);
        Gemm.MatMul(dkr.AsSpan(0, rows * a), KeyWeight, dSeen.AsSpan(0, rows * d), rows, d, a, accumulate: true);
        var dr = _positions.RowsGrad.AsSpan(0, rows * d);
        TensorPrimitives.Add(dr, _drop.Backward(dSeen, rows * d, inPlace: true).AsSpan(0, rows * d), dr); // through this layer's dropout
    }

    void IParallelWork.Run(int piece)
    {
        if (_backward) BackwardPiece(piece);
        else ForwardPiece(piece);
    }

    // Per-thread scratch: content-to-position C2P [len, rows] and position-to-content P2C [len, rows] of one piece (or their gradients).
    [ThreadStatic] private static float[]? t_c2p, t_p2c;

    // Piece (b, h): C2P = Q·Krᵀ and P2C = K·Qrᵀ [len, rows] as two GEMMs, then
    // terms[i, j] = scale · (C2P[i, ρ(i − j)] + P2C[j, ρ(i − j)]) over the sequence's own tokens.
    private void ForwardPiece(int piece)
    {
        int b = piece / Heads, h = piece % Heads, hd = Hd, a3 = 3 * A, a = A, off = _seqLen - 1, rows = _rowCount;
        var (len, row0, scores) = Sequence(b);
        var terms = _terms.AsSpan((int)(scores + (long)h * len * len), len * len);
        var c2p = Workspace.Ensure(ref t_c2p, len * rows);
        var p2c = Workspace.Ensure(ref t_p2c, len * rows);
        Gemm.Multiply(Transpose.No, Transpose.Yes, len, rows, hd, _qkv.AsSpan(row0 * a3 + h * hd, (len - 1) * a3 + hd), a3,
            _kr.AsSpan(h * hd, (rows - 1) * a + hd), a, c2p.AsSpan(0, len * rows), rows, parallel: false);
        Gemm.Multiply(Transpose.No, Transpose.Yes, len, rows, hd, _qkv.AsSpan(row0 * a3 + a + h * hd, (len - 1) * a3 + hd), a3,
            _qr.AsSpan(h * hd, (rows - 1) * a + hd), a, p2c.AsSpan(0, len * rows), rows, parallel: false);
        float scale = Scale;
        var rowOf = _rowOf!;
        for (int i = 0; i < len; i++)
            for (int j = 0; j < len; j++)
            {
                int r = rowOf[i - j + off];
                terms[i * len + j] = scale * (c2p[i * rows + r] + p2c[j * rows + r]);
            }
    }

    // dC2P[i, ρ] and dP2C[j, ρ] gather s·dT[i, j]; then dQ += dC2P·Kr, dK += dP2C·Qr, and this piece's dKr = dC2Pᵀ·Q and
    // dQr = dP2Cᵀ·K (summed over the batch afterwards), four GEMMs.
    private void BackwardPiece(int piece)
    {
        int b = piece / Heads, h = piece % Heads, hd = Hd, a3 = 3 * A, a = A, off = _seqLen - 1, rows = _rowCount;
        var (len, row0, scores) = Sequence(b);
        var dT = _dTerms.AsSpan((int)(scores + (long)h * len * len), len * len);
        var part = _partial.AsSpan(piece * 2 * rows * hd, 2 * rows * hd);
        var dc2p = Workspace.Ensure(ref t_c2p, len * rows).AsSpan(0, len * rows);
        var dp2c = Workspace.Ensure(ref t_p2c, len * rows).AsSpan(0, len * rows);
        dc2p.Clear();
        dp2c.Clear();
        float scale = Scale;
        var rowOf = _rowOf!;
        for (int i = 0; i < len; i++)
            for (int j = 0; j < len; j++)
            {
                float g = scale * dT[i * len + j];
                int r = rowOf[i - j + off];
                dc2p[i * rows + r] += g;
                dp2c[j * rows + r] += g;
            }
        var q = _qkv.AsSpan(row0 * a3 + h * hd, (len - 1) * a3 + hd);
        var k = _qkv.AsSpan(row0 * a3 + a + h * hd, (len - 1) * a3 + hd);
        Gemm.Multiply(Transpose.No, Transpose.No, len, hd, rows, dc2p, rows, _kr.AsSpan(h * hd, (rows - 1) * a + hd), a,
            _dqkv.AsSpan(row0 * a3 + h * hd, (len - 1) * a3 + hd), a3, accumulate: true, parallel: false);
        Gemm.Multiply(Transpose.No, Transpose.No, len, hd, rows, dp2c, rows, _qr.AsSpan(h * hd, (rows - 1) * a + hd), a,
            _dqkv.AsSpan(row0 * a3 + a + h * hd, (len - 1) * a3 + hd), a3, accumulate: true, parallel: false);
        Gemm.Multiply(Transpose.Yes, Transpose.No, rows, hd, len, dp2c, rows, k, a3, part[..(rows * hd)], hd, accumulate: false, parallel: false);
        Gemm.Multiply(Transpose.Yes, Transpose.No, rows, hd, len, dc2p, rows, q, a3, part[(rows * hd)..], hd, accumulate: false, parallel: false);
    }
}
