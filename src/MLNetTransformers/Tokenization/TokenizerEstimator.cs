namespace MLNetTransformers.Tokenization;

/// <summary>
/// Tokenizes a text column into <c>TokenIds</c> and <c>AttentionMask</c> columns (Int64 vectors of MaxTokens,
/// the input of transformer models and of ONNX encoders). A learned vocabulary is learned from the text column at Fit.
/// With a second text column, each row is a sentence pair and a <c>TokenTypeIds</c> column is added.
/// </summary>
public sealed class TokenizerEstimator : IEstimator<TokenizerTransformer>
{
    private readonly string _input, _ids, _mask, _types;
    private readonly string? _second;
    private readonly TokenizerOptions _options;

    /// <summary>Creates the estimator; see <c>mlContext.Transforms.Text.TokenizeForTransformer</c>.</summary>
    /// <param name="inputColumnName">Input text column.</param>
    /// <param name="tokenIdsColumnName">Output column of token ids (int64 vector).</param>
    /// <param name="attentionMaskColumnName">Output column of the attention mask (1 = real token, 0 = padding).</param>
    /// <param name="options">Tokenizer kind, vocabulary and length.</param>
    /// <param name="secondInputColumnName">Second text of a sentence pair, or null for single texts.</param>
    /// <param name="tokenTypeIdsColumnName">Output column of token type ids (pairs only).</param>
    public TokenizerEstimator(string inputColumnName, string tokenIdsColumnName, string attentionMaskColumnName, TokenizerOptions options,
        string? secondInputColumnName = null, string tokenTypeIdsColumnName = DefaultColumnNames.TokenTypeIds)
    {
        _second = secondInputColumnName;
        _types = tokenTypeIdsColumnName;
        _input = inputColumnName;
        _ids = tokenIdsColumnName;
        _mask = attentionMaskColumnName;
        _options = options ?? throw new ArgumentNullException(nameof(options));
        _options.Validate();
    }

    /// <summary>Learns the vocabulary (when learned) and returns the transformer.</summary>
    /// <param name="input">Data whose text column the vocabulary is learned from.</param>
    public TokenizerTransformer Fit(IDataView input)
    {
        var col = TokenizerTransformer.RequireText(input.Schema, _input);
        DataViewSchema.Column? second = _second is null ? null : TokenizerTransformer.RequireText(input.Schema, _second);
        // A learned vocabulary comes from both sides of the pairs.
        var tokenizer = _options.Build(() => second is null ? TextColumn.Read(input, col) : TextColumn.Read(input, col).Concat(TextColumn.Read(input, second.Value)));
        return new TokenizerTransformer(tokenizer, _input, _ids, _mask, _second, _types);
    }

    /// <inheritdoc/>
    public SchemaShape GetOutputSchema(SchemaShape inputSchema)
    {
        SchemaShapeColumns.RequireText(inputSchema, _input);
        if (_second is not null) SchemaShapeColumns.RequireText(inputSchema, _second);
        return SchemaShapeColumns.Extend(inputSchema, TokenizerTransformer.OutputColumns(_ids, _mask, _options.MaxTokens, _second is null ? null : _types));
    }
}
