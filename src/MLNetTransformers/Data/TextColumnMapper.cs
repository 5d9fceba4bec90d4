namespace MLNetTransformers.Data;

/// <summary>
/// A mapper that reads one text column, or two for sentence pairs (each checked to exist and hold text), and adds a
/// fixed set of columns.
/// </summary>
internal abstract class TextColumnMapper : ColumnMapper
{
    private readonly DataViewSchema.DetachedColumn[] _outputs;

    /// <summary>Binds the text column <paramref name="textColumnName"/> (and <paramref name="secondTextColumnName"/>, when given) of <paramref name="inputSchema"/>.</summary>
    protected TextColumnMapper(DataViewSchema inputSchema, string textColumnName, DataViewSchema.DetachedColumn[] outputs, string? secondTextColumnName = null) : base(inputSchema)
    {
        Text = Tokenization.TokenizerTransformer.RequireText(inputSchema, textColumnName);
        SecondText = secondTextColumnName is null ? null : Tokenization.TokenizerTransformer.RequireText(inputSchema, secondTextColumnName);
        _outputs = outputs;
    }

    /// <summary>The text column read.</summary>
    protected DataViewSchema.Column Text { get; }
    /// <summary>The second text of a sentence pair, or null.</summary>
    protected DataViewSchema.Column? SecondText { get; }

    /// <inheritdoc/>
    public override IReadOnlyList<DataViewSchema.DetachedColumn> Outputs => _outputs;
    /// <inheritdoc/>
    public override IEnumerable<DataViewSchema.Column> Dependencies => SecondText is { } b ? new[] { Text, b } : new[] { Text };
}
