namespace MLNetTransformers.Data;

/// <summary>
/// Per-row results of a model, computed in batches. When the row comes from a cursor walking its source in order,
/// a second cursor over the same source reads the next rows' input ahead, so a whole batch goes through the
/// network at once; otherwise (PredictionEngine, shuffled cursors) rows are computed one at a time.
/// </summary>
/// <typeparam name="TItem">What is kept of each row for the batch (e.g. its text).</typeparam>
/// <typeparam name="TResult">One result value (a score, an embedding component, a generated text).</typeparam>
internal sealed class BatchedRows<TItem, TResult>
{
    /// <summary>Rows computed per network call.</summary>
    public const int BatchSize = 64;
    private readonly RowContext _row;
    private readonly Func<TItem> _read;
    private readonly Func<DataViewRow, Func<TItem>> _reader;
    private readonly DataViewSchema.Column[] _inputs;
    private readonly int _width;
    private readonly Action<IReadOnlyList<TItem>, TResult[]> _compute;
    private readonly TResult[] _results;
    private readonly TItem[] _items = new TItem[BatchSize];
    private long _start = -1, _count;
    private DataViewRowCursor? _ahead;
    private Func<TItem>? _aheadRead;

    /// <param name="row">The row (and, for cursors, the source view).</param>
    /// <param name="inputs">Input columns the reader uses.</param>
    /// <param name="width">Results per row.</param>
    /// <param name="reader">Given a row, makes a function that copies what the batch needs out of its current values.</param>
    /// <param name="compute">Fills [items.Count, width] results for a batch of items.</param>
    public BatchedRows(RowContext row, IReadOnlyList<DataViewSchema.Column> inputs, int width, Func<DataViewRow, Func<TItem>> reader,
        Action<IReadOnlyList<TItem>, TResult[]> compute)
    {
        (_row, _width, _reader, _compute) = (row, width, reader, compute);
        _inputs = inputs.ToArray();
        _read = reader(row.Input);
        _results = new TResult[BatchSize * width];
    }

    /// <summary>A reader of one text column.</summary>
    public static Func<DataViewRow, Func<string?>> Text(DataViewSchema.Column column) => r =>
    {
        var g = r.GetGetter<ReadOnlyMemory<char>>(r.Schema[column.Index]);
        ReadOnlyMemory<char> v = default;
        return () => { g(ref v); return v.ToString(); };
    };

    /// <summary>A reader of two text columns (a sentence pair).</summary>
    public static Func<DataViewRow, Func<(string?, string?)>> Pair(DataViewSchema.Column first, DataViewSchema.Column second) => r =>
    {
        var a = Text(first)(r);
        var b = Text(second)(r);
        return () => (a(), b());
    };

    /// <summary>The results of the current row.</summary>
    public ReadOnlySpan<TResult> Current()
    {
        long pos = _row.Input.Position;
        if (pos < _start || pos >= _start + _count) Fill(pos);
        return _results.AsSpan((int)(pos - _start) * _width, _width);
    }

    private void Fill(long pos)
    {
        if (!(_row.Sequential && _row.Source is not null && TryReadAhead(pos, out int n)))
        {
            _items[0] = _read();
            n = 1;
        }
        _compute(new ArraySegment<TItem>(_items, 0, n), _results);
        (_start, _count) = (pos, n);
    }

    private bool TryReadAhead(long pos, out int n)
    {
        n = 0;
        if (_ahead is null)
        {
            var source = _row.Source!;
            _ahead = source.GetRowCursor(_inputs.Select(c => source.Schema[c.Index]));
            _aheadRead = _reader(_ahead);
        }
        while (_ahead.Position < pos && _ahead.MoveNext()) { }
        if (_ahead.Position != pos) return false; // the two cursors disagree: compute this row alone
        do
        {
            _items[n++] = _aheadRead!();
        } while (n < BatchSize && _ahead.MoveNext());
        return true;
    }
}
