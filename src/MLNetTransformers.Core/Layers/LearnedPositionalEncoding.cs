namespace MLNetTransformers.Core.Layers;

/// <summary>A trained table <c>{prefix}weight</c> [max_len, d] (GPT-2's wpe).</summary>
public sealed class LearnedPositionalEncoding : PositionalEncoding
{
    /// <summary>Declares the table.</summary>
    /// <param name="parameters">The parameter set the weights are declared in (and allocated by its owner).</param>
    /// <param name="prefix">Prefix of the parameter names.</param>
    /// <param name="maxLength">Positions 0..maxLength−1.</param>
    /// <param name="dim">Width d of each position vector.</param>
    /// <param name="initStd">Standard deviation of the initial weights.</param>
    public LearnedPositionalEncoding(ParameterSet parameters, string prefix, int maxLength, int dim, float initStd = 0.02f) : base(maxLength, dim)
        => Weight = parameters.Add(prefix + "weight", new[] { maxLength, dim }, Init.Normal(initStd), decay: false);

    /// <summary>[max_len, d]</summary>
    public ParameterTensor Weight { get; }

    /// <inheritdoc/>
    protected override ReadOnlySpan<float> Table => Weight.Value;

    /// <inheritdoc/>
    public override void Backward(float[] dy, int batch, int seqLen, int start = 0)
    {
        var g = Weight.Grad.Slice(start * Dim, seqLen * Dim);
        for (int b = 0; b < batch; b++) TensorPrimitives.Add(g, dy.AsSpan(b * seqLen * Dim, seqLen * Dim), g);
    }

    /// <inheritdoc/>
    public override void Backward(float[] dy, ReadOnlySpan<int> positions, int start = 0)
    {
        var g = Weight.Grad;
        for (int r = 0; r < positions.Length; r++)
        {
            var row = g.Slice((start + positions[r]) * Dim, Dim);
            TensorPrimitives.Add(row, dy.AsSpan(r * Dim, Dim), row);
        }
    }
}
