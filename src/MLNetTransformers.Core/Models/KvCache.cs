namespace MLNetTransformers.Core.Models;

/// <summary>
/// Keys and values of the positions a decoder has already seen, per layer ([capacity, d] each), so generating the
/// next token costs one position's work instead of recomputing the whole sequence. One sequence per cache.
/// </summary>
public sealed class KvCache
{
    /// <summary>Allocates a cache for <see cref="TransformerConfig.MaxLength"/> positions of every layer.</summary>
    /// <param name="config">The decoder's shape (layers, width, maximum length).</param>
    public KvCache(TransformerConfig config)
    {
        Capacity = config.MaxLength;
        Layers = Enumerable.Range(0, config.Layers).Select(_ => new Layer(new float[config.MaxLength * config.ModelDim], new float[config.MaxLength * config.ModelDim])).ToArray();
    }

    /// <summary>Positions held.</summary>
    public int Length { get; internal set; }
    /// <summary>Positions it can hold.</summary>
    public int Capacity { get; }
    /// <summary>Per-layer buffers.</summary>
    public IReadOnlyList<Layer> Layers { get; }

    /// <summary>Forgets every position (the buffers are kept).</summary>
    public void Clear() => Length = 0;

    /// <summary>Copies <paramref name="other"/>'s positions into this cache (a beam that continues another's prefix).</summary>
    /// <param name="other">A cache of the same shape.</param>
    public void CopyFrom(KvCache other)
    {
        if (other.Capacity != Capacity || other.Layers.Count != Layers.Count) throw new ArgumentException("The caches have different shapes.", nameof(other));
        int n = other.Length * (Layers.Count == 0 ? 0 : Layers[0].Keys.Length / Capacity);
        for (int i = 0; i < Layers.Count; i++)
        {
            other.Layers[i].Keys.AsSpan(0, n).CopyTo(Layers[i].Keys);
            other.Layers[i].Values.AsSpan(0, n).CopyTo(Layers[i].Values);
        }
        Length = other.Length;
    }

    /// <summary>One layer's keys and values, [capacity, d] row-major.</summary>
    /// <param name="Keys">Cached keys [MaxLength, d].</param>
    /// <param name="Values">Cached values [MaxLength, d].</param>
    public sealed record Layer(float[] Keys, float[] Values);
}
