namespace MLNetTransformers.Data;

/// <summary>
/// The columns a transformer adds to a given input schema and how to compute them for a row. Subclasses validate
/// the input schema in their constructor, naming the offending column.
/// </summary>
internal abstract class ColumnMapper
{
    /// <summary>Binds to <paramref name="inputSchema"/>.</summary>
    protected ColumnMapper(DataViewSchema inputSchema) => InputSchema = inputSchema;

    /// <summary>The schema this mapper was bound to.</summary>
    public DataViewSchema InputSchema { get; }

    /// <summary>The added columns (they hide same-named input columns).</summary>
    public abstract IReadOnlyList<DataViewSchema.DetachedColumn> Outputs { get; }

    /// <summary>Input columns any output reads.</summary>
    public abstract IEnumerable<DataViewSchema.Column> Dependencies { get; }

    /// <summary>Getters (ValueGetter&lt;T&gt;) for the outputs marked active; null for inactive ones.</summary>
    public abstract Delegate?[] CreateGetters(RowContext row, bool[] activeOutputs);

    /// <summary>Input schema plus <see cref="Outputs"/>.</summary>
    public DataViewSchema OutputSchema => _outputSchema ??= BuildOutputSchema();
    private DataViewSchema? _outputSchema;

    private DataViewSchema BuildOutputSchema()
    {
        var b = new DataViewSchema.Builder();
        b.AddColumns(InputSchema);
        foreach (var c in Outputs) b.AddColumn(c.Name, c.Type, c.Annotations);
        return b.ToSchema();
    }
}
