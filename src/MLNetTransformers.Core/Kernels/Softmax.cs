using System.Runtime.Intrinsics;

namespace MLNetTransformers.Core.Kernels;

/// <summary>Numerically stable softmax over the last axis, with optional masks, and its backward.</summary>
internal static class Softmax
{
    /// <summary>
    /// y = softmax(x) in place over one row. Entries at index ≥ <paramref name="valid"/> are treated as masked
    /// (causal rows stop at the diagonal) and set to 0. A row with no unmasked entry becomes all zeros rather
    /// than NaN, so fully padded rows do not poison the batch.
    /// </summary>
    public static void InPlace(Span<float> row, int valid)
    {
        if (valid <= 0) { row.Clear(); return; }
        var live = row[..valid];
        float max = TensorPrimitives.Max(live);
        if (float.IsNegativeInfinity(max)) { row.Clear(); return; }
        TensorPrimitives.Subtract(live, max, live);
        TensorPrimitives.Exp(live, live);
        float sum = TensorPrimitives.Sum(live);
        TensorPrimitives.Multiply(live, 1f / sum, live);
        row[valid..].Clear();
    }

    /// <summary>
    /// y = softmax(x + additiveMask) per row of x: [rows, cols]. <paramref name="additiveMask"/> is empty, one row
    /// [cols] broadcast over rows, or [rows, cols]; -∞ blocks an entry. <paramref name="blocked"/> (same shapes) is
    /// a boolean mask where true blocks an entry, as PyTorch's boolean attn_mask.
    /// </summary>
    public static void Forward(ReadOnlySpan<float> x, Span<float> y, int rows, int cols,
        ReadOnlySpan<float> additiveMask = default, ReadOnlySpan<bool> blocked = default)
    {
        if (x.Length < rows * cols || y.Length < rows * cols)
            throw new ArgumentException($"Softmax over [{rows}, {cols}] needs {rows * cols} elements; x has {x.Length}, y has {y.Length}.");
        CheckMask(additiveMask.Length, rows, cols, nameof(additiveMask));
        CheckMask(blocked.Length, rows, cols, nameof(blocked));
        for (int r = 0; r < rows; r++)
        {
            var row = y.Slice(r * cols, cols);
            x.Slice(r * cols, cols).CopyTo(row);
            if (!additiveMask.IsEmpty)
                TensorPrimitives.Add(row, additiveMask.Slice(additiveMask.Length == cols ? 0 : r * cols, cols), row);
            if (!blocked.IsEmpty)
            {
                var b = blocked.Slice(blocked.Length == cols ? 0 : r * cols, cols);
                for (int c = 0; c < cols; c++) if (b[c]) row[c] = float.NegativeInfinity;
            }
            InPlace(row, cols);
        }
    }

    /// <summary>Largest of row[0..n) (−∞ for n = 0).</summary>
    public static unsafe float Max(float* row, int n)
    {
        int j = 0;
        float max = float.NegativeInfinity;
        if (Vector512.IsHardwareAccelerated && n >= 16)
        {
            var m = Vector512.Load(row);
            for (j = 16; j + 16 <= n; j += 16) m = Vector512.Max(m, Vector512.Load(row + j));
            for (int i = 0; i < 16; i++) max = Math.Max(max, m.GetElement(i));
        }
        for (; j < n; j++) max = Math.Max(max, row[j]);
        return max;
    }

    /// <summary>
    /// row[j] = exp(scale·row[j] − shift) for j &lt; n, returning their sum: softmax's exponentials with the score scale
    /// folded in, in one pass (−∞ entries become 0).
    /// </summary>
    public static unsafe float ExpSum(float* row, int n, float scale, float shift)
    {
        int j = 0;
        float sum = 0;
        if (Vector512.IsHardwareAccelerated)
        {
            var vs = Vector512.Create(scale);
            var vsh = Vector512.Create(shift);
            var acc = Vector512<float>.Zero;
            for (; j + 16 <= n; j += 16)
            {
                var e = Vector512.Exp(Vector512.FusedMultiplyAdd(Vector512.Load(row + j), vs, -vsh));
                e.Store(row + j);
                acc += e;
            }
            sum = Vector512.Sum(acc);
        }
        for (; j < n; j++) { row[j] = MathF.Exp(scale * row[j] - shift); sum += row[j]; }
        return sum;
    }

    /// <summary>dx = y ⊙ (dy − Σ dy⊙y) per row, for y = softmax(x). dx may alias dy.</summary>
    public static void Backward(ReadOnlySpan<float> y, ReadOnlySpan<float> dy, Span<float> dx, int rows, int cols)
    {
        for (int r = 0; r < rows; r++) BackwardRow(y.Slice(r * cols, cols), dy.Slice(r * cols, cols), dx.Slice(r * cols, cols));
    }

    /// <summary>One row of <see cref="Backward"/>.</summary>
    public static void BackwardRow(ReadOnlySpan<float> y, ReadOnlySpan<float> dy, Span<float> dx)
    {
        float dot = TensorPrimitives.Dot(y, dy);
        TensorPrimitives.Subtract(dy, dot, dx);
        TensorPrimitives.Multiply(dx, y, dx);
    }

    private static void CheckMask(int length, int rows, int cols, string name)
    {
        if (length != 0 && length != cols && length != rows * cols)
            throw new ArgumentException($"Mask '{name}' has {length} elements; expected {cols} (one row) or {rows * cols} ([{rows}, {cols}]).", name);
    }
}
