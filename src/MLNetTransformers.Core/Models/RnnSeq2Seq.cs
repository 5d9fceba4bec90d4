namespace MLNetTransformers.Core.Models;

/// <summary>
/// The encoder-decoders the transformer grew from. A bidirectional GRU reads the embedded source; its final states,
/// through <c>bridge</c> (tanh), start a GRU decoder. Without attention (Cho et al. 2014) the final states are the one
/// context vector c the decoder sees: input [e; c], output from [s; c; e]. With additive attention (Bahdanau et al.
/// 2015) the context is recomputed at every step from the previous decoder state over every encoder state; with
/// Luong's dot or general attention the new state scores the encoder states and h̃ = tanh(W_c·[c; s]) predicts the
/// word. Forward and backward through time over teacher-forced targets, label smoothing, padding on both sides.
/// Shapes: E = embedding, He = encoder hidden per direction, K = 2·He, H = decoder hidden (ModelDim).
/// Parameters: <c>src_tok</c>, <c>tgt_tok</c>, <c>encoder.*</c> (nn.GRU names), <c>bridge</c>, <c>attn_*</c>,
/// <c>decoder.*</c>, <c>combine</c> (Luong), <c>out</c>.
/// </summary>
public sealed class RnnSeq2Seq : Seq2SeqModel
{
    private readonly Dropout _srcDrop, _tgtDrop, _outDrop;
    private readonly ParameterTensor? _combineW, _combineB;
    private readonly int _e, _k, _h, _din, _dout;
    private int[] _srcLengths = Array.Empty<int>();
    private float[]? _fin, _s0, _states, _gin, _stepIn, _xproj, _o, _comb, _dstate, _dnext, _dxproj, _dgin, _de, _dctx, _dq, _dfin, _dfinal, _dcomb, _zeros, _dpre0;
    private int _b, _t, _s;

    /// <summary>Builds the model and initialises its weights from <paramref name="seed"/>.</summary>
    /// <param name="config">Vocabularies, widths and <see cref="Seq2SeqConfig.Architecture"/> (Gru or GruAttention).</param>
    /// <param name="seed">Seed of the initial weights and the dropout masks.</param>
    public RnnSeq2Seq(Seq2SeqConfig config, ulong seed = 0) : base(config, transformer: false)
    {
        (_e, _k, _h) = (config.EmbeddingWidth, 2 * config.EncoderHidden, config.ModelDim);
        bool luong = config.Architecture == Seq2SeqArchitecture.GruAttention && config.Attention != RnnAttentionKind.Additive;
        _din = luong ? _e : _e + _k;
        _dout = luong ? _h : _h + _k + _e;
        SourceEmbedding = new Embedding(Parameters, "src_tok.", config.EncoderVocabSize, _e, initStd: 1f);
        TargetEmbedding = new Embedding(Parameters, "tgt_tok.", config.VocabSize, _e, initStd: 1f);
        Encoder = new Gru(Parameters, "encoder.", _e, config.EncoderHidden, bidirectional: true);
        Bridge = new Linear(Parameters, "bridge.", _k, _h);
        if (config.Architecture == Seq2SeqArchitecture.GruAttention) Attention = new RnnAttention(Parameters, "", config.Attention, _h, _k);
        Decoder = new GruCell(Parameters, "decoder.", _din, _h);
        if (luong)
        {
            _combineW = Parameters.Add("combine.weight", new[] { _h, _k + _h }, Init.Uniform(1f / MathF.Sqrt(_k + _h)), decay: true);
            _combineB = Parameters.Add("combine.bias", new[] { _h }, Init.Uniform(1f / MathF.Sqrt(_k + _h)), decay: false);
        }
        Output = new Linear(Parameters, "out.", _dout, config.VocabSize);
        (_srcDrop, _tgtDrop, _outDrop) = (new Dropout(config.Dropout, seed + 1), new Dropout(config.Dropout, seed + 2), new Dropout(config.Dropout, seed + 3));
        Parameters.Allocate(seed);
    }

    private protected override Seq2SeqModel WithSameConfig() => new RnnSeq2Seq(Config);
    /// <inheritdoc/>
    public override ModelKind Kind => ModelKind.RnnSeq2Seq;
    /// <summary>Source token embedding [Vs, E].</summary>
    public Embedding SourceEmbedding { get; }
    /// <summary>Target token embedding [V, E].</summary>
    public Embedding TargetEmbedding { get; }
    /// <summary>The bidirectional GRU encoder.</summary>
    public Gru Encoder { get; }
    /// <summary>Final encoder states [K] → the decoder's first state [H] (tanh after it).</summary>
    public Linear Bridge { get; }
    /// <summary>The decoder's attention (null without attention).</summary>
    public RnnAttention? Attention { get; }
    /// <summary>The decoder's GRU cell.</summary>
    public GruCell Decoder { get; }
    /// <summary>The output layer to the target vocabulary.</summary>
    public Linear Output { get; }
    /// <summary>Luong attention (dot or general): the new state scores, and h̃ = tanh(W_c·[c; s]) predicts.</summary>
    public bool IsLuong => _combineW is not null;
    /// <summary>Luong's W_c [H, K + H] and its bias (null otherwise).</summary>
    internal (ParameterTensor Weight, ParameterTensor Bias)? Combine => _combineW is null ? null : (_combineW, _combineB!);
    /// <summary>Width K of the encoder states (2·He).</summary>
    public int EncoderStateDim => _k;

    /// <inheritdoc/>
    public override IIncrementalDecoder CreateIncrementalDecoder() => new RnnIncrementalDecoder(this);

    /// <summary>
    /// Encodes a padded batch of sources: encoder states [B, S, K] (zeros at padding; a buffer reused by the next call)
    /// and writes the decoder's first states [B, H] into <paramref name="initialState"/> and the final encoder states
    /// [B, K] (the context vector of the model without attention) into <paramref name="finalStates"/>.
    /// </summary>
    /// <param name="source">Source ids and mask, [B, S].</param>
    /// <param name="initialState">Receives [B, H].</param>
    /// <param name="finalStates">Receives [B, K] (kept by the bridge for backward until the next call).</param>
    /// <param name="training">Whether dropout is active.</param>
    public float[] Encode(TokenBatch source, float[] initialState, float[] finalStates, bool training = false)
    {
        int b = source.BatchSize, s = source.SeqLen, he = Config.EncoderHidden;
        if (_srcLengths.Length < b) _srcLengths = new int[b];
        for (int r = 0; r < b; r++)
        {
            int n = s;
            if (source.AttentionMask is { } m) { n = 0; for (int j = 0; j < s; j++) n += m[r * s + j] != 0 ? 1 : 0; }
            _srcLengths[r] = Math.Max(1, n); // padding follows the tokens, as the tokenizer writes it
        }
        var x = _srcDrop.Forward(SourceEmbedding.Forward(source.Ids, b * s), b * s * _e, training);
        var enc = Encoder.Forward(x, b, s, _srcLengths[..b]);
        var final = Encoder.FinalState;
        for (int r = 0; r < b; r++)
        {
            final.AsSpan(r * he, he).CopyTo(finalStates.AsSpan(r * _k, he));
            final.AsSpan((b + r) * he, he).CopyTo(finalStates.AsSpan(r * _k + he, he));
        }
        var s0 = Bridge.Forward(finalStates, b);
        TensorPrimitives.Tanh(s0.AsSpan(0, b * _h), initialState.AsSpan(0, b * _h));
        return enc;
    }

    /// <inheritdoc/>
    /// <remarks>Teacher forcing: the decoder reads the target tokens, not its own predictions.</remarks>
    public override float[] Forward(TokenBatch batch, bool training = false)
    {
        var source = RequireSource(batch);
        int b = batch.BatchSize, t = batch.SeqLen, s = source.SeqLen, h = _h, k = _k, e = _e;
        (_b, _t, _s) = (b, t, s);
        var s0 = Workspace.Ensure(ref _s0, b * h);
        var fin = Workspace.Ensure(ref _fin, b * k);
        var enc = Encode(source, s0, fin, training);
        Attention?.Begin(enc, b, s, _srcLengths, t);
        var emb = _tgtDrop.Forward(TargetEmbedding.Forward(batch.Ids, b * t), b * t * e, training); // [B, T, E]
        var states = Workspace.Ensure(ref _states, (t + 1) * b * h);                                 // s_0..s_T, [T + 1, B, H]
        s0.AsSpan(0, b * h).CopyTo(states);
        var gin = Workspace.Ensure(ref _gin, t * b * _din);                                          // decoder inputs per step
        var xproj = Workspace.Ensure(ref _xproj, b * 3 * h);
        var o = Workspace.Ensure(ref _o, b * t * _dout);                                             // output-layer inputs [B, T, ·]
        var comb = IsLuong ? Workspace.Ensure(ref _comb, t * b * (k + h)) : null;                   // [c; s] per step (Luong)
        Decoder.Begin(b, t);
        for (int step = 0; step < t; step++)
        {
            var prev = states.AsSpan(step * b * h, b * h);
            var next = states.AsSpan((step + 1) * b * h, b * h);
            var g = gin.AsSpan(step * b * _din, b * _din);
            if (!IsLuong)
            {
                // Bahdanau / Cho: the context comes from the previous state (or is the fixed c); input [e; c].
                ReadOnlySpan<float> ctx = Attention is null ? fin.AsSpan(0, b * k) : Attention.Forward(step, prev);
                for (int r = 0; r < b; r++)
                {
                    emb.AsSpan((r * t + step) * e, e).CopyTo(g.Slice(r * _din, e));
                    ctx.Slice(r * k, k).CopyTo(g.Slice(r * _din + e, k));
                }
                Decoder.Project(g, b, xproj);
                Decoder.Step(step, xproj, prev, next);
                for (int r = 0; r < b; r++)
                {
                    var row = o.AsSpan((r * t + step) * _dout, _dout);
                    next.Slice(r * h, h).CopyTo(row);
                    ctx.Slice(r * k, k).CopyTo(row.Slice(h, k));
                    emb.AsSpan((r * t + step) * e, e).CopyTo(row.Slice(h + k, e));
                }
            }
            else
            {
                // Luong: the new state scores the encoder states; h̃ = tanh(W_c·[c; s] + b) predicts.
                for (int r = 0; r < b; r++) emb.AsSpan((r * t + step) * e, e).CopyTo(g.Slice(r * e, e));
                Decoder.Project(g, b, xproj);
                Decoder.Step(step, xproj, prev, next);
                var ctx = Attention!.Forward(step, next);
                var cs = comb!.AsSpan(step * b * (k + h), b * (k + h));
                for (int r = 0; r < b; r++)
                {
                    ctx.AsSpan(r * k, k).CopyTo(cs.Slice(r * (k + h), k));
                    next.Slice(r * h, h).CopyTo(cs.Slice(r * (k + h) + k, h));
                }
                var ht = Workspace.Ensure(ref _stepIn, b * h).AsSpan(0, b * h);
                Gemm.MatMulTransB(cs, _combineW!.Value, ht, b, h, k + h);
                Linear.AddBias(ht, b, h, _combineB!.Value);
                TensorPrimitives.Tanh(ht, ht);
                for (int r = 0; r < b; r++) ht.Slice(r * h, h).CopyTo(o.AsSpan((r * t + step) * _dout, h));
            }
        }
        var dropped = _outDrop.Forward(o, b * t * _dout, training);
        return Output.Forward(dropped, b * t);
    }

    /// <inheritdoc/>
    public override float ForwardBackward(TokenBatch batch)
    {
        var targets = RequireTargets(batch);
        int b = batch.BatchSize, t = batch.SeqLen, n = b * t, h = _h, k = _k, e = _e, s = batch.Source!.SeqLen;
        var logits = Forward(batch, training: true);
        float loss = LossGradient(logits, targets, n);
        var dO = _outDrop.Backward(Output.Backward(logits, n), n * _dout);                           // [B, T, dout]
        var de = Workspace.Ensure(ref _de, n * e);                                                   // target embedding gradient
        de.AsSpan(0, n * e).Clear();
        var dfin = Workspace.Ensure(ref _dfin, b * k);
        dfin.AsSpan(0, b * k).Clear();
        var ds = Workspace.Ensure(ref _dstate, b * h).AsSpan(0, b * h);
        var dnext = Workspace.Ensure(ref _dnext, b * h).AsSpan(0, b * h);
        var dxproj = Workspace.Ensure(ref _dxproj, b * 3 * h).AsSpan(0, b * 3 * h);
        var dgin = Workspace.Ensure(ref _dgin, b * _din).AsSpan(0, b * _din);
        var dctx = Workspace.Ensure(ref _dctx, b * k).AsSpan(0, b * k);
        var dq = Workspace.Ensure(ref _dq, b * h).AsSpan(0, b * h);
        dnext.Clear();
        for (int step = t - 1; step >= 0; step--)
        {
            var g = _gin.AsSpan(step * b * _din, b * _din);
            if (!IsLuong)
            {
                for (int r = 0; r < b; r++)
                {
                    var row = dO.AsSpan((r * t + step) * _dout, _dout);
                    TensorPrimitives.Add(row[..h], dnext.Slice(r * h, h), ds.Slice(r * h, h));
                    row.Slice(h, k).CopyTo(dctx.Slice(r * k, k));
                    var der = de.AsSpan((r * t + step) * e, e);
                    TensorPrimitives.Add(der, row.Slice(h + k, e), der);
                }
                Decoder.StepBackward(step, ds, dxproj, dnext);
                Decoder.ProjectBackward(dxproj, g, b, dgin);
                for (int r = 0; r < b; r++)
                {
                    var der = de.AsSpan((r * t + step) * e, e);
                    TensorPrimitives.Add(der, dgin.Slice(r * _din, e), der);
                    var dc = dctx.Slice(r * k, k);
                    TensorPrimitives.Add(dc, dgin.Slice(r * _din + e, k), dc);
                }
                if (Attention is null) TensorPrimitives.Add(dfin.AsSpan(0, b * k), dctx, dfin.AsSpan(0, b * k));
                else
                {
                    Attention.Backward(step, dctx, dq);                                              // the query was s_{step}
                    TensorPrimitives.Add(dnext, dq, dnext);
                }
            }
            else
            {
                // h̃ = tanh(W_c·[c; s] + b): recompute h̃ from the stored [c; s], then back into c and s.
                var cs = _comb.AsSpan(step * b * (k + h), b * (k + h));
                var dpre = Workspace.Ensure(ref _stepIn, b * h).AsSpan(0, b * h);
                Gemm.MatMulTransB(cs, _combineW!.Value, dpre, b, h, k + h);
                Linear.AddBias(dpre, b, h, _combineB!.Value);
                for (int r = 0; r < b; r++)
                {
                    var row = dO.AsSpan((r * t + step) * _dout, h);
                    var p = dpre.Slice(r * h, h);
                    for (int i = 0; i < h; i++) { float y = MathF.Tanh(p[i]); p[i] = row[i] * (1f - y * y); }
                }
                Gemm.MatMulTransA(dpre, cs, _combineW.Grad, h, k + h, b, accumulate: true);
                ColumnSum.Run(dpre, b, h, _combineB.Grad);
                var dcs = Workspace.Ensure(ref _dcomb, b * (k + h)).AsSpan(0, b * (k + h));
                Gemm.MatMul(dpre, _combineW.Value, dcs, b, k + h, h);
                for (int r = 0; r < b; r++) dcs.Slice(r * (k + h), k).CopyTo(dctx.Slice(r * k, k));
                Attention!.Backward(step, dctx, dq);                                                 // the query was s_{step+1}
                for (int r = 0; r < b; r++)
                {
                    var d = ds.Slice(r * h, h);
                    TensorPrimitives.Add(dcs.Slice(r * (k + h) + k, h), dq.Slice(r * h, h), d);
                    TensorPrimitives.Add(d, dnext.Slice(r * h, h), d);
                }
                Decoder.StepBackward(step, ds, dxproj, dnext);
                Decoder.ProjectBackward(dxproj, g, b, dgin);
                for (int r = 0; r < b; r++)
                {
                    var der = de.AsSpan((r * t + step) * e, e);
                    TensorPrimitives.Add(der, dgin.Slice(r * e, e), der);
                }
            }
        }
        // s_0 = tanh(bridge(fin)): back through the bridge into the encoder's final states.
        for (int i = 0; i < b * h; i++) { float y = _s0![i]; dnext[i] *= 1f - y * y; }
        var dpre0 = Workspace.Ensure(ref _dpre0, b * h);
        dnext.CopyTo(dpre0);
        var dbridge = Bridge.Backward(dpre0, b);
        TensorPrimitives.Add(dfin.AsSpan(0, b * k), dbridge.AsSpan(0, b * k), dfin.AsSpan(0, b * k));
        int he = Config.EncoderHidden;
        var dfinal = Workspace.Ensure(ref _dfinal, 2 * b * he);
        for (int r = 0; r < b; r++)
        {
            dfin.AsSpan(r * k, he).CopyTo(dfinal.AsSpan(r * he, he));
            dfin.AsSpan(r * k + he, he).CopyTo(dfinal.AsSpan((b + r) * he, he));
        }
        float[] denc;
        if (Attention is not null) denc = Attention.EndBackward();
        else
        {
            denc = Workspace.Ensure(ref _zeros, b * s * k);
            denc.AsSpan(0, b * s * k).Clear();
        }
        var dx = Encoder.Backward(denc, dfinal);
        SourceEmbedding.Backward(_srcDrop.Backward(dx, b * s * e), b * s);
        TargetEmbedding.Backward(_tgtDrop.Backward(de, n * e), n);
        return loss;
    }
}
