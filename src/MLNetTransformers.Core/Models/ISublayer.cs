namespace MLNetTransformers.Core.Models;

/// <summary>What sits inside a residual branch: attention or feed-forward over rows [n, d].</summary>
internal interface ISublayer
{
    float[] Forward(float[] x, int n, bool training);
    float[] Backward(float[] dy, int n);
}
