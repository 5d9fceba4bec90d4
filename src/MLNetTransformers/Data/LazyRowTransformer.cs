namespace MLNetTransformers.Data;

/// <summary>
/// Base of this library's transformers: lazy and row-to-row. <see cref="Transform"/> returns a view whose cursors
/// compute the added columns per row, only when they are active; <see cref="GetRowToRowMapper"/> makes
/// <c>PredictionEngine</c> work; the transformer is immutable, so several threads can use it at once.
/// (ML.NET's own bases for this are not subclassable outside its assemblies.)
/// </summary>
public abstract class LazyRowTransformer : ITransformer
{
    /// <summary>Validates <paramref name="inputSchema"/> and binds a mapper to it.</summary>
    private protected abstract ColumnMapper CreateMapper(DataViewSchema inputSchema);

    /// <inheritdoc/>
    public bool IsRowToRowMapper => true;

    /// <inheritdoc/>
    public DataViewSchema GetOutputSchema(DataViewSchema inputSchema) => CreateMapper(inputSchema).OutputSchema;

    /// <inheritdoc/>
    public IRowToRowMapper GetRowToRowMapper(DataViewSchema inputSchema) => new MappedRowToRowMapper(CreateMapper(inputSchema));

    /// <inheritdoc/>
    public IDataView Transform(IDataView input) => new MappedDataView(input, CreateMapper(input.Schema));

    /// <summary>
    /// ML.NET keeps the writer of its model files internal to its own assemblies, so this transformer cannot write
    /// itself into <c>mlContext.Model.Save</c>; use <c>TransformerModel.Save</c> instead.
    /// </summary>
    void ICanSaveModel.Save(ModelSaveContext ctx) => throw new NotSupportedException(
        $"{GetType().Name} cannot be written by mlContext.Model.Save: ML.NET keeps its model-file writer internal to its own assemblies. " +
        "Save the fitted pipeline with MLNetTransformers.TransformerModel.Save(mlContext, model, inputSchema, path) and load it with TransformerModel.Load.");
}
