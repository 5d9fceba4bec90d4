namespace MLNetTransformers.Core.Models;

/// <summary>
/// One residual branch of a block, pre-norm <c>x + drop(f(LN(x)))</c> or post-norm <c>LN(x + drop(f(x)))</c>.
/// Encoder and decoder blocks are sequences of these. A pre-norm branch may have no norm (ModernBERT's first block,
/// whose input the embeddings' norm has just normalized).
/// </summary>
internal sealed class ResidualSublayer
{
    private readonly LayerNorm? _norm;
    private readonly ISublayer _f;
    private readonly Dropout _drop;
    private readonly NormPlacement _placement;
    private float[]? _y, _dx;

    public ResidualSublayer(LayerNorm? norm, ISublayer f, Dropout drop, NormPlacement placement)
    {
        if (norm is null && placement != NormPlacement.PreNorm) throw new ArgumentException("Only a pre-norm branch may go without its norm.", nameof(norm));
        (_norm, _f, _drop, _placement) = (norm, f, drop, placement);
    }

    public float[] Forward(float[] x, int n, int d, bool training)
    {
        int len = n * d;
        var y = Workspace.Ensure(ref _y, len);
        if (_placement == NormPlacement.PreNorm)
        {
            var s = _drop.Forward(_f.Forward(_norm is null ? x : _norm.Forward(x, n), n, training), len, training);
            ParallelAdd.Run(x, s, y, len);
            return y;
        }
        var t = _drop.Forward(_f.Forward(x, n, training), len, training);
        ParallelAdd.Run(x, t, y, len);
        return _norm!.Forward(y, n);
    }

    public float[] Backward(float[] dy, int n, int d)
    {
        int len = n * d;
        var dx = Workspace.Ensure(ref _dx, len);
        if (_placement == NormPlacement.PreNorm)
        {
            var dbranch = _f.Backward(_drop.Backward(dy, len), n);
            var dnorm = _norm is null ? dbranch : _norm.Backward(dbranch, n);
            ParallelAdd.Run(dy, dnorm, dx, len);
            return dx;
        }
        var dt = _norm!.Backward(dy, n);
        var df = _f.Backward(_drop.Backward(dt, len), n);
        ParallelAdd.Run(dt, df, dx, len);
        return dx;
    }
}
