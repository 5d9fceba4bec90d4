namespace MLNetTransformers.Core.Models;

/// <summary>
/// A transformer decoder layer: causal self-attention, optionally cross-attention over an encoder memory (as
/// PyTorch's <c>nn.TransformerDecoderLayer</c>), then feed-forward. Without cross-attention it is a GPT block.
/// Names: <c>self_attn.*</c>, <c>multihead_attn.*</c>, <c>linear1/2.*</c>, <c>norm1/2(/3).*</c>.
/// </summary>
public sealed class DecoderBlock
{
    private readonly SelfAttentionSublayer _sa;
    private readonly CrossAttentionSublayer? _ca;
    private readonly FeedForwardSublayer _ff;
    private readonly ResidualSublayer _selfBranch, _ffBranch;
    private readonly ResidualSublayer? _crossBranch;
    private readonly int _dim;

    /// <summary>Declares the block's parameters under <paramref name="prefix"/>; cross-attention when <see cref="TransformerConfig.CrossAttention"/>.</summary>
    /// <param name="parameters">The parameter set the weights are declared in (and allocated by its owner).</param>
    /// <param name="prefix">Prefix of the parameter names.</param>
    /// <param name="config">The model's shape.</param>
    /// <param name="seed">Seed of the dropout masks.</param>
    public DecoderBlock(ParameterSet parameters, string prefix, TransformerConfig config, ulong seed)
    {
        _dim = config.ModelDim;
        int d = config.ModelDim;
        var self = new MultiHeadAttention(parameters, prefix + "self_attn.", d, config.Heads, causal: true);
        MultiHeadAttention? cross = config.CrossAttention ? new MultiHeadAttention(parameters, prefix + "multihead_attn.", d, config.Heads) : null;
        var ff = new FeedForward(parameters, prefix, d, config.FeedForwardDim, config.Activation, config.Dropout, seed + 1);
        var norm1 = new LayerNorm(parameters, prefix + "norm1.", d, config.LayerNormEps);
        var norm2 = new LayerNorm(parameters, prefix + "norm2.", d, config.LayerNormEps);
        var norm3 = cross is null ? null : new LayerNorm(parameters, prefix + "norm3.", d, config.LayerNormEps);
        _sa = new SelfAttentionSublayer(self);
        _selfBranch = new ResidualSublayer(norm1, _sa, new Dropout(config.Dropout, seed + 2), config.Norm);
        if (cross is not null)
        {
            _ca = new CrossAttentionSublayer(cross);
            _crossBranch = new ResidualSublayer(norm2, _ca, new Dropout(config.Dropout, seed + 3), config.Norm);
        }
        _ff = new FeedForwardSublayer(ff);
        _ffBranch = new ResidualSublayer(norm3 ?? norm2, _ff, new Dropout(config.Dropout, seed + 4), config.Norm);
    }

    /// <summary>Causal self-attention.</summary>
    public MultiHeadAttention SelfAttention => _sa.Attention;
    /// <summary>Cross-attention, or null.</summary>
    public MultiHeadAttention? CrossAttention => _ca?.Attention;
    /// <summary>The position-wise feed-forward network.</summary>
    public FeedForward FeedForward => _ff.Network;

    /// <summary>
    /// x: [B, T, d] → [B, T, d]. <paramref name="memory"/>: [B, Tm, d] (required with cross-attention),
    /// <paramref name="memoryPadding"/>: [B, Tm], <paramref name="keyPadding"/>: [B, T]; true = padded.
    /// </summary>
    /// <param name="x">Token vectors [B, T, d].</param>
    /// <param name="batch">Sequences in the batch (B).</param>
    /// <param name="seqLen">Tokens per sequence (T).</param>
    /// <param name="keyPadding">[B, T] flags, true where a key position is padding (never attended to); null = none.</param>
    /// <param name="memory">Encoder states [B, Tm, d] for cross-attention (null = none).</param>
    /// <param name="memoryLength">Encoder positions per sequence (Tm).</param>
    /// <param name="memoryPadding">[B, Tm] flags, true where an encoder position is padding; null = none.</param>
    /// <param name="training">Whether dropout is active.</param>
    public float[] Forward(float[] x, int batch, int seqLen, bool[]? keyPadding, float[]? memory, int memoryLength, bool[]? memoryPadding, bool training)
        => Forward(x, batch, seqLen, keyPadding, memory, memoryLength, memoryPadding, training, inference: false);

    /// <summary>With <paramref name="inference"/> no backward follows: attention runs tiled and the FFN's activation is fused.</summary>
    internal float[] Forward(float[] x, int batch, int seqLen, bool[]? keyPadding, float[]? memory, int memoryLength, bool[]? memoryPadding, bool training, bool inference)
    {
        int n = batch * seqLen;
        (_sa.Batch, _sa.SeqLen, _sa.KeyPadding, _sa.Inference, _ff.Inference) = (batch, seqLen, keyPadding, inference, inference);
        if (_ca is not null) _ca.Inference = inference;
        var h = _selfBranch.Forward(x, n, _dim, training);
        if (_ca is not null)
        {
            if (memory is null) throw new ArgumentNullException(nameof(memory), "This decoder block has cross-attention and needs an encoder memory.");
            (_ca.Batch, _ca.QueryLength, _ca.MemoryLength, _ca.Memory, _ca.MemoryPadding) = (batch, seqLen, memoryLength, memory, memoryPadding);
            h = _crossBranch!.Forward(h, n, _dim, training);
        }
        return _ffBranch.Forward(h, n, _dim, training);
    }

    /// <summary>
    /// Inference on <paramref name="n"/> new positions of one sequence, whose earlier <paramref name="start"/> positions
    /// are in <paramref name="cache"/> (the new keys and values are added).
    /// </summary>
    /// <param name="x">Vectors [n, d] of the new tokens of one sequence.</param>
    /// <param name="n">New tokens.</param>
    /// <param name="cache">This layer's cached keys and values.</param>
    /// <param name="start">Position of the first new token.</param>
    /// <param name="memory">With cross-attention: this sequence's encoder states [Tm, d].</param>
    /// <param name="memoryLength">Encoder positions (Tm).</param>
    /// <param name="memoryPadding">[Tm] flags, true where an encoder position is padding; null = none.</param>
    public float[] ForwardIncremental(float[] x, int n, KvCache.Layer cache, int start, float[]? memory = null, int memoryLength = 0, bool[]? memoryPadding = null) =>
        ForwardIncremental(x, new[] { n }, new[] { cache.Keys }, new[] { cache.Values }, new[] { start }, memory, memoryLength, memoryPadding);

    /// <summary>The same for several sequences at once (rows <paramref name="lengths"/>[s] each, in order); cross-attention takes one.</summary>
    internal float[] ForwardIncremental(float[] x, int[] lengths, float[][] keys, float[][] values, int[] starts, float[]? memory = null, int memoryLength = 0, bool[]? memoryPadding = null)
    {
        int n = lengths.Sum();
        (_sa.CacheKeys, _sa.CacheValues, _sa.CacheLengths, _sa.CacheStarts) = (keys, values, lengths, starts);
        try
        {
            _ff.Inference = true;
            if (_ca is not null) _ca.Inference = true;
            var h = _selfBranch.Forward(x, n, _dim, training: false);
            if (_ca is not null)
            {
                if (memory is null) throw new ArgumentNullException(nameof(memory), "This decoder block has cross-attention and needs the encoder memory.");
                if (lengths.Length != 1) throw new ArgumentException("With cross-attention, one sequence at a time.", nameof(lengths));
                (_ca.Batch, _ca.QueryLength, _ca.MemoryLength, _ca.Memory, _ca.MemoryPadding) = (1, n, memoryLength, memory, memoryPadding);
                h = _crossBranch!.Forward(h, n, _dim, training: false);
            }
            return _ffBranch.Forward(h, n, _dim, training: false);
        }
        finally { _sa.CacheKeys = _sa.CacheValues = null; }
    }

    /// <summary>
    /// One decoding step of <paramref name="rows"/> hypotheses (one new token each), each with its own cache and position;
    /// with cross-attention each row attends to its source's keys and values from <see cref="ProjectMemory"/>.
    /// x: [rows, d] → [rows, d]; the projections and the feed-forward run as GEMMs over all rows.
    /// </summary>
    /// <param name="x">One new token vector per row, [rows, d].</param>
    /// <param name="rows">Hypotheses in the step.</param>
    /// <param name="cacheK">Each row's cached keys of this layer.</param>
    /// <param name="cacheV">Each row's cached values of this layer.</param>
    /// <param name="starts">Each row's position.</param>
    /// <param name="crossKeysValues">With cross-attention: each row's source projections [Tm_r, 2d] for this layer.</param>
    /// <param name="memoryLengths">With cross-attention: each row's encoder positions.</param>
    public float[] ForwardStep(float[] x, int rows, float[][] cacheK, float[][] cacheV, int[] starts, float[][]? crossKeysValues = null, int[]? memoryLengths = null)
    {
        (_sa.StepKeys, _sa.StepValues, _sa.StepStarts) = (cacheK, cacheV, starts);
        try
        {
            _ff.Inference = true;
            var h = _selfBranch.Forward(x, rows, _dim, training: false);
            if (_ca is not null)
            {
                if (crossKeysValues is null || memoryLengths is null)
                    throw new ArgumentNullException(nameof(crossKeysValues), "This decoder block has cross-attention and needs each row's projected encoder memory.");
                (_ca.StepKeysValues, _ca.StepMemoryLengths) = (crossKeysValues, memoryLengths);
                try { h = _crossBranch!.Forward(h, rows, _dim, training: false); }
                finally { _ca.StepKeysValues = null; }
            }
            return _ffBranch.Forward(h, rows, _dim, training: false);
        }
        finally { _sa.StepKeys = _sa.StepValues = null; }
    }

    /// <summary>Projects one sequence's encoder memory [Tm, d] into this block's cross-attention keys and values (for incremental decoding).</summary>
    /// <param name="memory">This sequence's encoder states [Tm, d].</param>
    /// <param name="memoryLength">Encoder positions (Tm).</param>
    /// <param name="keysValues">Receives [Tm, 2d].</param>
    public void ProjectMemory(float[] memory, int memoryLength, float[] keysValues) =>
        (_ca ?? throw new InvalidOperationException("This decoder block has no cross-attention.")).Attention.ProjectMemory(memory, memoryLength, keysValues);

    /// <summary>dy → dx; with cross-attention, adds the memory gradient into <paramref name="memoryGrad"/>.</summary>
    /// <param name="dy">Gradient of the loss with respect to the output.</param>
    /// <param name="batch">Sequences in the batch (B).</param>
    /// <param name="seqLen">Tokens per sequence (T).</param>
    /// <param name="memoryGrad">Receives (adds into) the gradient with respect to the encoder memory; null when there is none.</param>
    public float[] Backward(float[] dy, int batch, int seqLen, float[]? memoryGrad = null)
    {
        int n = batch * seqLen;
        var dh = _ffBranch.Backward(dy, n, _dim);
        if (_crossBranch is not null)
        {
            dh = _crossBranch.Backward(dh, n, _dim);
            if (memoryGrad is not null)
            {
                int len = batch * _ca!.MemoryLength * _dim;
                var dm = _ca.Attention.MemoryGrad;
                TensorPrimitives.Add(memoryGrad.AsSpan(0, len), dm.AsSpan(0, len), memoryGrad.AsSpan(0, len));
            }
        }
        return _selfBranch.Backward(dh, n, _dim);
    }
}
