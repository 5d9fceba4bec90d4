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
