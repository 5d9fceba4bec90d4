namespace MLNetTransformers.Data;

/// <summary>Row-level face of a mapper, which is what PredictionEngine uses.</summary>
internal sealed class MappedRowToRowMapper : IRowToRowMapper
{
    private readonly ColumnMapper _mapper;

    public MappedRowToRowMapper(ColumnMapper mapper) => _mapper = mapper;

    public DataViewSchema InputSchema => _mapper.InputSchema;
    public DataViewSchema OutputSchema => _mapper.OutputSchema;

    public IEnumerable<DataViewSchema.Column> GetDependencies(IEnumerable<DataViewSchema.Column> dependingColumns)
    {
        var need = MappedColumns.InputActivity(_mapper, dependingColumns);
        return InputSchema.Where(c => need[c.Index]);
    }

    public DataViewRow GetRow(DataViewRow input, IEnumerable<DataViewSchema.Column> activeColumns)
    {
        var active = new HashSet<int>(activeColumns.Select(c => c.Index));
        return new MappedRow(input, _mapper, active.Contains);
    }

    private sealed class MappedRow : DataViewRow
    {
        private readonly DataViewRow _input;
        private readonly MappedColumns _columns;
        private readonly DataViewSchema _schema;

        public MappedRow(DataViewRow input, ColumnMapper mapper, Func<int, bool> isActive)
        {
            _input = input;
            _schema = mapper.OutputSchema;
            _columns = new MappedColumns(mapper, new RowContext(input, null, false), isActive);
        }

        public override DataViewSchema Schema => _schema;
        public override long Position => _input.Position;
        public override long Batch => _input.Batch;
        public override ValueGetter<DataViewRowId> GetIdGetter() => _input.GetIdGetter();
        public override bool IsColumnActive(DataViewSchema.Column column) => _columns.IsActive(column);
        public override ValueGetter<TValue> GetGetter<TValue>(DataViewSchema.Column column) => _columns.GetGetter<TValue>(column);
    }
}
