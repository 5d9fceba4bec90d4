namespace MLNetTransformers.Core.Kernels;

/// <summary>Chunks of an activation's forward or backward, run on the worker pool.</summary>
internal sealed class ActivationJob : IParallelWork
{
    private const int Chunk = 1 << 15;
    [ThreadStatic] private static ActivationJob? _cached;
    private Activation _act;
    private float[] _x = Array.Empty<float>(), _out = Array.Empty<float>();
    private float[]? _dy;
    private int _length;

    public static void Run(Activation act, float[] x, float[]? dy, float[] output, int length)
    {
        var job = _cached ??= new ActivationJob();
        (job._act, job._x, job._dy, job._out, job._length) = (act, x, dy, output, length);
        int pieces = (length + Chunk - 1) / Chunk;
        if (pieces <= 1) job.Run(0);
        else WorkerPool.For(pieces, job);
        (job._x, job._dy, job._out) = (Array.Empty<float>(), null, Array.Empty<float>()); // do not keep the buffers alive
    }

    public void Run(int piece)
    {
        int start = piece * Chunk, n = Math.Min(Chunk, _length - start);
        if (n <= 0) return;
        if (_dy is null) Activations.Forward(_act, _x.AsSpan(start, n), _out.AsSpan(start, n));
        else Activations.Backward(_act, _x.AsSpan(start, n), _dy.AsSpan(start, n), _out.AsSpan(start, n));
    }
}
