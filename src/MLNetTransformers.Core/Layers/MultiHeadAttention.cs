namespace MLNetTransformers.Core.Layers;

/// <summary>
/// Multi-head attention as PyTorch's <c>nn.MultiheadAttention</c>: one input projection <c>in_proj_weight</c>
/// [3A, d] stacking Wq;Wk;Wv (heads are column blocks of it), scaled dot-product attention per head, and an
/// output projection <c>out_proj</c> [d, A]. Self-attention (optionally causal, with a key-padding mask) or
/// cross-attention, where queries come from x and keys/values from a separate memory.
/// </summary>
public sealed class MultiHeadAttention
{
    private readonly ScaledDotProductAttention _attention = new();
    private readonly StepAttention _step = new();
    private int[]? _stepLengths;
    private readonly Linear? _outProj;
    private float[]? _qkv, _q, _kv, _dq, _dkv, _ctx, _dx, _dmem;
    private float[][]? _rowKeys, _rowValues;
    private int[] _onePositionEach = Array.Empty<int>();
    // d(QKV) lives only inside one Backward call: the layers trained on this thread share one.
    [ThreadStatic] private static float[]? t_dqkv;
    private float[] _x = Array.Empty<float>(), _mem = Array.Empty<float>();
    private int _batch, _tq, _tk, _rows;
    private bool _cross;
    private PackedSequences? _packed;

    /// <summary>
    /// Declares <c>{prefix}in_proj_weight</c> [3d, d], <c>{prefix}in_proj_bias</c> [3d] and <c>{prefix}out_proj.*</c>
    /// [d, d] in <paramref name="parameters"/>, for <paramref name="heads"/> heads of size <paramref name="dim"/>/heads.
    /// With <paramref name="causal"/>, self-attention lets position i attend only to j ≤ i; <paramref name="bias"/>
    /// adds the projection biases.
    /// </summary>
    /// <param name="parameters">The parameter set the weights are declared in (and allocated by its owner).</param>
    /// <param name="prefix">Prefix of the parameter names.</param>
    /// <param name="dim">Width d of each token vector.</param>
    /// <param name="heads">Attention heads (must divide the width).</param>
    /// <param name="causal">Whether each position attends only to itself and earlier ones.</param>
    /// <param name="bias">Whether the projections have biases.</param>
    public MultiHeadAttention(ParameterSet parameters, string prefix, int dim, int heads, bool causal = false, bool bias = true)
        : this(parameters, prefix, dim, dim, heads, causal, bias, outProjection: true)
    {
    }

    /// <summary>General form: inputs of size <paramref name="inDim"/>, attention width <paramref name="attnDim"/> = heads·hd.</summary>
    internal MultiHeadAttention(ParameterSet parameters, string prefix, int inDim, int attnDim, int heads, bool causal, bool bias, bool outProjection)
    {
        if (heads <= 0 || attnDim % heads != 0)
            throw new ArgumentException($"Attention '{prefix}': width {attnDim} is not divisible by {heads} heads.", nameof(heads));
        InDim = inDim;
        AttnDim = attnDim;
        Heads = heads;
        HeadDim = attnDim / heads;
        Causal = causal;
        InProjWeight = parameters.Add(prefix + "in_proj_weight", new[] { 3 * attnDim, inDim }, Init.Normal(0.02f), decay: true);
        InProjBias = bias ? parameters.Add(prefix + "in_proj_bias", new[] { 3 * attnDim }, Init.Zeros, decay: false) : null;
        if (outProjection) _outProj = new Linear(parameters, prefix + "out_proj.", attnDim, inDim, bias);
    }

    /// <summary>Input (and output, with the output projection) feature size.</summary>
    public int InDim { get; }
    /// <summary>Heads·head size.</summary>
    public int AttnDim { get; }
    /// <summary>Number of heads.</summary>
    public int Heads { get; }
    /// <summary>Size of one head.</summary>
    public int HeadDim { get; }
    /// <summary>Whether self-attention is causal.</summary>
    public bool Causal { get; }
    /// <summary>Wq;Wk;Wv stacked, [3A, d].</summary>
    public ParameterTensor InProjWeight { get; }
    /// <summary>bq;bk;bv, [3A] (null without bias).</summary>
    public ParameterTensor? InProjBias { get; }
    /// <summary>Output projection (null for single-head <see cref="SelfAttention"/>).</summary>
    public Linear? OutProj => _outProj;
    /// <summary>Size of the output rows.</summary>
    public int OutDim => _outProj?.Out ?? AttnDim;

    /// <summary>
    /// Dropout on the attention weights of training forwards (BERT's <c>attention_probs_dropout_prob</c>); 0 = none.
    /// </summary>
    public float AttentionDropout
    {
        get => _attention.DropoutP;
        set
        {
            if (!(value >= 0f && value < 1f)) throw new ArgumentOutOfRangeException(nameof(value), value, "Attention dropout must be in [0, 1).");
            _attention.DropoutP = value;
        }
    }

    /// <summary>Seed of the attention dropout masks (setting it restarts their streams: the next forward draws the same masks again).</summary>
    public ulong AttentionDropoutSeed
    {
        get => _attention.DropoutSeed;
        set
        {
            _attention.DropoutSeed = value;
            _terms?.RestartDropout(value); // the relative positions' dropout (DeBERTa's) restarts with it
        }
    }

    /// <summary>Per-head attention weights of the last Forward, [B, H, Tq, Tk] (before attention dropout).</summary>
    public ReadOnlySpan<float> Weights => _attention.Weights;

    /// <summary>Self-attention. x: [B, T, d] → [B, T, d]. <paramref name="keyPadding"/>: [B, T], true = padded.</summary>
    /// <param name="x">Query vectors [B, T, d].</param>
    /// <param name="batch">Sequences in the batch (B).</param>
    /// <param name="seqLen">Tokens per sequence (T).</param>
    /// <param name="keyPadding">[B, T] flags, true where a key position is padding (never attended to); null = none.</param>
    public float[] Forward(float[] x, int batch, int seqLen, bool[]? keyPadding = null) => Forward(x, batch, seqLen, keyPadding, inference: false, training: true);

    /// <summary>
    /// Whether inference forwards keep the attention weights for <see cref="Weights"/> (attention maps). Off by default:
    /// inference then runs tiled and never holds the [B, H, T, T] weights; training forwards always keep them.
    /// </summary>
    public bool RecordWeights { get; set; }

    /// <summary>
    /// A relative position bias added to the self-attention scores (MPNet's; one table shared by the stack's layers), or
    /// null. Bidirectional self-attention only.
    /// </summary>
    public RelativePositionBias? PositionBias
    {
        get => _positionBias;
        set => _positionBias = value is not null && _alibi is not null ? throw new NotSupportedException("A layer adds either a learned relative position bias or ALiBi's, not both.") : value;
    }
    private RelativePositionBias? _positionBias;

    /// <summary>
    /// ALiBi: a fixed bias −m_h·|i − j| on the self-attention scores (<see cref="AttentionLinearBiases"/>: JinaBERT's; one
    /// instance shared by the stack's layers), or null. Bidirectional self-attention only.
    /// </summary>
    public AttentionLinearBiases? Alibi
    {
        get => _alibi;
        set => _alibi = value is null ? null
            : Causal ? throw new NotSupportedException("ALiBi here serves bidirectional self-attention (|i − j|), not a causal layer.")
            : value.Heads != Heads ? throw new ArgumentException($"ALiBi slopes for {value.Heads} heads do not fit a layer of {Heads}.", nameof(value))
            : _positionBias is not null ? throw new NotSupportedException("A layer adds either a learned relative position bias or ALiBi's, not both.") : value;
    }
    private AttentionLinearBiases? _alibi;

    /// <summary>
    /// DeBERTa's disentangled attention: the shared relative positions whose projections by this layer's own query and key
    /// weights add content-to-position and position-to-content terms to every score (scaled by 1/√(3·hd)), or null.
    /// Bidirectional self-attention only.
    /// </summary>
    public DisentangledPositions? Disentangled
    {
        get => _disentangled?.Positions;
        // The terms (and their buffers) are kept when the same positions are set again.
        set => _disentangled = value is null ? null : _terms is { } t && t.Positions == value ? t : _terms = new DisentangledAttentionTerms(value, this);
    }
    private DisentangledAttentionTerms? _disentangled, _terms;

    /// <summary>
    /// DeBERTa v1: this layer's own projections of the relative positions (<see cref="DisentangledProjections"/>); null =
    /// its query and key weights project them (DeBERTa-v2/v3).
    /// </summary>
    public DisentangledProjections? PositionProjections { get; set; }

    /// <summary>
    /// Whether the keys have a bias (the middle third of <see cref="InProjBias"/>); false holds it at 0, untrained, as if
    /// absent (DeBERTa v1's input projection has a query and a value bias only; through the position-to-content term a key
    /// bias would change the scores).
    /// </summary>
    public bool KeyBias { get; set; } = true;

    /// <summary>
    /// Rotary position embedding applied to this layer's queries and keys (<see cref="RotaryPositions"/>: ModernBERT's and NomicBERT's), or
    /// null. Bidirectional self-attention only.
    /// </summary>
    public RotaryPositions? Rotary
    {
        get => _rotary;
        set => _rotary = value is null || !Causal ? value : throw new NotSupportedException("Rotary positions serve bidirectional self-attention, not a causal layer.");
    }
    private RotaryPositions? _rotary;

    /// <summary>
    /// A sliding window: query i attends only to keys j with |i − j| ≤ this (ModernBERT's local layers, half their
    /// <c>local_attention</c>); 0 = every key. Bidirectional self-attention only.
    /// </summary>
    public int Window
    {
        get => _window;
        set => _window = value < 0 ? throw new ArgumentOutOfRangeException(nameof(value), value, "A sliding window is 0 (none) or positive.")
            : value > 0 && Causal ? throw new NotSupportedException("A sliding window serves bidirectional self-attention, not a causal layer.") : value;
    }
    private int _window;

    // Rotary positions and windows are built for self-attention over whole sequences, not for cross-attention or steps.
    private void RefuseRotaryAndWindow(string what)
    {
        if (_rotary is not null || _window > 0 || _alibi is not null)
            throw new NotSupportedException($"Rotary positions, ALiBi and sliding windows serve bidirectional self-attention; {what} is not supported with them.");
    }

    /// <summary>Self-attention; with <paramref name="inference"/> (no backward follows) tiled unless <see cref="RecordWeights"/>; <paramref name="training"/> applies <see cref="AttentionDropout"/>.</summary>
    internal float[] Forward(float[] x, int batch, int seqLen, bool[]? keyPadding, bool inference, bool training = false) =>
        SelfAttend(x, batch * seqLen, batch, seqLen, keyPadding, null, inference, training);

    /// <summary>
    /// Self-attention over packed sequences: x [N, d] → [N, d], each sequence attending over its own tokens only
    /// (<see cref="PackedSequences"/>); the same result as the padded batch on every real token, with no work on padding.
    /// </summary>
    /// <param name="x">Query vectors [N, d], the sequences' real tokens one after another.</param>
    /// <param name="packed">Where each sequence's rows are.</param>
    /// <param name="inference">No backward follows: attention may run tiled.</param>
    /// <param name="training">Whether <see cref="AttentionDropout"/> applies.</param>
    internal float[] Forward(float[] x, PackedSequences packed, bool inference, bool training) =>
        SelfAttend(x, packed.Rows, packed.Batch, packed.SeqLen, null, packed, inference, training);

    // Self-attention over n rows: B sequences of T padded, or packed (then n = N and the key padding is not used).
    private float[] SelfAttend(float[] x, int n, int batch, int seqLen, bool[]? keyPadding, PackedSequences? packed, bool inference, bool training)
    {
        int a = AttnDim;
        (_batch, _tq, _tk, _rows, _cross, _x, _packed) = (batch, seqLen, seqLen, n, false, x, packed);
        var qkv = Workspace.Ensure(ref _qkv, n * 3 * a);                              // [n, 3A]
        InProject(x, n, qkv);
        Rotary?.Rotate(qkv, 3 * a, a, batch, seqLen, packed, inverse: false);
        var ctx = Workspace.Ensure(ref _ctx, n * a);                                  // [n, A]
        var terms = _disentangled?.Forward(qkv, batch, seqLen, packed, training);
        _attention.Forward(new(qkv, 0, 3 * a), new(qkv, a, 3 * a), new(qkv, 2 * a, 3 * a), ctx,
            batch, Heads, seqLen, seqLen, HeadDim, _disentangled?.Scale ?? 1f / MathF.Sqrt(HeadDim), Causal, keyPadding, tiled: inference && !RecordWeights, packed, training,
            _positionBias?.Offsets(seqLen) ?? _alibi?.Offsets(seqLen), seqLen, terms, _window, biasLearned: _alibi is null);
        return _outProj is null ? ctx : _outProj.Forward(ctx, n);
    }

    /// <summary>
    /// Cross-attention: queries from x [B, Tq, d], keys and values from memory [B, Tk, d].
    /// <paramref name="memoryPadding"/>: [B, Tk], true = padded memory position.
    /// </summary>
    /// <param name="x">Query vectors [B, T, d].</param>
    /// <param name="batch">Sequences in the batch (B).</param>
    /// <param name="queryLength">Query positions per sequence.</param>
    /// <param name="memory">Encoder states [B, Tm, d] for cross-attention (null = none).</param>
    /// <param name="memoryLength">Encoder positions per sequence (Tm).</param>
    /// <param name="memoryPadding">[B, Tm] flags, true where an encoder position is padding; null = none.</param>
    public float[] Forward(float[] x, int batch, int queryLength, float[] memory, int memoryLength, bool[]? memoryPadding = null)
        => Forward(x, batch, queryLength, memory, memoryLength, memoryPadding, inference: false);

    /// <summary>Cross-attention; with <paramref name="inference"/> (no backward follows) tiled unless <see cref="RecordWeights"/>.</summary>
    internal float[] Forward(float[] x, int batch, int queryLength, float[] memory, int memoryLength, bool[]? memoryPadding, bool inference)
    {
        RefuseRotaryAndWindow("cross-attention");
        int n = batch * queryLength, nm = batch * memoryLength, a = AttnDim, d = InDim;
        (_batch, _tq, _tk, _rows, _cross, _x, _mem) = (batch, queryLength, memoryLength, n, true, x, memory);
        var w = InProjWeight.Value;
        var q = Workspace.Ensure(ref _q, n * a);                                      // [n, A]
        var kv = Workspace.Ensure(ref _kv, nm * 2 * a);                               // [nm, 2A]
        Gemm.MatMulTransB(x.AsSpan(0, n * d), w[..(a * d)], q.AsSpan(0, n * a), n, a, d);
        Gemm.MatMulTransB(memory.AsSpan(0, nm * d), w[(a * d)..], kv.AsSpan(0, nm * 2 * a), nm, 2 * a, d);
        if (InProjBias is not null)
        {
            var bias = InProjBias.Value;
            Linear.AddBias(q, n, a, bias[..a]);
            Linear.AddBias(kv, nm, 2 * a, bias[a..]);
        }
        var ctx = Workspace.Ensure(ref _ctx, n * a);
        _attention.Forward(new(q, 0, a), new(kv, 0, 2 * a), new(kv, a, 2 * a), ctx,
            batch, Heads, queryLength, memoryLength, HeadDim, 1f / MathF.Sqrt(HeadDim), causal: false, memoryPadding, tiled: inference && !RecordWeights);
        return _outProj is null ? ctx : _outProj.Forward(ctx, n);
    }

    /// <summary>The int8 copy of <see cref="InProjWeight"/> self-attention forwards use once set (inference only).</summary>
    internal QuantizedMatrix? InProjInt8 { get; set; }

    /// <summary><see cref="InProjWeight"/> packed for inference; used by self-attention forwards while set.</summary>
    internal PanelMatrix? InProjPanels { get; set; }

    // qkv [n, 3A] = x·W_inᵀ + b_in, by whichever form of the weights is in use.
    private void InProject(float[] x, int n, float[] qkv)
    {
        var bias = InProjBias is null ? default : InProjBias.Value;
        if (!KeyBias && !bias.IsEmpty) bias.Slice(AttnDim, AttnDim).Clear(); // held at 0: the layer has no key bias
        var input = x.AsSpan(0, n * InDim);
        var output = qkv.AsSpan(0, n * 3 * AttnDim);
        if (InProjInt8 is { } q8) Int8Gemm.Multiply(input, n, q8, output, bias);
        else if (InProjPanels is { } p) p.Multiply(input, n, output, bias);
        else Gemm.MatMulTransB(input, InProjWeight.Value, output, n, 3 * AttnDim, InDim, bias);
    }

    /// <summary>dy: [B, Tq, d] → dx: [B, Tq, d]; for cross-attention the memory gradient is in <see cref="MemoryGrad"/>.</summary>
    /// <param name="dy">Gradient of the loss with respect to the output.</param>
    public float[] Backward(float[] dy)
    {
        if (InProjInt8 is not null) throw new InvalidOperationException("This attention layer is quantized to int8 for inference; train the float model and quantize a copy.");
        int n = _rows, nm = _batch * _tk, a = AttnDim, d = InDim;
        var dctx = _outProj is null ? dy : _outProj.Backward(dy, n);
        var w = InProjWeight.Value;
        var gw = InProjWeight.Grad;
        var dx = Workspace.Ensure(ref _dx, n * d);
        if (!_cross)
        {
            var dqkv = Workspace.Ensure(ref t_dqkv, n * 3 * a);
            ParallelClear.Run(dqkv, n * 3 * a);
            _attention.Backward(dctx, new(dqkv, 0, 3 * a), new(dqkv, a, 3 * a), new(dqkv, 2 * a, 3 * a));
            PositionBias?.AddGradient(_attention.ScoreBiasGradient, _batch * Heads, _tq);
            _disentangled?.Backward(_attention.ScoreTermsGradient, dqkv);
            Rotary?.Rotate(dqkv, 3 * a, a, _batch, _tq, _packed, inverse: true); // d(q, k) before the rotation
            Gemm.MatMulTransA(dqkv.AsSpan(0, n * 3 * a), _x.AsSpan(0, n * d), gw, 3 * a, d, n, accumulate: true);
            if (InProjBias is not null)
            {
                ColumnSum.Run(dqkv, n, 3 * a, InProjBias.Owner.Grad, InProjBias.Offset);
                if (!KeyBias) InProjBias.Grad.Slice(a, a).Clear();
            }
            Gemm.MatMul(dqkv.AsSpan(0, n * 3 * a), w, dx.AsSpan(0, n * d), n, d, 3 * a);
            return dx;
        }
        var dq = Workspace.Ensure(ref _dq, n * a);
        var dkv = Workspace.Ensure(ref _dkv, nm * 2 * a);
        dq.AsSpan(0, n * a).Clear();
        dkv.AsSpan(0, nm * 2 * a).Clear();
        _attention.Backward(dctx, new(dq, 0, a), new(dkv, 0, 2 * a), new(dkv, a, 2 * a));
        Gemm.MatMulTransA(dq.AsSpan(0, n * a), _x.AsSpan(0, n * d), gw[..(a * d)], a, d, n, accumulate: true);
        Gemm.MatMulTransA(dkv.AsSpan(0, nm * 2 * a), _mem.AsSpan(0, nm * d), gw[(a * d)..], 2 * a, d, nm, accumulate: true);
        if (InProjBias is not null)
        {
            var gb = InProjBias.Grad;
            ColumnSum.Run(dq, n, a, gb[..a]);
            ColumnSum.Run(dkv, nm, 2 * a, gb[a..]);
        }
        Gemm.MatMul(dq.AsSpan(0, n * a), w[..(a * d)], dx.AsSpan(0, n * d), n, d, a);
        var dmem = Workspace.Ensure(ref _dmem, nm * d);
        Gemm.MatMul(dkv.AsSpan(0, nm * 2 * a), w[(a * d)..], dmem.AsSpan(0, nm * d), nm, d, 2 * a);
        return dx;
    }

    /// <summary>
    /// Causal self-attention for <paramref name="n"/> new positions of one sequence, reusing the keys and values of
    /// the <paramref name="start"/> earlier positions held in <paramref name="cacheK"/>/<paramref name="cacheV"/>
    /// ([capacity, A] each); the new keys and values are appended there. x: [n, d] → [n, d]. Inference only.
    /// </summary>
    /// <param name="x">Vectors [n, d] of the new tokens of one sequence.</param>
    /// <param name="n">New tokens.</param>
    /// <param name="cacheK">This layer's cached keys.</param>
    /// <param name="cacheV">This layer's cached values.</param>
    /// <param name="start">Position of the first new token.</param>
    public float[] ForwardIncremental(float[] x, int n, float[] cacheK, float[] cacheV, int start) =>
        ForwardIncremental(x, new[] { n }, new[] { cacheK }, new[] { cacheV }, new[] { start });

    /// <summary>
    /// <see cref="ForwardIncremental(float[], int, float[], float[], int)"/> for several sequences at once (prompts read
    /// together): sequence s brings the next <paramref name="lengths"/>[s] rows of x and continues its own cache from
    /// <paramref name="starts"/>[s]. The projections run over all rows; each sequence attends alone, exactly as it would
    /// in a call of its own.
    /// </summary>
    internal float[] ForwardIncremental(float[] x, int[] lengths, float[][] cacheK, float[][] cacheV, int[] starts)
    {
        int a = AttnDim, n = 0;
        RefuseRotaryAndWindow("incremental decoding");
        for (int s = 0; s < lengths.Length; s++)
        {
            if ((starts[s] + lengths[s]) * a > cacheK[s].Length)
                throw new ArgumentOutOfRangeException(nameof(lengths), $"{(lengths.Length > 1 ? $"Sequence {s}: t" : "T")}he key/value cache holds {cacheK[s].Length / a} positions; {starts[s] + lengths[s]} were asked for.");
            n += lengths[s];
        }
        var qkv = Workspace.Ensure(ref _qkv, n * 3 * a);
        InProject(x, n, qkv);
        // Every new position is a query over its own sequence's cache up to itself: the step attention, row by row.
        var rowKeys = Workspace.Ensure(ref _rowKeys, n);
        var rowValues = Workspace.Ensure(ref _rowValues, n);
        var rowLengths = Workspace.Ensure(ref _stepLengths, n);
        for (int s = 0, r = 0; s < lengths.Length; s++)
            for (int i = 0; i < lengths[s]; i++, r++)
            {
                qkv.AsSpan(r * 3 * a + a, a).CopyTo(cacheK[s].AsSpan((starts[s] + i) * a, a));
                qkv.AsSpan(r * 3 * a + 2 * a, a).CopyTo(cacheV[s].AsSpan((starts[s] + i) * a, a));
                (rowKeys[r], rowValues[r], rowLengths[r]) = (cacheK[s], cacheV[s], starts[s] + i + 1);
            }
        var ctx = Workspace.Ensure(ref _ctx, n * a);
        _step.Forward(qkv, 3 * a, rowKeys, rowValues, 0, 0, a, rowLengths, ctx, n, Heads, HeadDim);
        return _outProj is null ? ctx : _outProj.Forward(ctx, n);
    }

    /// <summary>
    /// Cross-attention's keys and values of one sequence's encoder memory [Tm, d], projected once into
    /// <paramref name="keysValues"/> [Tm, 2A] (keys then values per row) for <see cref="ForwardCrossStep"/>.
    /// </summary>
    /// <param name="memory">This sequence's encoder states [Tm, d].</param>
    /// <param name="memoryLength">Encoder positions (Tm).</param>
    /// <param name="keysValues">Receives the projections, at least [Tm, 2A].</param>
    public void ProjectMemory(float[] memory, int memoryLength, float[] keysValues)
    {
        int a = AttnDim, d = InDim;
        var w = InProjWeight.Value;
        Gemm.MatMulTransB(memory.AsSpan(0, memoryLength * d), w[(a * d)..], keysValues.AsSpan(0, memoryLength * 2 * a), memoryLength, 2 * a, d);
        if (InProjBias is not null) Linear.AddBias(keysValues, memoryLength, 2 * a, InProjBias.Value[a..]);
    }

    /// <summary>
    /// One decoding step of <paramref name="rows"/> hypotheses, each with its own cache: row r's token x[r] is position
    /// <paramref name="starts"/>[r]; its key and value are written there in <paramref name="cacheK"/>[r] /
    /// <paramref name="cacheV"/>[r] ([capacity, A] each) and it attends to positions 0..starts[r]. x: [rows, d] → [rows, d].
    /// Projections run as one GEMM over all rows. Inference only.
    /// </summary>
    /// <param name="x">One new token vector per row, [rows, d].</param>
    /// <param name="rows">Hypotheses in the step.</param>
    /// <param name="cacheK">Each row's cached keys.</param>
    /// <param name="cacheV">Each row's cached values.</param>
    /// <param name="starts">Each row's position (the number of positions already in its cache).</param>
    public float[] ForwardStep(float[] x, int rows, float[][] cacheK, float[][] cacheV, int[] starts)
    {
        if (_onePositionEach.Length != rows) _onePositionEach = Enumerable.Repeat(1, rows).ToArray();
        return ForwardIncremental(x, _onePositionEach, cacheK, cacheV, starts);
    }

    /// <summary>
    /// Cross-attention of one new query per row over that row's source, whose keys and values <see cref="ProjectMemory"/>
    /// computed once ([Tm_r, 2A] each; rows of one source share the array). x: [rows, d] → [rows, d]. Inference only.
    /// </summary>
    /// <param name="x">Query vectors [rows, d].</param>
    /// <param name="rows">Hypotheses in the step.</param>
    /// <param name="keysValues">Each row's memory projections.</param>
    /// <param name="memoryLengths">Each row's encoder positions (Tm_r).</param>
    public float[] ForwardCrossStep(float[] x, int rows, float[][] keysValues, int[] memoryLengths)
    {
        int a = AttnDim, d = InDim;
        var q = Workspace.Ensure(ref _q, rows * a);
        Gemm.MatMulTransB(x.AsSpan(0, rows * d), InProjWeight.Value[..(a * d)], q.AsSpan(0, rows * a), rows, a, d);
        if (InProjBias is not null) Linear.AddBias(q, rows, a, InProjBias.Value[..a]);
        var ctx = Workspace.Ensure(ref _ctx, rows * a);
        _step.Forward(q, a, keysValues, keysValues, 0, a, 2 * a, memoryLengths, ctx, rows, Heads, HeadDim);
        return _outProj is null ? ctx : _outProj.Forward(ctx, rows);
    }

    /// <summary>Gradient of the memory after a cross-attention Backward, [B, Tk, d].</summary>
    public float[] MemoryGrad => _cross ? _dmem! : throw new InvalidOperationException("The last Backward was not cross-attention.");
}
