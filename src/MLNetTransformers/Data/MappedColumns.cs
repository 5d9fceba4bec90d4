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
