namespace MLNetTransformers.Core.Layers;

/// <summary>Adds position vectors to x: [B, T, C] in place.</summary>
public abstract class PositionalEncoding
{
    /// <summary>Creates an encoding for up to <paramref name="maxLength"/> positions of size <paramref name="dim"/>.</summary>
    protected PositionalEncoding(int maxLength, int dim)
    {
        if (maxLength <= 0 || dim <= 0) throw new ArgumentOutOfRangeException(nameof(maxLength), $"Positional encoding needs positive sizes, got max length {maxLength}, dim {dim}.");
        MaxLength = maxLength;
        Dim = dim;
    }

    /// <summary>Number of positions.</summary>
    public int MaxLength { get; }
    /// <summary>Vector size.</summary>
    public int Dim { get; }

    /// <summary>The vectors, [MaxLength, Dim].</summary>
    protected abstract ReadOnlySpan<float> Table { get; }

    /// <summary>The position vectors, [MaxLength, Dim] (for export).</summary>
    public ReadOnlySpan<float> Vectors => Table;

    /// <summary>row += PE[position]: one token vector at its own position (rows of a decoding step differ).</summary>
    /// <param name="row">One token vector [d], changed in place.</param>
    /// <param name="position">Its position.</param>
    public void AddAt(Span<float> row, int position)
    {
        if ((uint)position >= (uint)MaxLength) throw new ArgumentOutOfRangeException(nameof(position), position, $"Position {position} exceeds the maximum length {MaxLength}.");
        TensorPrimitives.Add(row, Table.Slice(position * Dim, Dim), row);
    }

    /// <summary>x[b, t, :] += PE[start + t] for a batch of <paramref name="batch"/> sequences of length <paramref name="seqLen"/>.</summary>
    /// <param name="x">Token vectors [B, T, d], changed in place.</param>
    /// <param name="batch">Sequences in the batch (B).</param>
    /// <param name="seqLen">Tokens per sequence (T).</param>
    /// <param name="start">Position of the first new token.</param>
    public void AddTo(float[] x, int batch, int seqLen, int start = 0)
    {
        if (start < 0 || start + seqLen > MaxLength)
            throw new ArgumentOutOfRangeException(nameof(seqLen), $"Positions {start}..{start + seqLen - 1} exceed the maximum length {MaxLength}.");
        var table = Table;
        for (int b = 0; b < batch; b++)
        {
            var rows = x.AsSpan(b * seqLen * Dim, seqLen * Dim);
            TensorPrimitives.Add(rows, table.Slice(start * Dim, seqLen * Dim), rows);
        }
    }

    /// <summary>x[r, :] += PE[start + positions[r]]: rows at positions of their own (packed sequences).</summary>
    /// <param name="x">Token vectors [n, d], changed in place.</param>
    /// <param name="positions">Each row's position, [n].</param>
    /// <param name="start">Offset added to every position.</param>
    public void AddTo(float[] x, ReadOnlySpan<int> positions, int start = 0)
    {
        var table = Table;
        for (int r = 0; r < positions.Length; r++)
        {
            int p = start + positions[r];
            if ((uint)p >= (uint)MaxLength) throw new ArgumentOutOfRangeException(nameof(positions), $"Position {p} exceeds the maximum length {MaxLength}.");
            var row = x.AsSpan(r * Dim, Dim);
            TensorPrimitives.Add(row, table.Slice(p * Dim, Dim), row);
        }
    }

    /// <summary>Adds the gradient of the table for rows at their own positions (as given to <see cref="AddTo(float[], ReadOnlySpan{int}, int)"/>).</summary>
    /// <param name="dy">Gradient of the loss with respect to the output, [n, d].</param>
    /// <param name="positions">Each row's position, [n].</param>
    /// <param name="start">Offset added to every position.</param>
    public abstract void Backward(float[] dy, ReadOnlySpan<int> positions, int start = 0);

    /// <summary>Adds the gradient of the table (nothing for fixed encodings).</summary>
    /// <param name="dy">Gradient of the loss with respect to the output.</param>
    /// <param name="batch">Sequences in the batch (B).</param>
    /// <param name="seqLen">Tokens per sequence (T).</param>
    /// <param name="start">Position of the first token (as given to <see cref="AddTo(float[], int, int, int)"/>).</param>
    public abstract void Backward(float[] dy, int batch, int seqLen, int start = 0);

    /// <summary>Creates the encoding of the given kind (null for <see cref="PositionalEncodingKind.None"/>).</summary>
    /// <param name="kind">Learned, sinusoidal or none.</param>
    /// <param name="parameters">The parameter set the weights are declared in (and allocated by its owner).</param>
    /// <param name="prefix">Prefix of the parameter names.</param>
    /// <param name="maxLength">Positions 0..maxLength−1.</param>
    /// <param name="dim">Width d of each position vector.</param>
    public static PositionalEncoding? Create(PositionalEncodingKind kind, ParameterSet parameters, string prefix, int maxLength, int dim) => kind switch
    {
        PositionalEncodingKind.None => null,
        PositionalEncodingKind.Learned => new LearnedPositionalEncoding(parameters, prefix, maxLength, dim),
        PositionalEncodingKind.Sinusoidal => new SinusoidalPositionalEncoding(maxLength, dim),
        _ => throw new ArgumentOutOfRangeException(nameof(kind), kind, "Unknown positional encoding."),
    };
}
