namespace MLNetTransformers.Core.Kernels;

/// <summary>y = a + b over long arrays (a residual connection of a whole batch) in chunks across cores.</summary>
internal sealed class ParallelAdd : IParallelWork
{
    private const int Chunk = 1 << 15;
    [ThreadStatic] private static ParallelAdd? _cached;
    private float[] _a = Array.Empty<float>(), _b = Array.Empty<float>(), _y = Array.Empty<float>();
    private int _length;

    /// <summary>y[0..length) = a + b.</summary>
    public static void Run(float[] a, float[] b, float[] y, int length)
    {
        if (length <= Chunk)
        {
            TensorPrimitives.Add(a.AsSpan(0, length), b.AsSpan(0, length), y.AsSpan(0, length));
            return;
        }
        var job = _cached ??= new ParallelAdd();
        (job._a, job._b, job._y, job._length) = (a, b, y, length);
        WorkerPool.For((length + Chunk - 1) / Chunk, job);
        (job._a, job._b, job._y) = (Array.Empty<float>(), Array.Empty<float>(), Array.Empty<float>()); // do not keep the buffers alive
    }

    public void Run(int piece)
    {
        int start = piece * Chunk, n = Math.Min(Chunk, _length - start);
        TensorPrimitives.Add(_a.AsSpan(start, n), _b.AsSpan(start, n), _y.AsSpan(start, n));
    }
}
