namespace MLNetTransformers.Core.Layers;

/// <summary>
/// Single-head self-attention with trainable query, key and value weights (Raschka's <c>SelfAttention_v2</c>):
/// Q = X·Wqᵀ, K = X·Wkᵀ, V = X·Wvᵀ, context = softmax(Q·Kᵀ/√d_k)·V. The three weights are stored stacked as
/// <c>{prefix}in_proj_weight</c> [3·d_out, d_in] so one GEMM computes all of them. One of the teaching variants
/// (with <see cref="SimplifiedSelfAttention"/> and <see cref="CausalSelfAttention"/>) that lead to
/// <see cref="MultiHeadAttention"/>, the layer the models use; <c>samples/AttentionVariants</c> prints their weights
/// side by side.
/// </summary>
public class SelfAttention
{
    private readonly MultiHeadAttention _core;

    /// <summary>Declares the projection (with <c>{prefix}in_proj_bias</c> when <paramref name="qkvBias"/>).</summary>
    /// <param name="parameters">The parameter set the weights are declared in (and allocated by its owner).</param>
    /// <param name="prefix">Prefix of the parameter names.</param>
    /// <param name="dIn">Width of the input vectors.</param>
    /// <param name="dOut">Width of the context vectors (queries, keys and values).</param>
    /// <param name="qkvBias">Whether the query, key and value projections have biases.</param>
    public SelfAttention(ParameterSet parameters, string prefix, int dIn, int dOut, bool qkvBias = false)
        : this(parameters, prefix, dIn, dOut, qkvBias, causal: false)
    {
    }

    /// <summary>For <see cref="CausalSelfAttention"/>.</summary>
    protected SelfAttention(ParameterSet parameters, string prefix, int dIn, int dOut, bool qkvBias, bool causal)
        => _core = new MultiHeadAttention(parameters, prefix, dIn, dOut, heads: 1, causal, qkvBias, outProjection: false);

    /// <summary>Input size.</summary>
    public int DIn => _core.InDim;
    /// <summary>Output (and key) size d_k.</summary>
    public int DOut => _core.AttnDim;
    /// <summary>Wq;Wk;Wv stacked, [3·d_out, d_in].</summary>
    public ParameterTensor Weight => _core.InProjWeight;
    /// <summary>Query weight, [d_out, d_in].</summary>
    public Span<float> Wq => Weight.Value[..(DOut * DIn)];
    /// <summary>Key weight, [d_out, d_in].</summary>
    public Span<float> Wk => Weight.Value.Slice(DOut * DIn, DOut * DIn);
    /// <summary>Value weight, [d_out, d_in].</summary>
    public Span<float> Wv => Weight.Value.Slice(2 * DOut * DIn, DOut * DIn);
    /// <summary>Attention weights of the last Forward, [B, 1, T, T].</summary>
    public ReadOnlySpan<float> Weights => _core.Weights;

    /// <summary>x: [B, T, d_in] → context: [B, T, d_out]. <paramref name="keyPadding"/>: [B, T], true = padded.</summary>
    /// <param name="x">Token vectors [B, T, dIn].</param>
    /// <param name="batch">Sequences in the batch (B).</param>
    /// <param name="seqLen">Tokens per sequence (T).</param>
    /// <param name="keyPadding">[B, T] flags, true where a key position is padding (never attended to); null = none.</param>
    public float[] Forward(float[] x, int batch, int seqLen, bool[]? keyPadding = null) => _core.Forward(x, batch, seqLen, keyPadding);

    /// <summary>dcontext: [B, T, d_out] → dx: [B, T, d_in].</summary>
    /// <param name="dcontext">Gradient of the loss with respect to the context vectors.</param>
    public float[] Backward(float[] dcontext) => _core.Backward(dcontext);
}
