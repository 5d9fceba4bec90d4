namespace MLNetTransformers.Core.Models;

/// <summary>Cross-attention over an encoder memory as a sublayer.</summary>
internal sealed class CrossAttentionSublayer(MultiHeadAttention attention) : ISublayer
{
    public int Batch, QueryLength, MemoryLength;
    public float[] Memory = Array.Empty<float>();
    public bool[]? MemoryPadding;
    public float[]? CachedKeysValues; // set for incremental decoding: the memory's keys and values, projected once
    public MultiHeadAttention Attention => attention;
    public float[] Forward(float[] x, int n, bool training) => CachedKeysValues is { } kv
        ? attention.ForwardCrossCached(x, n, kv, MemoryLength, MemoryPadding)
        : attention.Forward(x, Batch, QueryLength, Memory, MemoryLength, MemoryPadding);
    public float[] Backward(float[] dy, int n) => attention.Backward(dy);
}
