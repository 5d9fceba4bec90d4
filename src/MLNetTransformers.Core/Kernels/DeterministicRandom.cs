using System.Runtime.Intrinsics;

namespace MLNetTransformers.Core.Kernels;

/// <summary>
/// SplitMix64: a small, fast generator whose sequence is fixed by this code (not by the runtime's
/// <see cref="Random"/>, whose algorithm may change), so a seed gives the same weights and dropout masks
/// on every machine and .NET version.
/// </summary>
internal struct DeterministicRandom
{
    private ulong _state;

    /// <summary>Starts the sequence for <paramref name="seed"/>.</summary>
    public DeterministicRandom(ulong seed) => _state = seed;

    /// <summary>A generator for a sub-stream (a step, a layer) that does not overlap its parent's early values.</summary>
    public static DeterministicRandom Derive(ulong seed, ulong stream) => new(Mix(seed ^ Mix(stream + 0x632BE59BD9B4E019UL)));

    /// <summary>Next 64 random bits.</summary>
    public ulong NextUInt64() => Mix(_state += Gamma);

    /// <summary>
    /// The next eight values at once, lane j holding the (j+1)-th: SplitMix64's value is a function of its counter, so
    /// eight lanes give exactly the values eight <see cref="NextUInt64"/> calls would, in the same order.
    /// </summary>
    public Vector512<ulong> NextUInt64x8()
    {
        var z = Vector512.Create(_state) + Steps;
        _state += unchecked(8 * Gamma);
        z = (z ^ Vector512.ShiftRightLogical(z, 30)) * Vector512.Create(0xBF58476D1CE4E5B9UL);
        z = (z ^ Vector512.ShiftRightLogical(z, 27)) * Vector512.Create(0x94D049BB133111EBUL);
        return z ^ Vector512.ShiftRightLogical(z, 31);
    }

    /// <summary>Moves past <paramref name="draws"/> values without computing them (the counter is the state).</summary>
    public void Skip(ulong draws) => _state += unchecked(draws * Gamma);

    /// <summary>The next four values at once (for CPUs without 512-bit vectors), lane j holding the (j+1)-th.</summary>
    public Vector256<ulong> NextUInt64x4()
    {
        var z = Vector256.Create(_state) + Steps.GetLower();
        _state += unchecked(4 * Gamma);
        z = (z ^ Vector256.ShiftRightLogical(z, 30)) * Vector256.Create(0xBF58476D1CE4E5B9UL);
        z = (z ^ Vector256.ShiftRightLogical(z, 27)) * Vector256.Create(0x94D049BB133111EBUL);
        return z ^ Vector256.ShiftRightLogical(z, 31);
    }

    private const ulong Gamma = 0x9E3779B97F4A7C15UL;
    private static readonly Vector512<ulong> Steps = unchecked(Vector512.Create(Gamma, 2 * Gamma, 3 * Gamma, 4 * Gamma, 5 * Gamma, 6 * Gamma, 7 * Gamma, 8 * Gamma));

    /// <summary>Uniform in [0, 1) with 24 bits of precision.</summary>
    public float NextFloat() => (NextUInt64() >> 40) * (1.0f / (1 << 24));

    /// <summary>Uniform integer in [0, n).</summary>
    public int NextInt(int n) => (int)((NextUInt64() >> 33) % (ulong)n);

    /// <summary>Fisher-Yates shuffle in place (the same order for the same stream).</summary>
    /// <param name="items">What to shuffle.</param>
    public void Shuffle<T>(Span<T> items)
    {
        for (int i = items.Length - 1; i > 0; i--) { int j = NextInt(i + 1); (items[i], items[j]) = (items[j], items[i]); }
    }

    /// <summary>Standard normal sample (Box-Muller).</summary>
    public double NextGaussian()
    {
        double u1 = ((NextUInt64() >> 11) + 1.0) * (1.0 / (1UL << 53)); // (0, 1]
        double u2 = (NextUInt64() >> 11) * (1.0 / (1UL << 53));
        return Math.Sqrt(-2.0 * Math.Log(u1)) * Math.Cos(2.0 * Math.PI * u2);
    }

    private static ulong Mix(ulong z)
    {
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9UL;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EBUL;
        return z ^ (z >> 31);
    }
}
