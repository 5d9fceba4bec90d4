namespace MLNetTransformers.Core.Models;

/// <summary>The feed-forward block as a sublayer.</summary>
internal sealed class FeedForwardSublayer(FeedForward ff) : ISublayer
{
    public float[] Forward(float[] x, int n, bool training) => ff.Forward(x, n, training);
    public float[] Backward(float[] dy, int n) => ff.Backward(dy, n);
}
