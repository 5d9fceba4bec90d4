using Microsoft.ML;
using Microsoft.ML.Data;

namespace MLNetTransformers.Data;

/// <summary>
/// Per-row results of a model, computed in batches. When the row comes from a cursor walking its source in order,
/// a second cursor over the same source reads the next rows' input ahead, so a whole batch goes through the
/// network at once; otherwise (PredictionEngine, shuffled cursors) rows are computed one at a time.
/// </summary>
/// <typeparam name="TValue">Type of the input column's values (e.g. ReadOnlyMemory&lt;char&gt;).</typeparam>
/// <typeparam name="TItem">What is kept of each value for the batch (e.g. string).</typeparam>
internal sealed class BatchedRows<TValue, TItem>
{
    public const int BatchSize = 64;
    private readonly RowContext _row;
    private readonly ValueGetter<TValue> _value;
    private readonly Func<TValue, TItem> _keep;
    private readonly int _textIndex, _width;
    private readonly Action<IReadOnlyList<TItem>, float[]> _compute;
    private readonly float[] _results;
    private readonly TItem[] _items = new TItem[BatchSize];
    private long _start = -1, _count;
    private DataViewRowCursor? _ahead;
    private ValueGetter<TValue>? _aheadValue;

    /// <param name="row">The row (and, for cursors, the source view).</param>
    /// <param name="input">Input column of the input schema.</param>
    /// <param name="width">Results per row.</param>
    /// <param name="keep">Copies what the batch needs out of a (reused) column value.</param>
    /// <param name="compute">Fills [items.Count, width] results for a batch of items.</param>
    public BatchedRows(RowContext row, DataViewSchema.Column input, int width, Func<TValue, TItem> keep, Action<IReadOnlyList<TItem>, float[]> compute)
    {
        (_row, _textIndex, _width, _keep, _compute) = (row, input.Index, width, keep, compute);
        _value = row.Input.GetGetter<TValue>(input);
        _results = new float[BatchSize * width];
    }

    /// <summary>The results of the current row.</summary>
    public ReadOnlySpan<float> Current()
    {
        long pos = _row.Input.Position;
        if (pos < _start || pos >= _start + _count) Fill(pos);
        return _results.AsSpan((int)(pos - _start) * _width, _width);
    }

    private void Fill(long pos)
    {
        if (!(_row.Sequential && _row.Source is not null && TryReadAhead(pos, out int n)))
        {
            TValue v = default!;
            _value(ref v);
            _items[0] = _keep(v);
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
            var col = _row.Source!.Schema[_textIndex];
            _ahead = _row.Source.GetRowCursor(new[] { col });
            _aheadValue = _ahead.GetGetter<TValue>(col);
        }
        while (_ahead.Position < pos && _ahead.MoveNext()) { }
        if (_ahead.Position != pos) return false; // the two cursors disagree: compute this row alone
        TValue v = default!;
        do
        {
            _aheadValue!(ref v);
            _items[n++] = _keep(v);
        } while (n < BatchSize && _ahead.MoveNext());
        return true;
    }
}
