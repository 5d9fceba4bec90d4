namespace MLNetTransformers.Data;

/// <summary>Shuffled, length-bucketed batches trimmed to their longest row (short sentences do not pay for MaxTokens).</summary>
internal sealed class Batcher
{
    private readonly EncodedTexts _data;
    private readonly List<int> _labels;
    private readonly List<float>? _targets;
    private readonly int _batchSize;
    private readonly ulong _seed;
    private readonly int[] _ids, _mask;

    // targets: regression targets, one per row (null for classification).
    public Batcher(EncodedTexts data, List<int> labels, int batchSize, ulong seed, List<float>? targets = null)
    {
        (_data, _labels, _batchSize, _seed, _targets) = (data, labels, batchSize, seed, targets);
        _ids = new int[batchSize * data.MaxTokens];
        _mask = new int[batchSize * data.MaxTokens];
    }

    public IEnumerable<TrainingBatch> Epoch(int epoch)
    {
        foreach (var rows in GroupedByLength(_data.Count, r => _data.Lengths[r], _batchSize, _seed, epoch))
        {
            int b = rows.Length;
            var labels = new int[b];
            for (int i = 0; i < b; i++) labels[i] = _labels[rows[i]];
            var targets = _targets is null ? null : rows.Select(r => _targets[r]).ToArray();
            int real = rows.Sum(r => _data.Lengths[r]);
            yield return new TrainingBatch(Pack(_data, rows, _ids, _mask, labels, targets), real);
        }
    }

    /// <summary>
    /// One epoch's batches of row indices: rows shuffled, sorted by <paramref name="length"/> within chunks of 50 batches
    /// (similar lengths share a batch, so little padding is computed), the batches shuffled.
    /// </summary>
    public static IEnumerable<int[]> GroupedByLength(int n, Func<int, int> length, int batchSize, ulong seed, int epoch)
    {
        var rng = DeterministicRandom.Derive(seed, (ulong)epoch + 1000);
        var order = Enumerable.Range(0, n).ToArray();
        rng.Shuffle(order.AsSpan());
        int chunk = batchSize * 50;
        for (int s = 0; s < n; s += chunk)
            Array.Sort(order, s, Math.Min(chunk, n - s), Comparer<int>.Create((a, b) => length(a).CompareTo(length(b))));
        var batchOrder = Enumerable.Range(0, (n + batchSize - 1) / batchSize).ToArray();
        rng.Shuffle(batchOrder.AsSpan());
        foreach (int bi in batchOrder) yield return order.AsSpan(bi * batchSize, Math.Min(batchSize, n - bi * batchSize)).ToArray();
    }

    /// <summary>Copies the given rows into [b, T] arrays with T = the longest row.</summary>
    /// <remarks>Sentence pairs bring their token types, into a new array (a batch keeps the one it was given).</remarks>
    public static TokenBatch Pack(EncodedTexts data, IEnumerable<int> rows, int[] ids, int[] mask, int[]? labels, float[]? targets = null)
    {
        var list = rows as IReadOnlyList<int> ?? rows.ToArray();
        int b = list.Count, t = 1;
        foreach (int r in list) t = Math.Max(t, data.Lengths[r]);
        var types = data.TokenTypes is null ? null : new int[b * t];
        for (int i = 0; i < b; i++)
        {
            int r = list[i], len = data.Lengths[r];
            data.Ids.AsSpan(r * data.MaxTokens, t).CopyTo(ids.AsSpan(i * t, t));
            data.TokenTypes?.AsSpan(r * data.MaxTokens, t).CopyTo(types.AsSpan(i * t, t));
            mask.AsSpan(i * t, len).Fill(1);
            mask.AsSpan(i * t + len, t - len).Clear();
        }
        return new TokenBatch(b, t, ids, mask, labels) { TokenTypeIds = types, Targets = targets };
    }
}
