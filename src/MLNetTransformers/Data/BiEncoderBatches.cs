namespace MLNetTransformers.Data;

/// <summary>
/// Batches of sentence pairs for a <see cref="BiEncoder"/>: B pairs as one [2B, T] batch, the first sentences in rows
/// [0, B) and the second ones in [B, 2B), T the longest of them; shuffled each epoch and grouped by length as
/// <see cref="Batcher"/> groups single texts.
/// </summary>
internal static class BiEncoderBatches
{
    /// <summary>Rows <paramref name="rows"/> of the pairs (<paramref name="a"/>[r], <paramref name="b"/>[r]) as one batch.</summary>
    public static TokenBatch Pack(EncodedTexts a, EncodedTexts b, int[] rows, float[]? targets)
    {
        int n = rows.Length, t = 1;
        foreach (int r in rows) t = Math.Max(t, Math.Max(a.Lengths[r], b.Lengths[r]));
        var ids = new int[2 * n * t];
        var mask = new int[2 * n * t];
        for (int i = 0; i < 2 * n; i++)
        {
            var side = i < n ? a : b;
            int r = rows[i % n], len = side.Lengths[r];
            side.Ids.AsSpan(r * side.MaxTokens, t).CopyTo(ids.AsSpan(i * t, t));
            mask.AsSpan(i * t, len).Fill(1);
        }
        return new TokenBatch(2 * n, t, ids, mask) { Targets = targets };
    }

    /// <summary>One epoch of training batches of <paramref name="batchSize"/> pairs with their targets.</summary>
    public static IEnumerable<TrainingBatch> Epoch(EncodedTexts a, EncodedTexts b, IReadOnlyList<float> targets, int batchSize, ulong seed, int epoch)
    {
        foreach (var rows in Batcher.GroupedByLength(a.Count, r => Math.Max(a.Lengths[r], b.Lengths[r]), batchSize, seed, epoch))
        {
            int real = rows.Sum(r => a.Lengths[r] + b.Lengths[r]);
            yield return new TrainingBatch(Pack(a, b, rows, rows.Select(r => targets[r]).ToArray()), real);
        }
    }
}
