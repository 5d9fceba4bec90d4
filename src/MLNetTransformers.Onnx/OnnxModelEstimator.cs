using Microsoft.ML;
using MLNetTransformers.Data;

namespace MLNetTransformers.Onnx;

/// <summary>Estimator of <see cref="OnnxModelTransformer"/> (nothing to learn: Fit binds and checks the columns).</summary>
public sealed class OnnxModelEstimator : IEstimator<OnnxModelTransformer>
{
    private readonly OnnxModelOptions _options;

    /// <summary>Creates the estimator; the session is opened at Fit.</summary>
    /// <param name="options">The model and how columns bind to its inputs and outputs.</param>
    public OnnxModelEstimator(OnnxModelOptions options) => _options = options ?? throw new ArgumentNullException(nameof(options));

    /// <inheritdoc/>
    public OnnxModelTransformer Fit(IDataView input)
    {
        var t = new OnnxModelTransformer(_options);
        t.GetOutputSchema(input.Schema); // checks the bindings now, naming any bad column
        return t;
    }

    /// <inheritdoc/>
    public SchemaShape GetOutputSchema(SchemaShape inputSchema)
    {
        using var t = new OnnxModelTransformer(_options);
        foreach (var (input, column) in t.BoundInputs)
        {
            var c = inputSchema.FirstOrDefault(x => x.Name == column);
            if (c.Name is null) throw new ArgumentOutOfRangeException(nameof(inputSchema), $"Column '{column}' (bound to ONNX input '{input}') was not found in the input.");
        }
        return SchemaShapeColumns.Extend(inputSchema, t.OutputColumnsFor(null));
    }
}
