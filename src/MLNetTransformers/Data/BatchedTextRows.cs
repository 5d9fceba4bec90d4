using Microsoft.ML;
using Microsoft.ML.Data;

namespace MLNetTransformers.Data;

/// <summary>
/// Per-row results of a text model, computed in batches. When the row comes from a cursor walking its source in
/// order, a second cursor over the same source reads the next rows' text ahead, so a whole batch goes through the
/// network at once; otherwise (PredictionEngine, shuffled cursors) rows are computed one at a time.
/// </summary>
internal sealed class BatchedTextRows
{
    public const int BatchSize = 64;
    private readonly RowContext _row;
    private readonly ValueGetter<ReadOnlyMemory<char>> _text;
    private readonly int _textIndex, _width;
    private readonly Action<IReadOnlyList<string?>, float[]> _compute;
    private readonly float[] _results;
    private readonly string?[] _texts = new string?[BatchSize];
    private long _start = -1, _count;
    private DataViewRowCursor? _ahead;
    private ValueGetter<ReadOnlyMemory<char>>? _aheadText;

    /// <param name="row">The row (and, for cursors, the source view).</param>
    /// <param name="text">Text column of the input schema.</param>
    /// <param name="width">Results per row.</param>
    /// <param name="compute">Fills [texts.Count, width] results for a batch of texts.</param>
    public BatchedTextRows(RowContext row, DataViewSchema.Column text, int width, Action<IReadOnlyList<string?>, float[]> compute)
    {
        (_row, _textIndex, _width, _compute) = (row, text.Index, width, compute);
        _text = row.Input.GetGetter<ReadOnlyMemory<char>>(text);
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
            ReadOnlyMemory<char> t = default;
            _text(ref t);
            _texts[0] = t.ToString();
            n = 1;
        }
        _compute(new ArraySegment<string?>(_texts, 0, n), _results);
        (_start, _count) = (pos, n);
    }

    private bool TryReadAhead(long pos, out int n)
    {
        n = 0;
        if (_ahead is null)
        {
            var col = _row.Source!.Schema[_textIndex];
            _ahead = _row.Source.GetRowCursor(new[] { col });
            _aheadText = _ahead.GetGetter<ReadOnlyMemory<char>>(col);
        }
        while (_ahead.Position < pos && _ahead.MoveNext()) { }
        if (_ahead.Position != pos) return false; // the two cursors disagree: compute this row alone
        ReadOnlyMemory<char> t = default;
        do
        {
            _aheadText!(ref t);
            _texts[n++] = t.ToString();
        } while (n < BatchSize && _ahead.MoveNext());
        return true;
    }
}
