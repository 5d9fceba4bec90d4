namespace MLNetTransformers.Core.Kernels;

/// <summary>
/// acc[c] += Σ_r x[r, c] (a bias gradient: the column sums of the output gradient), split across cores by column stripes.
/// Every element adds its rows in row order, whichever stripe it is in, so the sums are the serial ones bit for bit.
/// </summary>
internal sealed class ColumnSum : IParallelWork
{
    // Columns per stripe: whole 64-byte lines of a row; below Serial elements the call stays on one core.
    private const int Stripe = 64, Serial = 1 << 15;
    [ThreadStatic] private static ColumnSum? _cached;
    private float[] _x = Array.Empty<float>(), _acc = Array.Empty<float>();
    private int _rows, _cols, _offset;

    /// <summary>acc[offset + c] += Σ_r x[r * cols + c] for c in [0, cols), r in [0, rows).</summary>
    public static void Run(ReadOnlySpan<float> x, int rows, int cols, Span<float> acc)
    {
        for (int r = 0; r < rows; r++) TensorPrimitives.Add(acc, x.Slice(r * cols, cols), acc);
    }

    /// <summary>As <see cref="Run(ReadOnlySpan{float}, int, int, Span{float})"/> over whole arrays, across cores when large.</summary>
    public static void Run(float[] x, int rows, int cols, float[] acc, int offset = 0)
    {
        if ((long)rows * cols <= Serial || cols <= Stripe)
        {
            Run(x.AsSpan(0, rows * cols), rows, cols, acc.AsSpan(offset, cols));
            return;
        }
        var job = _cached ??= new ColumnSum();
        (job._x, job._acc, job._rows, job._cols, job._offset) = (x, acc, rows, cols, offset);
        WorkerPool.For((cols + Stripe - 1) / Stripe, job);
        (job._x, job._acc) = (Array.Empty<float>(), Array.Empty<float>()); // do not keep the buffers alive
    }

    public void Run(int piece)
    {
        int c0 = piece * Stripe, width = Math.Min(Stripe, _cols - c0);
        var acc = _acc.AsSpan(_offset + c0, width);
        for (int r = 0; r < _rows; r++) TensorPrimitives.Add(acc, _x.AsSpan(r * _cols + c0, width), acc);
    }
}
