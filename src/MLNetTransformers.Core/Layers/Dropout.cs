using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace MLNetTransformers.Core.Layers;

/// <summary>
/// Inverted dropout: in training each element is zeroed with probability p and the rest scaled by 1/(1−p), so
/// inference needs no rescaling. The mask of call i comes from stream i of the layer's seed: a run with the
/// same seed draws the same masks.
/// </summary>
public sealed class Dropout : IParallelWork
{
    private float[]? _y, _dx;
    private byte[]? _mask; // 1 = kept (scaled by 1/(1−p)), 0 = dropped: a byte per element, as PyTorch keeps a bool
    private bool _active;
    private long _calls;
    // The call being split across cores (see Chunk): its source and destination, length, stream and direction.
    private float[] _src = Array.Empty<float>(), _dst = Array.Empty<float>();
    private int _length;
    private DeterministicRandom _rng;
    private bool _backward;

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

    /// <summary>Restarts the mask streams: the next calls draw the masks the first calls after <see cref="Seed"/> was set drew.</summary>
    internal void Restart() => _calls = 0;

    /// <summary>Returns x itself when not training or p = 0; otherwise a masked, rescaled copy.</summary>
    /// <param name="x">Activations (a buffer of at least length elements).</param>
    /// <param name="length">Elements in the call.</param>
    /// <param name="training">Whether dropout is active.</param>
    public float[] Forward(float[] x, int length, bool training)
    {
        _active = training && P > 0f;
        if (!_active) return x;
        var y = Workspace.Ensure(ref _y, length);
        Workspace.Ensure(ref _mask, length);
        Split(x, y, length, DeterministicRandom.Derive(Seed, (ulong)_calls++), backward: false);
        return y;
    }

    // Elements above this many are split across cores in chunks of it (a multiple of 16: whole vector passes). Element i
    // takes value i of the call's stream whichever chunk it is in, so the masks do not depend on the split.
    private const int Chunk = 1 << 15;

    // One call, whole or in chunks across cores.
    private void Split(float[] src, float[] dst, int length, DeterministicRandom rng, bool backward)
    {
        (_src, _dst, _length, _rng, _backward) = (src, dst, length, rng, backward);
        WorkerPool.For((length + Chunk - 1) / Chunk, this);
        (_src, _dst) = (Array.Empty<float>(), Array.Empty<float>()); // do not keep the caller's buffers alive
    }

    void IParallelWork.Run(int piece)
    {
        int start = piece * Chunk, count = Math.Min(Chunk, _length - start);
        if (_backward) BackwardRange(_src, _dst, start, count);
        else ForwardRange(_src, _dst, start, count);
    }

    // y[start..start+count) and its mask from the call's stream advanced to value start.
    private void ForwardRange(float[] x, float[] y, int start, int count)
    {
        var rng = _rng;
        rng.Skip((ulong)start);
        Apply(ref rng, x.AsSpan(start, count), y.AsSpan(start, count), _mask!.AsSpan(start, count), P);
    }

    /// <summary>
    /// y = x ⊙ m / (1 − p), m drawn from <paramref name="rng"/> one value per element in order (kept where its top 24 bits
    /// are at least p·2²⁴), and m stored in <paramref name="mask"/> (1 = kept) unless it is empty. Attention's dropout on
    /// its probabilities draws its masks here too.
    /// </summary>
    internal static void Apply(ref DeterministicRandom rng, ReadOnlySpan<float> x, Span<float> y, Span<byte> mask, float p)
    {
        float keep = 1f / (1f - p);
        // 24-bit threshold: compare raw bits rather than building floats.
        ulong threshold = (ulong)(p * (1 << 24));
        bool store = !mask.IsEmpty;
        int i = 0, end = x.Length;
        ref float px = ref MemoryMarshal.GetReference(x), py = ref MemoryMarshal.GetReference(y);
        ref byte pm = ref MemoryMarshal.GetReference(mask);
        if (Avx512DQ.IsSupported && Vector512.IsHardwareAccelerated)
        {
            // Sixteen elements per pass from two eight-lane draws: the same random values in the same order as one draw
            // per element (the mask drawing was 5% of a training step).
            var limit = Vector512.Create(threshold);
            var scale = Vector512.Create(keep);
            for (; i + 16 <= end; i += 16)
            {
                var low = Vector512.GreaterThanOrEqual(Vector512.ShiftRightLogical(rng.NextUInt64x8(), 40), limit);
                var high = Vector512.GreaterThanOrEqual(Vector512.ShiftRightLogical(rng.NextUInt64x8(), 40), limit);
                var kept = Vector512.Narrow(low, high); // all ones where kept, element order kept
                Vector512.ConditionalSelect(kept.AsSingle(), Vector512.LoadUnsafe(ref px, (nuint)i) * scale, Vector512<float>.Zero)
                    .StoreUnsafe(ref py, (nuint)i);
                if (store) Avx512F.ConvertToVector128Byte(kept & Vector512<uint>.One).StoreUnsafe(ref pm, (nuint)i);
            }
        }
        else if (Avx2.IsSupported)
        {
            // The same with four lanes (64-bit products emulated on AVX2), eight elements per pass.
            var limit = Vector256.Create(threshold);
            var scale = Vector256.Create(keep);
            for (; i + 8 <= end; i += 8)
            {
                var low = Vector256.GreaterThanOrEqual(Vector256.ShiftRightLogical(rng.NextUInt64x4(), 40), limit);
                var high = Vector256.GreaterThanOrEqual(Vector256.ShiftRightLogical(rng.NextUInt64x4(), 40), limit);
                var kept = Vector256.Narrow(low, high);
                Vector256.ConditionalSelect(kept.AsSingle(), Vector256.LoadUnsafe(ref px, (nuint)i) * scale, Vector256<float>.Zero)
                    .StoreUnsafe(ref py, (nuint)i);
                if (!store) continue;
                uint bits = kept.ExtractMostSignificantBits();
                for (int j = 0; j < 8; j++) mask[i + j] = (byte)((bits >> j) & 1);
            }
        }
        for (; i < end; i++)
        {
            bool kept = (rng.NextUInt64() >> 40) >= threshold;
            if (store) mask[i] = kept ? (byte)1 : (byte)0;
            y[i] = kept ? x[i] * keep : 0f;
        }
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
        Split(dy, dx, length, default, backward: true);
        return dx;
    }

    // dx[start..start+count) = dy ⊙ mask / (1 − p).
    private void BackwardRange(float[] dy, float[] dx, int start, int count)
    {
        var mask = _mask!;
        float keep = Keep;
        int i = start, end = start + count;
        if (Avx512F.IsSupported && Vector512.IsHardwareAccelerated)
        {
            ref float pdy = ref MemoryMarshal.GetArrayDataReference(dy), pdx = ref MemoryMarshal.GetArrayDataReference(dx);
            ref byte pm = ref MemoryMarshal.GetArrayDataReference(mask);
            var scale = Vector512.Create(keep);
            for (; i + 16 <= end; i += 16)
            {
                var dropped = Vector512.Equals(Avx512F.ConvertToVector512Int32(Vector128.LoadUnsafe(ref pm, (nuint)i)), Vector512<int>.Zero);
                Vector512.ConditionalSelect(dropped.AsSingle(), Vector512<float>.Zero, Vector512.LoadUnsafe(ref pdy, (nuint)i) * scale)
                    .StoreUnsafe(ref pdx, (nuint)i);
            }
        }
        else if (Avx2.IsSupported)
        {
            ref float pdy = ref MemoryMarshal.GetArrayDataReference(dy), pdx = ref MemoryMarshal.GetArrayDataReference(dx);
            ref byte pm = ref MemoryMarshal.GetArrayDataReference(mask);
            var scale = Vector256.Create(keep);
            for (; i + 8 <= end; i += 8)
            {
                var bytes = Vector128.CreateScalar(Unsafe.ReadUnaligned<ulong>(ref Unsafe.Add(ref pm, i))).AsByte(); // this step's 8 mask bytes only
                var dropped = Vector256.Equals(Avx2.ConvertToVector256Int32(bytes), Vector256<int>.Zero);
                Vector256.ConditionalSelect(dropped.AsSingle(), Vector256<float>.Zero, Vector256.LoadUnsafe(ref pdy, (nuint)i) * scale)
                    .StoreUnsafe(ref pdx, (nuint)i);
            }
        }
        for (; i < end; i++) dx[i] = mask[i] != 0 ? dy[i] * keep : 0f;
    }
}
