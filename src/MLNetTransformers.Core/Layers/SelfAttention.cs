namespace MLNetTransformers.Core.Layers;

/// <summary>
/// Single-head self-attention with trainable query, key and value weights (Raschka's <c>SelfAttention_v2</c>):
/// Q = X·Wqᵀ, K = X·Wkᵀ, V = X·Wvᵀ, context = softmax(Q·Kᵀ/√d_k)·V. The three weights are stored stacked as
/// <c>{prefix}in_proj_weight</c> [3·d_out, d_in] so one GEMM computes all of them.
/// </summary>
public class SelfAttention
{
    private readonly MultiHeadAttention _core;

    /// <summary>Declares the projection (with <c>{prefix}in_proj_bias</c> when <paramref name="qkvBias"/>).</summary>
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
    public float[] Forward(float[] x, int batch, int seqLen, bool[]? keyPadding = null) => _core.Forward(x, batch, seqLen, keyPadding);

    /// <summary>dcontext: [B, T, d_out] → dx: [B, T, d_in].</summary>
    public float[] Backward(float[] dcontext) => _core.Backward(dcontext);
}
