namespace MLNetTransformers.Core.Layers;

/// <summary>
/// softmax(scale·Q·Kᵀ + masks)·V for every (batch, head), heads side by side in the feature axis
/// (head h uses columns h·hd..(h+1)·hd of Q, K, V), and its backward. The attention weights of the last
/// Forward are kept: backward needs them, and callers can read them.
/// Pieces (b, h) run in parallel, each with single-threaded GEMMs on strided views, so no head is copied.
/// </summary>
internal sealed class ScaledDotProductAttention : IParallelWork
{
    private float[]? _p, _ds;
    private MatrixView _q, _k, _v, _dq, _dk, _dv;
    private float[] _out = Array.Empty<float>(), _dout = Array.Empty<float>();
    private bool[]? _keyPadding;
    private bool _backward;

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

    /// <summary>Attention weights of the last Forward, [B, H, Tq, Tk]; masked entries are 0.</summary>
    public ReadOnlySpan<float> Weights => _p.AsSpan(0, Batch * Heads * QueryLength * KeyLength);

    /// <summary>
    /// output[b, i, h·hd..] = Σ_j P[b,h,i,j]·V[b, j, h·hd..].
    /// <paramref name="keyPadding"/>: [B, Tk], true = padded key (never attended). Query rows with every key
    /// masked get zero weights and zero output.
    /// </summary>
    public void Forward(MatrixView q, MatrixView k, MatrixView v, float[] output, int batch, int heads, int queryLength, int keyLength,
        int headDim, float scale, bool causal, bool[]? keyPadding)
    {
        if (keyPadding is not null && keyPadding.Length < batch * keyLength)
            throw new ArgumentException($"Key padding mask has {keyPadding.Length} entries; [{batch}, {keyLength}] needs {batch * keyLength}.", nameof(keyPadding));
        (_q, _k, _v, _out) = (q, k, v, output);
        (Batch, Heads, QueryLength, KeyLength, HeadDim, Scale, Causal) = (batch, heads, queryLength, keyLength, headDim, scale, causal);
        _keyPadding = keyPadding;
        Workspace.Ensure(ref _p, batch * heads * queryLength * keyLength);
        _backward = false;
        WorkerPool.For(batch * heads, this);
    }

    /// <summary>
    /// From dOutput (same layout as the output) adds the gradients into dq, dk, dv (which may be views of one
    /// buffer; callers clear them first).
    /// </summary>
    public void Backward(float[] dOutput, MatrixView dq, MatrixView dk, MatrixView dv)
    {
        (_dout, _dq, _dk, _dv) = (dOutput, dq, dk, dv);
        Workspace.Ensure(ref _ds, Batch * Heads * QueryLength * KeyLength);
        _backward = true;
        // Pieces of one batch element share dq/dk/dv rows when the views alias (SimplifiedSelfAttention with one
        // head), but never columns across heads, and different batch elements never share rows: no races.
        WorkerPool.For(Batch * Heads, this);
    }

    void IParallelWork.Run(int piece)
    {
        if (_backward) BackwardPiece(piece);
        else ForwardPiece(piece);
    }

    private int OutStride => Heads * HeadDim;

    private void ForwardPiece(int piece)
    {
        int b = piece / Heads, h = piece % Heads;
        int tq = QueryLength, tk = KeyLength, hd = HeadDim;
        var p = _p.AsSpan(piece * tq * tk, tq * tk);
        // scores[i, j] = Q_bh[i] · K_bh[j]
        Gemm.Multiply(Transpose.No, Transpose.Yes, tq, tk, hd,
            _q.Data.AsSpan(_q.Offset + b * tq * _q.Stride + h * hd), _q.Stride,
            _k.Data.AsSpan(_k.Offset + b * tk * _k.Stride + h * hd), _k.Stride,
            p, tk, parallel: false);
        TensorPrimitives.Multiply(p, Scale, p);
        var pad = _keyPadding is null ? default : _keyPadding.AsSpan(b * tk, tk);
        for (int i = 0; i < tq; i++)
        {
            var row = p.Slice(i * tk, tk);
            int valid = Causal ? Math.Clamp(i + 1 + tk - tq, 0, tk) : tk;
            if (!pad.IsEmpty)
                for (int j = 0; j < valid; j++) if (pad[j]) row[j] = float.NegativeInfinity;
            Softmax.InPlace(row, valid);
        }
        // out_bh = P · V_bh
        Gemm.Multiply(Transpose.No, Transpose.No, tq, hd, tk,
            p, tk,
            _v.Data.AsSpan(_v.Offset + b * tk * _v.Stride + h * hd), _v.Stride,
            _out.AsSpan(b * tq * OutStride + h * hd), OutStride, parallel: false);
    }

    private void BackwardPiece(int piece)
    {
        int b = piece / Heads, h = piece % Heads;
        int tq = QueryLength, tk = KeyLength, hd = HeadDim;
        var p = _p.AsSpan(piece * tq * tk, tq * tk);
        var ds = _ds.AsSpan(piece * tq * tk, tq * tk);
        var dO = _dout.AsSpan(b * tq * OutStride + h * hd);
        var v = _v.Data.AsSpan(_v.Offset + b * tk * _v.Stride + h * hd);
        var k = _k.Data.AsSpan(_k.Offset + b * tk * _k.Stride + h * hd);
        var q = _q.Data.AsSpan(_q.Offset + b * tq * _q.Stride + h * hd);
        // dP = dO · Vᵀ   [tq, tk]
        Gemm.Multiply(Transpose.No, Transpose.Yes, tq, tk, hd, dO, OutStride, v, _v.Stride, ds, tk, parallel: false);
        // dV += Pᵀ · dO  [tk, hd]
        Gemm.Multiply(Transpose.Yes, Transpose.No, tk, hd, tq, p, tk, dO, OutStride,
            _dv.Data.AsSpan(_dv.Offset + b * tk * _dv.Stride + h * hd), _dv.Stride, accumulate: true, parallel: false);
        // dS = scale · P ⊙ (dP − rowsum(dP ⊙ P)); masked entries have P = 0 and so dS = 0
        Softmax.Backward(p, ds, ds, tq, tk);
        TensorPrimitives.Multiply(ds, Scale, ds);
        // dQ += dS · K   [tq, hd]
        Gemm.Multiply(Transpose.No, Transpose.No, tq, hd, tk, ds, tk, k, _k.Stride,
            _dq.Data.AsSpan(_dq.Offset + b * tq * _dq.Stride + h * hd), _dq.Stride, accumulate: true, parallel: false);
        // dK += dSᵀ · Q  [tk, hd]
        Gemm.Multiply(Transpose.Yes, Transpose.No, tk, hd, tq, ds, tk, q, _q.Stride,
            _dk.Data.AsSpan(_dk.Offset + b * tk * _dk.Stride + h * hd), _dk.Stride, accumulate: true, parallel: false);
    }
}
