namespace MLNetTransformers.Core.Layers;

/// <summary>Layer normalisation over the last axis (biased variance, as PyTorch's <c>nn.LayerNorm</c>).</summary>
public sealed class LayerNorm : IParallelWork
{
    private const int RowsPerPiece = 256, BackwardRowsPerPiece = 64;
    private float[]? _y, _dx, _mean, _rstd, _partial;
    private float[] _x = Array.Empty<float>(), _dy = Array.Empty<float>();
    private int _n;
    private bool _backward;

    /// <summary>Declares <c>{prefix}weight</c> (ones) and, when <paramref name="bias"/>, <c>{prefix}bias</c> (zeros), both [dim].</summary>
    /// <param name="parameters">The parameter set the weights are declared in (and allocated by its owner).</param>
    /// <param name="prefix">Prefix of the parameter names.</param>
    /// <param name="dim">Width of the normalised rows.</param>
    /// <param name="eps">Added to the variance for numerical stability.</param>
    /// <param name="bias">Whether the norm has a shift β (PyTorch's <c>bias</c>; ModernBERT's norms have none).</param>
    public LayerNorm(ParameterSet parameters, string prefix, int dim, float eps = 1e-5f, bool bias = true)
    {
        Dim = dim;
        Eps = eps;
        Weight = parameters.Add(prefix + "weight", new[] { dim }, Init.Ones, decay: false);
        Bias = bias ? parameters.Add(prefix + "bias", new[] { dim }, Init.Zeros, decay: false) : null;
    }

    /// <summary>Normalised size.</summary>
    public int Dim { get; }
    /// <summary>Added to the variance.</summary>
    public float Eps { get; }
    /// <summary>Gain γ, [dim].</summary>
    public ParameterTensor Weight { get; }
    /// <summary>Shift β, [dim]; null without one.</summary>
    public ParameterTensor? Bias { get; }

    /// <summary>x: [n, dim] → y = (x − μ)/σ · γ + β.</summary>
    /// <param name="x">Input activations (shapes as in the summary).</param>
    /// <param name="n">Rows (tokens) in the call.</param>
    public float[] Forward(float[] x, int n)
    {
        int d = Dim;
        var y = Workspace.Ensure(ref _y, n * d);
        Workspace.Ensure(ref _mean, n);
        Workspace.Ensure(ref _rstd, n);
        (_x, _n) = (x, n);
        // Rows are independent: pieces of 256 rows across cores (each row computed the same way on any thread).
        WorkerPool.For((n + RowsPerPiece - 1) / RowsPerPiece, this);
        return y;
    }

    void IParallelWork.Run(int piece)
    {
        if (_backward) { BackwardPiece(piece); return; }
        int d = Dim, r0 = piece * RowsPerPiece, r1 = Math.Min(_n, r0 + RowsPerPiece);
        float[] x = _x, y = _y!, mean = _mean!, rstd = _rstd!;
        var w = Weight.Value;
        var b = Bias is null ? default : Bias.Value;
        for (int r = r0; r < r1; r++)
        {
            var xr = x.AsSpan(r * d, d);
            var yr = y.AsSpan(r * d, d);
            float mu = TensorPrimitives.Sum(xr) / d;
            TensorPrimitives.Subtract(xr, mu, yr);
            float var = TensorPrimitives.SumOfSquares(yr) / d;
            float rs = 1f / MathF.Sqrt(var + Eps);
            mean[r] = mu;
            rstd[r] = rs;
            TensorPrimitives.Multiply(yr, rs, yr);
            if (b.IsEmpty) TensorPrimitives.Multiply(yr, w, yr);
            else TensorPrimitives.FusedMultiplyAdd(yr, w, b, yr);
        }
    }

    /// <summary>dy: [n, dim] → dx; adds to γ and β gradients.</summary>
    /// <param name="dy">Gradient of the loss with respect to the output.</param>
    /// <param name="n">Rows (tokens) in the call.</param>
    public float[] Backward(float[] dy, int n)
    {
        int d = Dim, pieces = (n + BackwardRowsPerPiece - 1) / BackwardRowsPerPiece;
        Workspace.Ensure(ref _dx, n * d);
        var partial = Workspace.Ensure(ref _partial, pieces * 2 * d);
        // Rows across cores in pieces of 64, each piece summing its rows' γ and β gradients apart; the pieces' sums are
        // added in piece order, so the gradients do not depend on which thread ran which piece.
        (_dy, _n, _backward) = (dy, n, true);
        try { WorkerPool.For(pieces, this); }
        finally { (_dy, _backward) = (Array.Empty<float>(), false); }
        var dw = Weight.Grad;
        var db = Bias is null ? default : Bias.Grad;
        for (int p = 0; p < pieces; p++)
        {
            TensorPrimitives.Add(dw, partial.AsSpan(p * 2 * d, d), dw);
            if (!db.IsEmpty) TensorPrimitives.Add(db, partial.AsSpan(p * 2 * d + d, d), db);
        }
        return _dx!;
    }

    private void BackwardPiece(int piece)
    {
        int d = Dim, r0 = piece * BackwardRowsPerPiece, r1 = Math.Min(_n, r0 + BackwardRowsPerPiece);
        float[] dy = _dy, dx = _dx!;
        var w = Weight.Value;
        var dw = _partial.AsSpan(piece * 2 * d, d);
        var db = _partial.AsSpan(piece * 2 * d + d, d);
        dw.Clear();
        db.Clear();
        Span<float> xhat = d <= 4096 ? stackalloc float[d] : new float[d];
        for (int r = r0; r < r1; r++)
        {
            var xr = _x.AsSpan(r * d, d);
            var dyr = dy.AsSpan(r * d, d);
            var dxr = dx.AsSpan(r * d, d);
            float rs = _rstd![r];
            TensorPrimitives.Subtract(xr, _mean![r], xhat);
            TensorPrimitives.Multiply(xhat, rs, xhat);
            TensorPrimitives.FusedMultiplyAdd(dyr, xhat, dw, dw);
            TensorPrimitives.Add(db, dyr, db);
            // dxhat = dy·γ;  dx = rstd·(dxhat − mean(dxhat) − x̂·mean(dxhat·x̂))
            TensorPrimitives.Multiply(dyr, w, dxr);
            float m1 = TensorPrimitives.Sum(dxr) / d;
            float m2 = TensorPrimitives.Dot(dxr, xhat) / d;
            TensorPrimitives.MultiplyAdd(xhat, -m2, dxr, dxr);
            TensorPrimitives.Subtract(dxr, m1, dxr);
            TensorPrimitives.Multiply(dxr, rs, dxr);
        }
    }
}
