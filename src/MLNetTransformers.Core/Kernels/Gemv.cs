namespace MLNetTransformers.Core.Kernels;

/// <summary>
/// c[1, n] (+)= a[1, k] · op(B): the one-row case of <see cref="Gemm"/>, where packing B would cost more than the
/// product. With B transposed (x·Wᵀ, W stored [n, k]) each output is a dot product of contiguous rows; otherwise
/// rows of B are accumulated with a[p] as weight. Columns are split across cores for large products; each output is
/// computed by one thread in a fixed order.
/// </summary>
internal sealed class Gemv : IParallelWork
{
    [ThreadStatic] private static Gemv? _cached;
    private Transpose _tb;
    private int _n, _k, _ldb, _chunk;
    private unsafe float* _a, _b, _c;
    private bool _acc;

    public static unsafe void Run(Transpose tb, int n, int k, ReadOnlySpan<float> a, ReadOnlySpan<float> b, int ldb, Span<float> c, bool accumulate, bool parallel)
    {
        fixed (float* pa = a, pb = b, pc = c)
        {
            var job = _cached ??= new Gemv();
            (job._tb, job._n, job._k, job._ldb, job._acc) = (tb, n, k, ldb, accumulate);
            job._a = pa; job._b = pb; job._c = pc;
            long work = (long)n * k;
            int pieces = parallel && work >= 1 << 18 ? WorkerPool.Degree * 2 : 1;
            job._chunk = (n + pieces - 1) / pieces;
            pieces = (n + job._chunk - 1) / job._chunk;
            if (pieces == 1) job.Run(0);
            else WorkerPool.For(pieces, job);
        }
    }

    [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.AggressiveOptimization)]
    public unsafe void Run(int piece)
    {
        int j0 = piece * _chunk, j1 = Math.Min(_n, j0 + _chunk);
        var a = new ReadOnlySpan<float>(_a, _k);
        var c = new Span<float>(_c + j0, j1 - j0);
        if (_tb == Transpose.Yes)
        {
            for (int j = j0; j < j1; j++)
            {
                float dot = TensorPrimitives.Dot(a, new ReadOnlySpan<float>(_b + (long)j * _ldb, _k));
                c[j - j0] = _acc ? c[j - j0] + dot : dot;
            }
            return;
        }
        if (!_acc) c.Clear();
        for (int p = 0; p < _k; p++)
        {
            var row = new ReadOnlySpan<float>(_b + (long)p * _ldb + j0, j1 - j0);
            TensorPrimitives.MultiplyAdd(row, a[p], c, c);
        }
    }
}
