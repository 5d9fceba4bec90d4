namespace MLNetTransformers.Core.Models;

/// <summary>Self-attention as a sublayer; the block sets batch shape and mask (or the cache to decode against) before each Forward.</summary>
internal sealed class SelfAttentionSublayer(MultiHeadAttention attention) : ISublayer
{
    public int Batch, SeqLen;
    public bool[]? KeyPadding;
    /// <summary>When set, the rows are these packed sequences (no padding rows) and Batch, SeqLen, KeyPadding are not used.</summary>
    public PackedSequences? Packed;
    /// <summary>No backward follows this forward: attention may run tiled.</summary>
    public bool Inference;
    /// <summary>When set, Forward reads new positions of sequences (rows <see cref="CacheLengths"/>[s] each) into these caches from <see cref="CacheStarts"/>[s].</summary>
    public float[][]? CacheKeys, CacheValues;
    public int[] CacheLengths = Array.Empty<int>(), CacheStarts = Array.Empty<int>();
    /// <summary>When set, Forward is one decoding step of many rows, each with its own cache and position.</summary>
    public float[][]? StepKeys, StepValues;
    public int[] StepStarts = Array.Empty<int>();
    public MultiHeadAttention Attention => attention;
    public float[] Forward(float[] x, int n, bool training) =>
        StepKeys is { } k ? attention.ForwardStep(x, n, k, StepValues!, StepStarts)
        : CacheKeys is { } ck ? attention.ForwardIncremental(x, CacheLengths, ck, CacheValues!, CacheStarts)
        : Packed is { } packed ? attention.Forward(x, packed, Inference, training)
        : attention.Forward(x, Batch, SeqLen, KeyPadding, Inference, training);
    public float[] Backward(float[] dy, int n) => attention.Backward(dy);
}
