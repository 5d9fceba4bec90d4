namespace MLNetTransformers.Core.Models;

/// <summary>
/// A transformer encoder layer as PyTorch's <c>nn.TransformerEncoderLayer</c>: self-attention then feed-forward,
/// each in a residual branch (pre- or post-norm). Parameter names: <c>self_attn.*</c>, <c>linear1/2.*</c>, <c>norm1/2.*</c>.
/// </summary>
public sealed class EncoderBlock
{
    private readonly SelfAttentionSublayer _sa;
    private readonly FeedForwardSublayer _ff;
    private readonly ResidualSublayer _attnBranch, _ffBranch;
    private readonly int _dim;

    /// <summary>
    /// Declares the block's parameters in <paramref name="parameters"/> under <paramref name="prefix"/>, shaped by
    /// <paramref name="config"/>; <paramref name="causal"/> masks future positions (a decoder-only block);
    /// <paramref name="seed"/> seeds its dropout masks.
    /// </summary>
    /// <param name="parameters">The parameter set the weights are declared in (and allocated by its owner).</param>
    /// <param name="prefix">Prefix of the parameter names.</param>
    /// <param name="config">The model's shape.</param>
    /// <param name="causal">Whether each position attends only to itself and earlier ones.</param>
    /// <param name="seed">Seed of the dropout masks.</param>
    /// <param name="layer">The block's place in its stack (ModernBERT's blocks differ by it: the first has no attention norm, some attend locally).</param>
    public EncoderBlock(ParameterSet parameters, string prefix, TransformerConfig config, bool causal, ulong seed, int layer = 0)
    {
        _dim = config.ModelDim;
        var mha = new MultiHeadAttention(parameters, prefix + "self_attn.", config.ModelDim, config.Heads, causal, config.Biases)
        {
            AttentionDropout = config.AttentionDropout, AttentionDropoutSeed = seed + 4, KeyBias = config.AttentionKeyBias,
            PositionProjections = config.DisentangledOwnProjections ? new DisentangledProjections(parameters, prefix + "self_attn.", config.ModelDim, config.ModelDim) : null,
        };
        mha.Window = config.WindowOf(layer);
        var ff = new FeedForward(parameters, prefix, config.ModelDim, config.FeedForwardDim, config.Activation, config.Dropout, seed + 1, config.GatedFeedForward, config.Biases,
            config.Biases && config.ExpansionBias, config.ActivatedHalfFirst);
        var norm1 = layer == 0 && !config.FirstBlockAttentionNorm ? null : new LayerNorm(parameters, prefix + "norm1.", config.ModelDim, config.LayerNormEps, config.NormBiases);
        var norm2 = new LayerNorm(parameters, prefix + "norm2.", config.ModelDim, config.LayerNormEps, config.NormBiases);
        _sa = new SelfAttentionSublayer(mha);
        _attnBranch = new ResidualSublayer(norm1, _sa, new Dropout(config.Dropout, seed + 2), config.Norm);
        _ff = new FeedForwardSublayer(ff);
        _ffBranch = new ResidualSublayer(norm2, _ff, new Dropout(config.Dropout, seed + 3), config.Norm);
    }

    /// <summary>The self-attention layer (its <see cref="MultiHeadAttention.Weights"/> hold the last attention map).</summary>
    public MultiHeadAttention SelfAttention => _sa.Attention;

    /// <summary>The position-wise feed-forward network.</summary>
    public FeedForward FeedForward => _ff.Network;

    /// <summary>x: [B, T, d] → [B, T, d]. <paramref name="keyPadding"/>: [B, T], true = padded.</summary>
    /// <param name="x">Token vectors [B, T, d].</param>
    /// <param name="batch">Sequences in the batch (B).</param>
    /// <param name="seqLen">Tokens per sequence (T).</param>
    /// <param name="keyPadding">[B, T] flags, true where a key position is padding (never attended to); null = none.</param>
    /// <param name="training">Whether dropout is active.</param>
    public float[] Forward(float[] x, int batch, int seqLen, bool[]? keyPadding, bool training) => Forward(x, batch, seqLen, keyPadding, training, inference: false);

    /// <summary>With <paramref name="inference"/> no backward follows: attention runs tiled and the FFN's activation is fused.</summary>
    internal float[] Forward(float[] x, int batch, int seqLen, bool[]? keyPadding, bool training, bool inference)
    {
        int n = batch * seqLen;
        (_sa.Batch, _sa.SeqLen, _sa.KeyPadding, _sa.Packed, _sa.Inference, _ff.Inference) = (batch, seqLen, keyPadding, null, inference, inference);
        return _ffBranch.Forward(_attnBranch.Forward(x, n, _dim, training), n, _dim, training);
    }

    /// <summary>x: [N, d] → [N, d] over packed sequences (<see cref="PackedSequences"/>): no row of padding is computed.</summary>
    internal float[] Forward(float[] x, PackedSequences packed, bool training, bool inference)
    {
        int n = packed.Rows;
        (_sa.Packed, _sa.KeyPadding, _sa.Inference, _ff.Inference) = (packed, null, inference, inference);
        return _ffBranch.Forward(_attnBranch.Forward(x, n, _dim, training), n, _dim, training);
    }

    /// <summary>dy [n, d] → dx for the last Forward over <paramref name="rows"/> rows (B·T, or N when packed).</summary>
    internal float[] Backward(float[] dy, int rows) => _attnBranch.Backward(_ffBranch.Backward(dy, rows, _dim), rows, _dim);

    /// <summary>dy → dx for the last Forward; adds parameter gradients.</summary>
    /// <param name="dy">Gradient of the loss with respect to the output.</param>
    /// <param name="batch">Sequences in the batch (B).</param>
    /// <param name="seqLen">Tokens per sequence (T).</param>
    public float[] Backward(float[] dy, int batch, int seqLen) => Backward(dy, batch * seqLen);
}
