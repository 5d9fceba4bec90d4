namespace MLNetTransformers.Data;

/// <summary>A mapper that reads one text column (checked to exist and hold text) and adds a fixed set of columns.</summary>
internal abstract class TextColumnMapper : ColumnMapper
{
    private readonly DataViewSchema.DetachedColumn[] _outputs;

    /// <summary>Binds the text column <paramref name="textColumnName"/> of <paramref name="inputSchema"/>.</summary>
    protected TextColumnMapper(DataViewSchema inputSchema, string textColumnName, DataViewSchema.DetachedColumn[] outputs) : base(inputSchema)
    {
        Text = Tokenization.TokenizerTransformer.RequireText(inputSchema, textColumnName);
        _outputs = outputs;
    }

    /// <summary>The text column read.</summary>
    protected DataViewSchema.Column Text { get; }

    /// <inheritdoc/>
    public override IReadOnlyList<DataViewSchema.DetachedColumn> Outputs => _outputs;
    /// <inheritdoc/>
    public override IEnumerable<DataViewSchema.Column> Dependencies => new[] { Text };
}
