using System.Numerics.Tensors;

namespace MLNetTransformers.Core.Layers;

/// <summary>Kind of position information added to token embeddings.</summary>
public enum PositionalEncodingKind
{
    /// <summary>A trained [max_len, d] table (BERT, GPT-2).</summary>
    Learned,
    /// <summary>Fixed sines and cosines ("Attention Is All You Need").</summary>
    Sinusoidal,
}

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

    /// <summary>x[b, t, :] += PE[start + t] for a batch of <paramref name="batch"/> sequences of length <paramref name="seqLen"/>.</summary>
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

    /// <summary>Adds the gradient of the table (nothing for fixed encodings).</summary>
    public abstract void Backward(float[] dy, int batch, int seqLen);

    /// <summary>Creates the encoding of the given kind.</summary>
    public static PositionalEncoding Create(PositionalEncodingKind kind, ParameterSet parameters, string prefix, int maxLength, int dim) => kind switch
    {
        PositionalEncodingKind.Learned => new LearnedPositionalEncoding(parameters, prefix, maxLength, dim),
        PositionalEncodingKind.Sinusoidal => new SinusoidalPositionalEncoding(maxLength, dim),
        _ => throw new ArgumentOutOfRangeException(nameof(kind), kind, "Unknown positional encoding."),
    };
}

/// <summary>PE(pos, 2i) = sin(pos / 10000^(2i/d)), PE(pos, 2i+1) = cos(pos / 10000^(2i/d)).</summary>
public sealed class SinusoidalPositionalEncoding : PositionalEncoding
{
    private readonly float[] _table;

    /// <summary>Precomputes the table.</summary>
    public SinusoidalPositionalEncoding(int maxLength, int dim) : base(maxLength, dim)
    {
        _table = new float[maxLength * dim];
        for (int pos = 0; pos < maxLength; pos++)
        for (int i = 0; i < dim; i += 2)
        {
            double angle = pos / Math.Pow(10000.0, (double)i / dim);
            _table[pos * dim + i] = (float)Math.Sin(angle);
            if (i + 1 < dim) _table[pos * dim + i + 1] = (float)Math.Cos(angle);
        }
    }

    /// <inheritdoc/>
    protected override ReadOnlySpan<float> Table => _table;

    /// <inheritdoc/>
    public override void Backward(float[] dy, int batch, int seqLen) { }
}

/// <summary>A trained table <c>{prefix}weight</c> [max_len, d] (GPT-2's wpe).</summary>
public sealed class LearnedPositionalEncoding : PositionalEncoding
{
    /// <summary>Declares the table.</summary>
    public LearnedPositionalEncoding(ParameterSet parameters, string prefix, int maxLength, int dim, float initStd = 0.02f) : base(maxLength, dim)
        => Weight = parameters.Add(prefix + "weight", new[] { maxLength, dim }, Init.Normal(initStd), decay: false);

    /// <summary>[max_len, d]</summary>
    public ParameterTensor Weight { get; }

    /// <inheritdoc/>
    protected override ReadOnlySpan<float> Table => Weight.Value;

    /// <inheritdoc/>
    public override void Backward(float[] dy, int batch, int seqLen)
    {
        var g = Weight.Grad.Slice(0, seqLen * Dim);
        for (int b = 0; b < batch; b++) TensorPrimitives.Add(g, dy.AsSpan(b * seqLen * Dim, seqLen * Dim), g);
    }
}
