namespace MLNetTransformers.Core.Kernels;

/// <summary>
/// Mean cross-entropy over rows of logits, fused with its gradient (softmax − target distribution), as
/// PyTorch's <c>cross_entropy(reduction='mean', ignore_index, label_smoothing)</c>.
/// </summary>
internal sealed class CrossEntropy : IParallelWork
{
    /// <summary>Targets equal to this are skipped (no loss, zero gradient, not counted in the mean).</summary>
    public const int DefaultIgnoreIndex = -100;

    private float[]? _rowLoss;
    [ThreadStatic] private static float[]? _rowScratch;
    private float[] _logits = Array.Empty<float>();
    private float[]? _dlogits;
    private int[] _targets = Array.Empty<int>();
    private int _classes, _ignore, _rowsPerPiece, _rows;
    private float _smoothing, _gradScale;

    /// <summary>
    /// loss = mean over non-ignored rows of −Σ q·log softmax(logits), q = (1−ε)·onehot(target) + ε/classes.
    /// When <paramref name="dlogits"/> is given, writes ∂loss/∂logits into it (it may be <paramref name="logits"/> itself).
    /// </summary>
    /// <param name="logits">[rows, classes]</param>
    /// <param name="targets">[rows], class index or <paramref name="ignoreIndex"/></param>
    /// <param name="rows">Number of rows.</param>
    /// <param name="classes">Number of classes.</param>
    /// <param name="dlogits">Where to write the gradient, or null for the loss only.</param>
    /// <param name="ignoreIndex">Target value of rows to skip.</param>
    /// <param name="labelSmoothing">ε in [0, 1).</param>
    /// <returns>The mean loss, or 0 when every row is ignored.</returns>
    public float Compute(float[] logits, int[] targets, int rows, int classes, float[]? dlogits = null,
        int ignoreIndex = DefaultIgnoreIndex, float labelSmoothing = 0f)
    {
        if (labelSmoothing is < 0f or >= 1f || float.IsNaN(labelSmoothing))
            throw new ArgumentOutOfRangeException(nameof(labelSmoothing), labelSmoothing, "Label smoothing must be in [0, 1).");
        if (logits.Length < rows * classes) throw new ArgumentException($"Logits hold {logits.Length} values; [{rows}, {classes}] needs {rows * classes}.", nameof(logits));
        if (targets.Length < rows) throw new ArgumentException($"Targets hold {targets.Length} values; {rows} rows need one each.", nameof(targets));
        int counted = 0;
        for (int r = 0; r < rows; r++)
        {
            int t = targets[r];
            if (t == ignoreIndex) continue;
            if ((uint)t >= (uint)classes) throw new ArgumentOutOfRangeException(nameof(targets), t, $"Target at row {r} is {t}; classes are 0..{classes - 1} (or {ignoreIndex} to ignore).");
            counted++;
        }
        (_logits, _targets, _dlogits, _rows, _classes, _ignore, _smoothing) = (logits, targets, dlogits, rows, classes, ignoreIndex, labelSmoothing);
        _gradScale = counted == 0 ? 0f : 1f / counted;
        var rowLoss = Workspace.Ensure(ref _rowLoss, rows);
        int pieces = Math.Min(rows, WorkerPool.Degree * 4);
        _rowsPerPiece = (rows + pieces - 1) / Math.Max(1, pieces);
        if (rows > 0) WorkerPool.For((rows + _rowsPerPiece - 1) / _rowsPerPiece, this);
        _dlogits = null;
        if (counted == 0) return 0f;
        double total = 0; // fixed summation order: deterministic whatever the thread timing
        for (int r = 0; r < rows; r++) total += rowLoss[r];
        return (float)(total / counted);
    }

    void IParallelWork.Run(int piece)
    {
        int end = Math.Min(_rows, (piece + 1) * _rowsPerPiece);
        int c = _classes;
        float eps = _smoothing, uniform = eps / c;
        for (int r = piece * _rowsPerPiece; r < end; r++)
        {
            var x = _logits.AsSpan(r * c, c);
            int t = _targets[r];
            if (t == _ignore)
            {
                _rowLoss![r] = 0f;
                if (_dlogits is not null) _dlogits.AsSpan(r * c, c).Clear();
                continue;
            }
            // Read what the loss needs before the row is overwritten (dlogits may alias logits).
            float max = TensorPrimitives.Max(x);
            float xt = x[t];
            float meanX = eps > 0f ? TensorPrimitives.Sum(x) / c : 0f;
            var e = _dlogits is not null ? _dlogits.AsSpan(r * c, c) : Workspace.Ensure(ref _rowScratch, c).AsSpan(0, c);
            TensorPrimitives.Subtract(x, max, e);
            TensorPrimitives.Exp(e, e);
            float sum = TensorPrimitives.Sum(e);
            float lse = max + MathF.Log(sum);
            float loss = lse - xt;
            if (eps > 0f) loss = (1f - eps) * loss + eps * (lse - meanX);
            _rowLoss![r] = loss;
            if (_dlogits is not null)
            {
                TensorPrimitives.Multiply(e, 1f / sum, e); // softmax
                if (eps > 0f) TensorPrimitives.Subtract(e, uniform, e);
                e[t] -= 1f - eps;
                TensorPrimitives.Multiply(e, _gradScale, e);
            }
        }
    }
}
