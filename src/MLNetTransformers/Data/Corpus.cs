namespace MLNetTransformers.Data;

/// <summary>Packing and scoring of token streams.</summary>
internal static class Corpus
{
    /// <summary>Documents as one stream: [SEP] doc₁ [SEP] doc₂ …</summary>
    public static int[] Encode(TextTokenizer tokenizer, IEnumerable<string?> documents)
    {
        var stream = new List<int>();
        foreach (var d in documents)
        {
            if (string.IsNullOrEmpty(d)) continue;
            stream.Add(tokenizer.SepId);
            stream.AddRange(tokenizer.EncodeAll(d));
        }
        return stream.ToArray();
    }

    /// <summary>Mean next-token cross-entropy over up to <paramref name="maxWindows"/> windows spread over the stream (all of it if they fit).</summary>
    public static double Loss(TransformerLanguageModel model, ReadOnlySpan<int> stream, int context, int maxWindows)
    {
        if (stream.Length < 2) throw new ArgumentException("The text has fewer than two tokens: there is nothing to predict.");
        int t = Math.Min(context, stream.Length - 1);
        int possible = (stream.Length - 1) / t;
        int windows = Math.Min(maxWindows, Math.Max(1, possible));
        double stride = windows == 1 ? 0 : (double)(stream.Length - 1 - t) / (windows - 1);
        double total = 0; long count = 0;
        const int batch = 16;
        var ids = new int[batch * t];
        var targets = new int[batch * t];
        for (int w0 = 0; w0 < windows; w0 += batch)
        {
            int b = Math.Min(batch, windows - w0);
            for (int i = 0; i < b; i++)
            {
                int start = (int)Math.Round((w0 + i) * stride);
                stream.Slice(start, t).CopyTo(ids.AsSpan(i * t, t));
                stream.Slice(start + 1, t).CopyTo(targets.AsSpan(i * t, t));
            }
            total += model.Loss(new TokenBatch(b, t, ids, labels: targets)) * (double)(b * t);
            count += b * t;
        }
        return total / count;
    }
}
