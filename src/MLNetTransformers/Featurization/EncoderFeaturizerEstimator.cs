namespace MLNetTransformers.Featurization;

/// <summary>Estimator of <see cref="EncoderFeaturizerTransformer"/> (nothing to learn: Fit checks the schema).</summary>
public sealed class EncoderFeaturizerEstimator : IEstimator<EncoderFeaturizerTransformer>
{
    private readonly EncoderFeaturizerTransformer _transformer;

    /// <summary>Featurizes with a trained encoder; the input column holds text, or token ids from this tokenizer.</summary>
    /// <param name="tokenizer">The encoder's tokenizer.</param>
    /// <param name="encoder">A trained encoder (e.g. a classifier's <see cref="TransformerClassifier.Encoder"/> or masked-LM pretraining's).</param>
    /// <param name="inputColumnName">Text column, or token ids from <paramref name="tokenizer"/>.</param>
    /// <param name="outputColumnName">Embedding column written.</param>
    public EncoderFeaturizerEstimator(TextTokenizer tokenizer, TransformerEncoder encoder, string inputColumnName = DefaultColumnNames.Text, string outputColumnName = DefaultColumnNames.Features)
        => _transformer = new EncoderFeaturizerTransformer(tokenizer, encoder, inputColumnName, outputColumnName);

    /// <inheritdoc/>
    public EncoderFeaturizerTransformer Fit(IDataView input)
    {
        _transformer.GetOutputSchema(input.Schema);
        return _transformer;
    }

    /// <inheritdoc/>
    public SchemaShape GetOutputSchema(SchemaShape inputSchema)
    {
        var input = inputSchema.FirstOrDefault(c => c.Name == _transformer.InputColumnName);
        if (input.Name is null) throw new ArgumentOutOfRangeException(nameof(inputSchema), $"Input column '{_transformer.InputColumnName}' was not found in the input.");
        bool text = input.Kind == SchemaShape.Column.VectorKind.Scalar && input.ItemType is TextDataViewType;
        bool ids = input.Kind != SchemaShape.Column.VectorKind.Scalar && (input.ItemType == NumberDataViewType.Int64 || input.ItemType == NumberDataViewType.Int32);
        if (!text && !ids)
            throw new ArgumentOutOfRangeException(nameof(inputSchema), $"Input column '{_transformer.InputColumnName}' has type {input.ItemType}; expected String (text) or a vector of Int64/Int32 token ids.");
        return SchemaShapeColumns.Extend(inputSchema, new[] { _transformer.OutputColumn });
    }
}
