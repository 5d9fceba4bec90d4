namespace MLNetTransformers.Core.Layers;

/// <summary>
/// Attention of an RNN decoder over its encoder's states (Bahdanau additive, Luong dot or general): each step scores
/// every unpadded encoder state h_j against the decoder's query s, softmaxes the scores into weights α and returns the
/// context Σ α_j·h_j. The keys (W_h·h_j for additive, W_a·h_j for general, h_j for dot) are projected once per batch.
/// Additive: <c>{prefix}attn_w.weight</c> [Q, Q + K] (query columns first, as PyTorch code that scores
/// <c>cat([s, h])</c> has it), <c>attn_w.bias</c> [Q], <c>attn_v.weight</c> [1, Q]; general: <c>attn_a.weight</c> [Q, K].
/// Training: <see cref="Begin"/> once per batch, <see cref="Forward"/> per step t (weights kept per step),
/// <see cref="Backward"/> per step in reverse, then <see cref="EndBackward"/>.
/// </summary>
public sealed class RnnAttention
{
    private readonly ParameterTensor? _w, _b, _v, _a;
    private float[] _enc = Array.Empty<float>();
    private int[] _lengths = Array.Empty<int>();
    private float[]? _keys, _alpha, _q, _qp, _ctx, _dqp, _denc, _dkeys, _scores, _rowCtx;
    private int _batch, _srcLen;

    /// <summary>Declares the attention's parameters.</summary>
    /// <param name="parameters">The parameter set the weights are declared in (and allocated by its owner).</param>
    /// <param name="prefix">Prefix of the parameter names.</param>
    /// <param name="kind">Additive, dot or general scoring.</param>
    /// <param name="queryDim">Width Q of the decoder state.</param>
    /// <param name="keyDim">Width K of each encoder state.</param>
    public RnnAttention(ParameterSet parameters, string prefix, RnnAttentionKind kind, int queryDim, int keyDim)
    {
        if (kind == RnnAttentionKind.Dot && queryDim != keyDim)
            throw new ArgumentException($"Dot attention needs the decoder state ({queryDim}) and the encoder states ({keyDim}) to have the same width.", nameof(keyDim));
        (Kind, QueryDim, KeyDim) = (kind, queryDim, keyDim);
        float bound = 1f / MathF.Sqrt(queryDim + keyDim);
        if (kind == RnnAttentionKind.Additive)
        {
            _w = parameters.Add(prefix + "attn_w.weight", new[] { queryDim, queryDim + keyDim }, Init.Uniform(bound), decay: true);
            _b = parameters.Add(prefix + "attn_w.bias", new[] { queryDim }, Init.Uniform(bound), decay: false);
            _v = parameters.Add(prefix + "attn_v.weight", new[] { 1, queryDim }, Init.Uniform(1f / MathF.Sqrt(queryDim)), decay: true);
        }
        else if (kind == RnnAttentionKind.General)
            _a = parameters.Add(prefix + "attn_a.weight", new[] { queryDim, keyDim }, Init.Uniform(1f / MathF.Sqrt(keyDim)), decay: true);
    }

    /// <summary>Scoring function.</summary>
    public RnnAttentionKind Kind { get; }
    /// <summary>Query (decoder state) width Q.</summary>
    public int QueryDim { get; }
    /// <summary>Key (encoder state) width K.</summary>
    public int KeyDim { get; }
    private int KeyWidth => Kind == RnnAttentionKind.Dot ? KeyDim : QueryDim; // width of a projected key

    /// <summary>Keys of one source's states [S, K] for decoding (<see cref="ForwardRows"/>): [S, Q] projections, or the states themselves for dot attention.</summary>
    /// <param name="encoderStates">States [S, K].</param>
    /// <param name="length">S.</param>
    public float[] ProjectKeys(float[] encoderStates, int length)
    {
        if (Kind == RnnAttentionKind.Dot) return encoderStates;
        var keys = new float[length * QueryDim];
        Project(encoderStates, length, keys);
        return keys;
    }

    private void Project(ReadOnlySpan<float> enc, int n, Span<float> keys)
    {
        int q = QueryDim, k = KeyDim;
        if (Kind == RnnAttentionKind.Additive) // enc·W_hᵀ with W_h = columns Q.. of attn_w
            Gemm.Multiply(Transpose.No, Transpose.Yes, n, q, k, enc, k, _w!.Value[q..], q + k, keys, q);
        else Gemm.MatMulTransB(enc[..(n * k)], _a!.Value, keys[..(n * q)], n, q, k);
    }

    /// <summary>Starts a batch: encoder states [B, S, K] with each row's length; keeps storage for <paramref name="steps"/> steps.</summary>
    /// <param name="encoderStates">States [B, S, K] (zeros at padding are fine: padded positions are never attended to).</param>
    /// <param name="batch">B.</param>
    /// <param name="srcLen">S.</param>
    /// <param name="lengths">Each row's unpadded length.</param>
    /// <param name="steps">Decoder steps of the batch.</param>
    public void Begin(float[] encoderStates, int batch, int srcLen, int[] lengths, int steps)
    {
        (_enc, _batch, _srcLen, _lengths) = (encoderStates, batch, srcLen, lengths);
        int n = batch * srcLen;
        if (Kind != RnnAttentionKind.Dot) Project(encoderStates, n, Workspace.Ensure(ref _keys, n * QueryDim));
        Workspace.Ensure(ref _alpha, steps * n);
        Workspace.Ensure(ref _q, steps * batch * QueryDim);
        Workspace.Ensure(ref _qp, steps * batch * QueryDim);
        Workspace.Ensure(ref _ctx, batch * KeyDim);
        Workspace.Ensure(ref _denc, n * KeyDim).AsSpan(0, n * KeyDim).Clear();
        Workspace.Ensure(ref _dkeys, n * KeyWidth).AsSpan(0, n * KeyWidth).Clear();
    }

    private ReadOnlySpan<float> Keys => Kind == RnnAttentionKind.Dot ? _enc : _keys;

    /// <summary>Step <paramref name="t"/>: query [B, Q] → context [B, K] (a buffer reused by the next call); the weights are kept.</summary>
    /// <param name="t">The step.</param>
    /// <param name="query">The decoder states the step scores with [B, Q].</param>
    public float[] Forward(int t, ReadOnlySpan<float> query)
    {
        int b = _batch, s = _srcLen, q = QueryDim, k = KeyDim;
        var qs = _q.AsSpan(t * b * q, b * q);
        query[..(b * q)].CopyTo(qs);
        var qp = _qp.AsSpan(t * b * q, b * q);
        if (Kind == RnnAttentionKind.Additive)
        {
            Gemm.Multiply(Transpose.No, Transpose.Yes, b, q, q, qs, q, _w!.Value, q + k, qp, q);
            Linear.AddBias(qp, b, q, _b!.Value);
        }
        var alpha = _alpha.AsSpan(t * b * s, b * s);
        var ctx = _ctx!;
        for (int r = 0; r < b; r++)
            Attend(Kind == RnnAttentionKind.Additive ? qp.Slice(r * q, q) : qs.Slice(r * q, q), Keys.Slice(r * s * KeyWidth, s * KeyWidth),
                _enc.AsSpan(r * s * k, s * k), _lengths[r], alpha.Slice(r * s, s), ctx.AsSpan(r * k, k));
        return ctx;
    }

    // One row: weights over its n states and the context.
    private void Attend(ReadOnlySpan<float> query, ReadOnlySpan<float> keys, ReadOnlySpan<float> enc, int n, Span<float> alpha, Span<float> ctx)
    {
        int q = QueryDim, k = KeyDim, kw = KeyWidth;
        var u = Workspace.Ensure(ref _scores, q).AsSpan(0, q);
        for (int j = 0; j < n; j++)
        {
            if (Kind == RnnAttentionKind.Additive)
            {
                TensorPrimitives.Add(query, keys.Slice(j * kw, kw), u);
                TensorPrimitives.Tanh(u, u);
                alpha[j] = TensorPrimitives.Dot(u, _v!.Value);
            }
            else alpha[j] = TensorPrimitives.Dot(query, keys.Slice(j * kw, kw));
        }
        Softmax.InPlace(alpha, n);
        ctx.Clear();
        for (int j = 0; j < n; j++) TensorPrimitives.MultiplyAdd(enc.Slice(j * k, k), alpha[j], ctx, ctx);
    }

    /// <summary>Attention weights [B, S] of step <paramref name="t"/> (zeros at padding).</summary>
    /// <param name="t">The step.</param>
    public ReadOnlySpan<float> Weights(int t) => _alpha.AsSpan(t * _batch * _srcLen, _batch * _srcLen);

    /// <summary>Backward of step <paramref name="t"/>: dctx [B, K] → dquery [B, Q] (written); encoder gradients accumulate until <see cref="EndBackward"/>.</summary>
    /// <param name="t">The step.</param>
    /// <param name="dctx">Gradient with respect to the step's context.</param>
    /// <param name="dquery">Receives the gradient with respect to the step's query.</param>
    public void Backward(int t, ReadOnlySpan<float> dctx, Span<float> dquery)
    {
        int b = _batch, s = _srcLen, q = QueryDim, k = KeyDim, kw = KeyWidth;
        var alpha = _alpha.AsSpan(t * b * s, b * s);
        var qs = _q.AsSpan(t * b * q, b * q);
        var qp = _qp.AsSpan(t * b * q, b * q);
        var dqp = Workspace.Ensure(ref _dqp, b * q).AsSpan(0, b * q);
        var keys = Keys;
        var dkeys = _dkeys.AsSpan();
        var dscore = Workspace.Ensure(ref _rowCtx, Math.Max(s, q)).AsSpan(0, s);
        var u = Workspace.Ensure(ref _scores, q).AsSpan(0, q);
        dqp.Clear();
        for (int r = 0; r < b; r++)
        {
            int n = _lengths[r];
            var a = alpha.Slice(r * s, s);
            var dc = dctx.Slice(r * k, k);
            // α_j's gradient, its context contribution, then softmax backward: dscore = α ⊙ (dα − Σ α dα).
            double sum = 0;
            for (int j = 0; j < n; j++)
            {
                var h = _enc.AsSpan((r * s + j) * k, k);
                dscore[j] = TensorPrimitives.Dot(dc, h);
                sum += a[j] * dscore[j];
                var dh = _denc.AsSpan((r * s + j) * k, k);
                TensorPrimitives.MultiplyAdd(dc, a[j], dh, dh);
            }
            for (int j = 0; j < n; j++) dscore[j] = a[j] * (dscore[j] - (float)sum);
            var dqr = dqp.Slice(r * q, q);
            for (int j = 0; j < n; j++)
            {
                var key = keys.Slice((r * s + j) * kw, kw);
                var dkey = dkeys.Slice((r * s + j) * kw, kw);
                if (Kind == RnnAttentionKind.Additive)
                {
                    // score = v·tanh(qp + key): dpre = dscore·v ⊙ (1 − u²), into qp and key; dv += dscore·u.
                    TensorPrimitives.Add(qp.Slice(r * q, q), key, u);
                    TensorPrimitives.Tanh(u, u);
                    TensorPrimitives.MultiplyAdd(u, dscore[j], _v!.Grad, _v.Grad);
                    for (int i = 0; i < q; i++) u[i] = dscore[j] * _v.Value[i] * (1f - u[i] * u[i]);
                    TensorPrimitives.Add(dqr, u, dqr);
                    TensorPrimitives.Add(dkey, u, dkey);
                }
                else
                {
                    TensorPrimitives.MultiplyAdd(key, dscore[j], dqr, dqr);                  // score = query·key
                    TensorPrimitives.MultiplyAdd(qs.Slice(r * q, q), dscore[j], dkey, dkey);
                }
            }
        }
        if (Kind == RnnAttentionKind.Additive)
        {
            // qp = query·W_qᵀ + b with W_q = columns 0..Q of attn_w.
            Gemm.Multiply(Transpose.Yes, Transpose.No, q, q, b, dqp, q, qs, q, _w!.Grad, q + k, accumulate: true);
            ColumnSum.Run(dqp, b, q, _b!.Grad);
            Gemm.Multiply(Transpose.No, Transpose.No, b, q, q, dqp, q, _w.Value, q + k, dquery, q);
        }
        else dqp.CopyTo(dquery);
    }

    /// <summary>Ends a backward pass: the gradient with respect to the encoder states [B, S, K] (the key projection's included).</summary>
    public float[] EndBackward()
    {
        int n = _batch * _srcLen, q = QueryDim, k = KeyDim;
        var denc = _denc!;
        if (Kind == RnnAttentionKind.Dot) TensorPrimitives.Add(denc.AsSpan(0, n * k), _dkeys.AsSpan(0, n * k), denc.AsSpan(0, n * k));
        else
        {
            var w = Kind == RnnAttentionKind.Additive ? _w! : _a!;
            int ld = Kind == RnnAttentionKind.Additive ? q + k : k, off = Kind == RnnAttentionKind.Additive ? q : 0;
            Gemm.Multiply(Transpose.Yes, Transpose.No, q, k, n, _dkeys, q, _enc, k, w.Grad[off..], ld, accumulate: true); // dW_h += dkeysᵀ·enc
            Gemm.Multiply(Transpose.No, Transpose.No, n, k, q, _dkeys, q, w.Value[off..], ld, denc, k, accumulate: true);   // denc += dkeys·W_h
        }
        return denc;
    }

    /// <summary>Decoding: one query per row over that row's own source (rows of one source share its arrays); returns the contexts [rows, K].</summary>
    /// <param name="query">Queries [rows, Q].</param>
    /// <param name="rows">Rows.</param>
    /// <param name="encoderStates">Each row's source states [S_r, K].</param>
    /// <param name="keys">Each row's keys from <see cref="ProjectKeys"/>.</param>
    /// <param name="lengths">Each row's S_r.</param>
    public float[] ForwardRows(ReadOnlySpan<float> query, int rows, IReadOnlyList<float[]> encoderStates, IReadOnlyList<float[]> keys, int[] lengths)
    {
        int q = QueryDim, k = KeyDim;
        var qp = Workspace.Ensure(ref _qp, rows * q).AsSpan(0, rows * q);
        if (Kind == RnnAttentionKind.Additive)
        {
            Gemm.Multiply(Transpose.No, Transpose.Yes, rows, q, q, query, q, _w!.Value, q + k, qp, q);
            Linear.AddBias(qp, rows, q, _b!.Value);
        }
        else query[..(rows * q)].CopyTo(qp);
        var ctx = Workspace.Ensure(ref _ctx, rows * k);
        int widest = lengths.Take(rows).DefaultIfEmpty(1).Max();
        var alpha = Workspace.Ensure(ref _alpha, widest);
        for (int r = 0; r < rows; r++)
        {
            Attend(qp.Slice(r * q, q), keys[r], encoderStates[r], lengths[r], alpha.AsSpan(0, lengths[r]), ctx.AsSpan(r * k, k));
        }
        return ctx;
    }
}
