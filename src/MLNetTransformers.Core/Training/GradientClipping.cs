
namespace MLNetTransformers.Core.Training;

/// <summary>Clipping by global L2 norm, as <c>torch.nn.utils.clip_grad_norm_</c>.</summary>
public static class GradientClipping
{
    /// <summary>The L2 norm of all of <paramref name="grad"/> (computed in one pass over the flat buffer).</summary>
    /// <param name="grad">The flat gradient buffer.</param>
    public static float GlobalNorm(ReadOnlySpan<float> grad) => MathF.Sqrt(TensorPrimitives.SumOfSquares(grad));

    /// <summary>
    /// The L2 norm of all of <paramref name="grad"/>, its chunks summed across cores (a pretrained encoder's gradient is
    /// tens of millions of values). Chunks are fixed and added in order, so the result does not depend on the cores.
    /// </summary>
    /// <param name="grad">The flat gradient buffer.</param>
    public static float GlobalNorm(float[] grad) => SquaredNorm.Of(grad);

    /// <summary>The factor that brings a gradient of norm <paramref name="norm"/> to at most <paramref name="maxNorm"/> (1 when it already is).</summary>
    /// <param name="norm">The gradient's global norm (finite).</param>
    /// <param name="maxNorm">Largest global norm allowed (0 = no clipping).</param>
    public static float ScaleFor(float norm, float maxNorm) =>
        maxNorm > 0f && float.IsFinite(norm) && norm > maxNorm ? maxNorm / (norm + 1e-6f) : 1f;

    /// <summary>Scales <paramref name="grad"/> so its norm is at most <paramref name="maxNorm"/>; returns the norm before clipping.</summary>
    /// <param name="grad">The flat gradient buffer, scaled in place when its norm exceeds maxNorm.</param>
    /// <param name="maxNorm">Largest global norm allowed (0 = no clipping).</param>
    public static float ClipGlobalNorm(Span<float> grad, float maxNorm)
    {
        float norm = GlobalNorm(grad);
        float scale = ScaleFor(norm, maxNorm);
        if (scale != 1f) TensorPrimitives.Multiply(grad, scale, grad);
        return norm;
    }

    private sealed class SquaredNorm : IParallelWork
    {
        private const int Chunk = 1 << 16;
        [ThreadStatic] private static SquaredNorm? _cached;
        private float[] _grad = [];
        private double[] _sums = [];

        public static float Of(float[] grad)
        {
            if (grad.Length <= Chunk) return MathF.Sqrt(TensorPrimitives.SumOfSquares<float>(grad));
            var job = _cached ??= new SquaredNorm();
            int pieces = (grad.Length + Chunk - 1) / Chunk;
            if (job._sums.Length < pieces) job._sums = new double[pieces];
            job._grad = grad;
            WorkerPool.For(pieces, job);
            job._grad = [];
            double total = 0;
            for (int i = 0; i < pieces; i++) total += job._sums[i];
            return (float)Math.Sqrt(total);
        }

        public void Run(int piece)
        {
            int start = piece * Chunk;
            _sums[piece] = TensorPrimitives.SumOfSquares(_grad.AsSpan(start, Math.Min(Chunk, _grad.Length - start)));
        }
    }
}
