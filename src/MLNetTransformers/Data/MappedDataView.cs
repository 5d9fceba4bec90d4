using Microsoft.ML;
using Microsoft.ML.Data;

namespace MLNetTransformers.Data;

/// <summary>Input columns plus a mapper's outputs, computed per row only for active columns.</summary>
internal sealed class MappedColumns
{
    private readonly ColumnMapper _mapper;
    private readonly DataViewRow _input;
    private readonly Delegate?[] _getters;
    private readonly bool[] _active;
    private readonly int _inputCount;

    public MappedColumns(ColumnMapper mapper, RowContext context, Func<int, bool> isActive)
    {
        _mapper = mapper;
        _input = context.Input;
        _inputCount = mapper.InputSchema.Count;
        _active = new bool[mapper.Outputs.Count];
        for (int i = 0; i < _active.Length; i++) _active[i] = isActive(_inputCount + i);
        _getters = _active.Any(a => a) ? mapper.CreateGetters(context, _active) : new Delegate?[_active.Length];
    }

    public bool IsActive(DataViewSchema.Column column) =>
        column.Index < _inputCount ? _input.IsColumnActive(_input.Schema[column.Index]) : _active[column.Index - _inputCount];

    public ValueGetter<T> GetGetter<T>(DataViewSchema.Column column)
    {
        if (column.Index < _inputCount) return _input.GetGetter<T>(_input.Schema[column.Index]);
        var g = _getters[column.Index - _inputCount] ?? throw new InvalidOperationException($"Column '{column.Name}' is not active in this row.");
        return g as ValueGetter<T> ?? throw new InvalidOperationException(
            $"Column '{column.Name}' holds {column.Type}; a getter of {typeof(T).Name} was requested.");
    }

    /// <summary>Input columns to activate for the requested output schema columns.</summary>
    public static bool[] InputActivity(ColumnMapper mapper, IEnumerable<DataViewSchema.Column> requested)
    {
        int inputCount = mapper.InputSchema.Count;
        var need = new bool[inputCount];
        bool anyOutput = false;
        foreach (var c in requested)
        {
            if (c.Index < inputCount) need[c.Index] = true;
            else anyOutput = true;
        }
        if (anyOutput) foreach (var d in mapper.Dependencies) need[d.Index] = true;
        return need;
    }
}

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
