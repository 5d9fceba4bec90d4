namespace MLNetTransformers.Core.Layers;

/// <summary>PE(pos, 2i) = sin(pos / 10000^(2i/d)), PE(pos, 2i+1) = cos(pos / 10000^(2i/d)).</summary>
public sealed class SinusoidalPositionalEncoding : PositionalEncoding
{
    private readonly float[] _table;

    /// <summary>Precomputes the table.</summary>
    /// <param name="maxLength">Positions 0..maxLength−1.</param>
    /// <param name="dim">Width d of each position vector.</param>
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
    public override void Backward(float[] dy, int batch, int seqLen, int start = 0) { }

    /// <inheritdoc/>
    public override void Backward(float[] dy, ReadOnlySpan<int> positions, int start = 0) { }
}
