namespace MLNetTransformers.Data;

/// <summary>The lazy view a <see cref="LazyRowTransformer"/> returns from Transform.</summary>
internal sealed class MappedDataView : IDataView
{
    private readonly IDataView _source;
    private readonly ColumnMapper _mapper;

    public MappedDataView(IDataView source, ColumnMapper mapper) => (_source, _mapper) = (source, mapper);

    public bool CanShuffle => _source.CanShuffle;
    public DataViewSchema Schema => _mapper.OutputSchema;
    public long? GetRowCount() => _source.GetRowCount();

    public DataViewRowCursor GetRowCursor(IEnumerable<DataViewSchema.Column> columnsNeeded, Random? rand = null)
    {
        var requested = columnsNeeded.ToArray();
        var need = MappedColumns.InputActivity(_mapper, requested);
        var input = _source.GetRowCursor(_source.Schema.Where(c => need[c.Index]), rand);
        var active = new HashSet<int>(requested.Select(c => c.Index));
        return new MappedCursor(input, _mapper, new RowContext(input, _source, rand is null), active.Contains);
    }

    public DataViewRowCursor[] GetRowCursorSet(IEnumerable<DataViewSchema.Column> columnsNeeded, int n, Random? rand = null)
        => new[] { GetRowCursor(columnsNeeded, rand) };

    private sealed class MappedCursor : DataViewRowCursor
    {
        private readonly DataViewRowCursor _input;
        private readonly MappedColumns _columns;
        private readonly DataViewSchema _schema;

        public MappedCursor(DataViewRowCursor input, ColumnMapper mapper, RowContext context, Func<int, bool> isActive)
        {
            _input = input;
            _schema = mapper.OutputSchema;
            _columns = new MappedColumns(mapper, context, isActive);
        }

        public override DataViewSchema Schema => _schema;
        public override long Position => _input.Position;
        public override long Batch => _input.Batch;
        public override bool MoveNext() => _input.MoveNext();
        public override ValueGetter<DataViewRowId> GetIdGetter() => _input.GetIdGetter();
        public override bool IsColumnActive(DataViewSchema.Column column) => _columns.IsActive(column);
        public override ValueGetter<TValue> GetGetter<TValue>(DataViewSchema.Column column) => _columns.GetGetter<TValue>(column);

        protected override void Dispose(bool disposing)
        {
            if (disposing) _input.Dispose();
            base.Dispose(disposing);
        }
    }
}
