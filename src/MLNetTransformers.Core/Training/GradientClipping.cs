namespace MLNetTransformers.Core.Training;

/// <summary>Clipping by global L2 norm, as <c>torch.nn.utils.clip_grad_norm_</c>.</summary>
public static class GradientClipping
{
    /// <summary>The L2 norm of all of <paramref name="grad"/> (computed in one pass over the flat buffer).</summary>
    /// <param name="grad">The flat gradient buffer.</param>
    public static float GlobalNorm(ReadOnlySpan<float> grad) => MathF.Sqrt(TensorPrimitives.SumOfSquares(grad));

    /// <summary>Scales <paramref name="grad"/> so its norm is at most <paramref name="maxNorm"/>; returns the norm before clipping.</summary>
    /// <param name="grad">The flat gradient buffer, scaled in place when its norm exceeds maxNorm.</param>
    /// <param name="maxNorm">Largest global norm allowed (0 = no clipping).</param>
    public static float ClipGlobalNorm(Span<float> grad, float maxNorm)
    {
        float norm = GlobalNorm(grad);
        if (maxNorm > 0f && float.IsFinite(norm) && norm > maxNorm)
            TensorPrimitives.Multiply(grad, maxNorm / (norm + 1e-6f), grad);
        return norm;
    }
}
