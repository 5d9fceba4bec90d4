namespace MLNetTransformers.Core.Layers;

/// <summary>
/// Attention with no trainable weights, the first step of Raschka's chapter 3: weights = softmax(X·Xᵀ) (no
/// scaling), context = weights·X. The input is its own query, key and value. A teaching variant, like
/// <see cref="SelfAttention"/> and <see cref="CausalSelfAttention"/> (see <c>samples/AttentionVariants</c>).
/// </summary>
public sealed class SimplifiedSelfAttention
{
    private readonly ScaledDotProductAttention _attention = new();
    private float[]? _ctx, _dx;
    private int _batch, _seq, _dim;

    /// <summary>Attention weights of the last Forward, [B, 1, T, T].</summary>
    public ReadOnlySpan<float> Weights => _attention.Weights;

    /// <summary>x: [B, T, C] → context: [B, T, C].</summary>
    /// <param name="x">Token vectors [B, T, dim].</param>
    /// <param name="batch">Sequences in the batch (B).</param>
    /// <param name="seqLen">Tokens per sequence (T).</param>
    /// <param name="dim">Width of the token vectors.</param>
    public float[] Forward(float[] x, int batch, int seqLen, int dim)
    {
        (_batch, _seq, _dim) = (batch, seqLen, dim);
        var ctx = Workspace.Ensure(ref _ctx, batch * seqLen * dim);
        var view = new MatrixView(x, 0, dim);
        _attention.Forward(view, view, view, ctx, batch, 1, seqLen, seqLen, dim, scale: 1f, causal: false, keyPadding: null);
        return ctx;
    }

    /// <summary>dcontext → dx, summing the query, key and value paths.</summary>
    /// <param name="dcontext">Gradient of the loss with respect to the context vectors.</param>
    public float[] Backward(float[] dcontext)
    {
        int len = _batch * _seq * _dim;
        var dx = Workspace.Ensure(ref _dx, len);
        dx.AsSpan(0, len).Clear();
        var view = new MatrixView(dx, 0, _dim);
        _attention.Backward(dcontext, view, view, view);
        return dx;
    }
}
