using System.Numerics.Tensors;
using MLNetTransformers.Core.Kernels;
using MLNetTransformers.Core.Layers;

namespace MLNetTransformers.Core.Models;

/// <summary>What sits inside a residual branch: attention or feed-forward over rows [n, d].</summary>
internal interface ISublayer
{
    float[] Forward(float[] x, int n, bool training);
    float[] Backward(float[] dy, int n);
}

/// <summary>
/// One residual branch of a block, pre-norm <c>x + drop(f(LN(x)))</c> or post-norm <c>LN(x + drop(f(x)))</c>.
/// Encoder and decoder blocks are sequences of these.
/// </summary>
internal sealed class ResidualSublayer
{
    private readonly LayerNorm _norm;
    private readonly ISublayer _f;
    private readonly Dropout _drop;
    private readonly NormPlacement _placement;
    private float[]? _y, _dx;

    public ResidualSublayer(LayerNorm norm, ISublayer f, Dropout drop, NormPlacement placement)
        => (_norm, _f, _drop, _placement) = (norm, f, drop, placement);

    public float[] Forward(float[] x, int n, int d, bool training)
    {
        int len = n * d;
        var y = Workspace.Ensure(ref _y, len);
        if (_placement == NormPlacement.PreNorm)
        {
            var s = _drop.Forward(_f.Forward(_norm.Forward(x, n), n, training), len, training);
            TensorPrimitives.Add(x.AsSpan(0, len), s.AsSpan(0, len), y.AsSpan(0, len));
            return y;
        }
        var t = _drop.Forward(_f.Forward(x, n, training), len, training);
        TensorPrimitives.Add(x.AsSpan(0, len), t.AsSpan(0, len), y.AsSpan(0, len));
        return _norm.Forward(y, n);
    }

    public float[] Backward(float[] dy, int n, int d)
    {
        int len = n * d;
        var dx = Workspace.Ensure(ref _dx, len);
        if (_placement == NormPlacement.PreNorm)
        {
            var dnorm = _norm.Backward(_f.Backward(_drop.Backward(dy, len), n), n);
            TensorPrimitives.Add(dy.AsSpan(0, len), dnorm.AsSpan(0, len), dx.AsSpan(0, len));
            return dx;
        }
        var dt = _norm.Backward(dy, n);
        var df = _f.Backward(_drop.Backward(dt, len), n);
        TensorPrimitives.Add(dt.AsSpan(0, len), df.AsSpan(0, len), dx.AsSpan(0, len));
        return dx;
    }
}

/// <summary>Self-attention as a sublayer; the block sets batch shape and mask before each Forward.</summary>
internal sealed class SelfAttentionSublayer(MultiHeadAttention attention) : ISublayer
{
    public int Batch, SeqLen;
    public bool[]? KeyPadding;
    /// <summary>When set, Forward decodes incrementally against this cache from position <see cref="CacheStart"/>.</summary>
    public KvCache.Layer? Cache;
    public int CacheStart;
    public MultiHeadAttention Attention => attention;
    public float[] Forward(float[] x, int n, bool training) =>
        Cache is { } c ? attention.ForwardIncremental(x, n, c.Keys, c.Values, CacheStart) : attention.Forward(x, Batch, SeqLen, KeyPadding);
    public float[] Backward(float[] dy, int n) => attention.Backward(dy);
}

/// <summary>Cross-attention over an encoder memory as a sublayer.</summary>
internal sealed class CrossAttentionSublayer(MultiHeadAttention attention) : ISublayer
{
    public int Batch, QueryLength, MemoryLength;
    public float[] Memory = Array.Empty<float>();
    public bool[]? MemoryPadding;
    public MultiHeadAttention Attention => attention;
    public float[] Forward(float[] x, int n, bool training) => attention.Forward(x, Batch, QueryLength, Memory, MemoryLength, MemoryPadding);
    public float[] Backward(float[] dy, int n) => attention.Backward(dy);
}

/// <summary>The feed-forward block as a sublayer.</summary>
internal sealed class FeedForwardSublayer(FeedForward ff) : ISublayer
{
    public float[] Forward(float[] x, int n, bool training) => ff.Forward(x, n, training);
    public float[] Backward(float[] dy, int n) => ff.Backward(dy, n);
}
