namespace MLNetTransformers.Core.Kernels;

/// <summary>
/// x = 0 over a long array in chunks across cores: a pretrained encoder's tens of millions of gradients, cleared every
/// step, and the attention's [tokens, 3·d] input-gradient buffer, cleared in every layer's backward.
/// </summary>
internal sealed class ParallelClear : IParallelWork
{
    private const int Chunk = 1 << 17;
    [ThreadStatic] private static ParallelClear? _cached;
    private float[] _x = Array.Empty<float>();
    private int _length;

    /// <summary>Sets x[0..length) to zero (all of x when length is null).</summary>
    public static void Run(float[] x, int? length = null)
    {
        int n = length ?? x.Length;
        if (n <= Chunk)
        {
            Array.Clear(x, 0, n);
            return;
        }
        var job = _cached ??= new ParallelClear();
        (job._x, job._length) = (x, n);
        WorkerPool.For((n + Chunk - 1) / Chunk, job);
        job._x = Array.Empty<float>(); // do not keep the buffer alive
    }

    public void Run(int piece)
    {
        int start = piece * Chunk;
        Array.Clear(_x, start, Math.Min(Chunk, _length - start));
    }
}
