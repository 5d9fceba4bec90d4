namespace MLNetTransformers.Core.Models;

/// <summary>The feed-forward block as a sublayer.</summary>
internal sealed class FeedForwardSublayer(FeedForward ff) : ISublayer
{
    /// <summary>Set by the block: no backward follows this forward (so it may keep less).</summary>
    public bool Inference;
    public FeedForward Network => ff;
    public float[] Forward(float[] x, int n, bool training) => ff.Forward(x, n, training, Inference);
    public float[] Backward(float[] dy, int n) => ff.Backward(dy, n);
}
