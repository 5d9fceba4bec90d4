namespace MLNetTransformers.Core.Layers;

/// <summary>
/// Inverted dropout: in training each element is zeroed with probability p and the rest scaled by 1/(1−p), so
/// inference needs no rescaling. The mask of call i comes from stream i of the layer's seed: a run with the
/// same seed draws the same masks.
/// </summary>
public sealed class Dropout
{
    private float[]? _y, _dx;
    private byte[]? _mask; // 1 = kept (scaled by 1/(1−p)), 0 = dropped: a byte per element, as PyTorch keeps a bool
    private bool _active;
    private long _calls;

    /// <summary>Creates a dropout with drop probability <paramref name="p"/> in [0, 1).</summary>
    /// <param name="p">Probability that an element is zeroed.</param>
    /// <param name="seed">Seed of the masks.</param>
    public Dropout(float p, ulong seed)
    {
        if (!(p >= 0f && p < 1f)) throw new ArgumentOutOfRangeException(nameof(p), p, "Dropout probability must be in [0, 1).");
        P = p;
        Seed = seed;
    }

    /// <summary>Drop probability.</summary>
    public float P { get; }
    /// <summary>Seed of the mask streams.</summary>
    public ulong Seed { get; set; }

    /// <summary>Returns x itself when not training or p = 0; otherwise a masked, rescaled copy.</summary>
    /// <param name="x">Activations (a buffer of at least length elements).</param>
    /// <param name="length">Elements in the call.</param>
    /// <param name="training">Whether dropout is active.</param>
    public float[] Forward(float[] x, int length, bool training)
    {
        _active = training && P > 0f;
        if (!_active) return x;
        var y = Workspace.Ensure(ref _y, length);
        var mask = Workspace.Ensure(ref _mask, length);
        var rng = DeterministicRandom.Derive(Seed, (ulong)_calls++);
        float keep = Keep;
        // 24-bit threshold: compare raw bits rather than building floats.
        ulong threshold = (ulong)(P * (1 << 24));
        for (int i = 0; i < length; i++)
        {
            bool kept = (rng.NextUInt64() >> 40) >= threshold;
            mask[i] = kept ? (byte)1 : (byte)0;
            y[i] = kept ? x[i] * keep : 0f;
        }
        return y;
    }

    private float Keep => 1f / (1f - P);

    /// <summary>dx = dy ⊙ mask (dy itself when inactive).</summary>
    /// <param name="dy">Gradient of the loss with respect to the output.</param>
    /// <param name="length">Elements in the call.</param>
    public float[] Backward(float[] dy, int length) => Backward(dy, length, inPlace: false);

    /// <summary>With <paramref name="inPlace"/> the gradient is written over <paramref name="dy"/> (a caller's transient buffer).</summary>
    internal float[] Backward(float[] dy, int length, bool inPlace)
    {
        if (!_active) return dy;
        var dx = inPlace ? dy : Workspace.Ensure(ref _dx, length);
        var mask = _mask!;
        float keep = Keep;
        for (int i = 0; i < length; i++) dx[i] = mask[i] != 0 ? dy[i] * keep : 0f;
        return dx;
    }
}
