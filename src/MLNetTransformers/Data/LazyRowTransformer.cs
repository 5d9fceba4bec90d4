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

    /// <summary>What this transformer holds that a stock savable part would have to carry (named in the Model.Save error).</summary>
    private protected virtual string SavedState => "a tokenizer (its vocabulary) and network weights";

    /// <summary>
    /// <c>mlContext.Model.Save</c> cannot hold this transformer: ML.NET keeps the writer of its model files internal to its
    /// own assemblies, and no stock savable part can carry the state for it (see docs/saving.md); the error says so and
    /// names <c>TransformerModel.Save</c>.
    /// </summary>
    void ICanSaveModel.Save(ModelSaveContext ctx) => throw new NotSupportedException(
        $"mlContext.Model.Save cannot store {GetType().Name}: it holds {SavedState}, ML.NET keeps its model-file writer internal to its own " +
        "assemblies, and no stock savable transform can carry that state (CustomMapping saves only a contract name; no stock transform " +
        "tokenizes with WordPiece or BPE, and standard ONNX has no tokenizer operator). " +
        "Save the fitted pipeline with MLNetTransformers.TransformerModel.Save(mlContext, model, inputSchema, path) and load it with TransformerModel.Load.");
}
