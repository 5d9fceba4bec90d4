namespace MLNetTransformers.Core.Models;

/// <summary>Self-attention as a sublayer; the block sets batch shape and mask (or the cache to decode against) before each Forward.</summary>
internal sealed class SelfAttentionSublayer(MultiHeadAttention attention) : ISublayer
{
    public int Batch, SeqLen;
    public bool[]? KeyPadding;
    /// <summary>No backward follows this forward: attention may run tiled.</summary>
    public bool Inference;
    /// <summary>When set, Forward decodes incrementally against this cache from position <see cref="CacheStart"/>.</summary>
    public KvCache.Layer? Cache;
    public int CacheStart;
    /// <summary>When set, Forward is one decoding step of many rows, each with its own cache and position.</summary>
    public float[][]? StepKeys, StepValues;
    public int[] StepStarts = Array.Empty<int>();
    public MultiHeadAttention Attention => attention;
    public float[] Forward(float[] x, int n, bool training) =>
        StepKeys is { } k ? attention.ForwardStep(x, n, k, StepValues!, StepStarts)
        : Cache is { } c ? attention.ForwardIncremental(x, n, c.Keys, c.Values, CacheStart)
        : attention.Forward(x, Batch, SeqLen, KeyPadding, Inference);
    public float[] Backward(float[] dy, int n) => attention.Backward(dy);
}
