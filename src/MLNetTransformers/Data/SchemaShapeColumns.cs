namespace MLNetTransformers.Data;

/// <summary>
/// Builds <see cref="SchemaShape.Column"/> values, whose constructor ML.NET keeps internal, through public API only:
/// an empty view with the wanted schema is fitted by an <see cref="EstimatorChain{TLastTransformer}"/> holding a probe
/// estimator, and ML.NET hands the probe the <see cref="SchemaShape"/> it derived from that schema.
/// </summary>
internal static class SchemaShapeColumns
{
    /// <summary>The shape columns of <paramref name="columns"/>, in order.</summary>
    public static SchemaShape.Column[] From(IEnumerable<DataViewSchema.DetachedColumn> columns)
    {
        var b = new DataViewSchema.Builder();
        var list = columns.ToArray();
        foreach (var c in list) b.AddColumn(c.Name, c.Type, c.Annotations);
        var probe = new Probe();
        new EstimatorChain<ITransformer>().Append(probe).Fit(new EmptyView(b.ToSchema()));
        var shape = probe.Seen ?? throw new InvalidOperationException("ML.NET did not pass a schema shape to the probe estimator.");
        var byName = shape.ToDictionary(c => c.Name);
        return list.Select(c => byName.TryGetValue(c.Name, out var col) ? col : throw new InvalidOperationException($"Column '{c.Name}' missing from the probed shape.")).ToArray();
    }

    /// <summary>Throws naming <paramref name="name"/> unless <paramref name="shape"/> has it as a scalar text column.</summary>
    public static void RequireText(SchemaShape shape, string name, string role = DefaultColumnNames.Text)
    {
        var col = shape.FirstOrDefault(c => c.Name == name);
        if (col.Name is null) throw new ArgumentOutOfRangeException(nameof(shape), $"{role} column '{name}' was not found in the input.");
        if (col.Kind != SchemaShape.Column.VectorKind.Scalar || col.ItemType is not TextDataViewType)
            throw new ArgumentOutOfRangeException(nameof(shape), $"{role} column '{name}' has type {col.ItemType}{(col.Kind == SchemaShape.Column.VectorKind.Scalar ? "" : " vector")}; expected String (text).");
    }

    /// <summary><paramref name="input"/> with <paramref name="added"/> appended (replacing same-named columns).</summary>
    public static SchemaShape Extend(SchemaShape input, IEnumerable<DataViewSchema.DetachedColumn> added)
    {
        var cols = input.ToDictionary(c => c.Name);
        foreach (var c in From(added)) cols[c.Name] = c;
        return new SchemaShape(cols.Values);
    }

    /// <summary>
    /// A detached column named <paramref name="name"/> with the type and annotation kinds of <paramref name="like"/>
    /// (annotation values are placeholders: only their presence and types matter to GetOutputSchema).
    /// </summary>
    public static DataViewSchema.DetachedColumn Like(string name, SchemaShape.Column like, DataViewType itemTypeForScalar)
    {
        var b = new DataViewSchema.Annotations.Builder();
        foreach (var a in like.Annotations)
        {
            if (a.Kind == SchemaShape.Column.VectorKind.Scalar) AddDefault(b, a.Name, a.ItemType);
            else AddDefault(b, a.Name, new VectorDataViewType((PrimitiveDataViewType)a.ItemType));
        }
        return new DataViewSchema.DetachedColumn(name, itemTypeForScalar, b.ToAnnotations());
    }

    private static void AddDefault(DataViewSchema.Annotations.Builder b, string name, DataViewType type)
    {
        var method = typeof(SchemaShapeColumns).GetMethod(nameof(AddTyped), System.Reflection.BindingFlags.NonPublic | System.Reflection.BindingFlags.Static)!;
        method.MakeGenericMethod(type.RawType).Invoke(null, new object[] { b, name, type });
    }

    private static void AddTyped<T>(DataViewSchema.Annotations.Builder b, string name, DataViewType type)
        => b.Add(name, type, (ValueGetter<T>)((ref T v) => v = default!));

    private sealed class Probe : IEstimator<ITransformer>
    {
        public SchemaShape? Seen;
        public SchemaShape GetOutputSchema(SchemaShape inputSchema) { Seen = inputSchema; return inputSchema; }
        public ITransformer Fit(IDataView input) => new TransformerChain<ITransformer>();
    }

    private sealed class EmptyView(DataViewSchema schema) : IDataView
    {
        public bool CanShuffle => false;
        public DataViewSchema Schema => schema;
        public long? GetRowCount() => 0;
        public DataViewRowCursor GetRowCursor(IEnumerable<DataViewSchema.Column> columnsNeeded, Random? rand = null) => new EmptyCursor(schema);
        public DataViewRowCursor[] GetRowCursorSet(IEnumerable<DataViewSchema.Column> columnsNeeded, int n, Random? rand = null) => new[] { GetRowCursor(columnsNeeded, rand) };
    }

    private sealed class EmptyCursor(DataViewSchema schema) : DataViewRowCursor
    {
        public override DataViewSchema Schema => schema;
        public override long Position => -1;
        public override long Batch => 0;
        public override bool MoveNext() => false;
        public override ValueGetter<DataViewRowId> GetIdGetter() => (ref DataViewRowId v) => v = default;
        public override bool IsColumnActive(DataViewSchema.Column column) => false;
        public override ValueGetter<TValue> GetGetter<TValue>(DataViewSchema.Column column) => throw new InvalidOperationException("Empty view.");
    }
}
