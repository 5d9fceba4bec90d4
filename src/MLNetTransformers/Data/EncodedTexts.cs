namespace MLNetTransformers.Data;

/// <summary>Token ids of a text set, encoded once, with each row's real length.</summary>
internal sealed class EncodedTexts
{
    public EncodedTexts(TextTokenizer tokenizer, IReadOnlyList<string?> texts)
    {
        int max = tokenizer.MaxTokens;
        Count = texts.Count;
        MaxTokens = max;
        Ids = new int[Count * max];
        Lengths = new int[Count];
        int truncated = 0;
        Parallel.For(0, Count, () => new int[max], (i, _, m) =>
        {
            Lengths[i] = tokenizer.Encode(texts[i], Ids.AsSpan(i * max, max), m, out bool cut);
            if (cut) Interlocked.Increment(ref truncated);
            return m;
        }, _ => { });
        Truncated = truncated;
    }

    /// <summary>Rows of token ids (e.g. a TokenIds column): each row ends at its first [PAD] and is cut at <paramref name="maxTokens"/>.</summary>
    public EncodedTexts(int maxTokens, IReadOnlyList<long[]> rows, int padId, int vocabularySize)
    {
        Count = rows.Count;
        MaxTokens = maxTokens;
        Ids = new int[Count * maxTokens];
        Lengths = new int[Count];
        for (int i = 0; i < Count; i++)
        {
            var r = rows[i];
            int n = 0;
            for (; n < r.Length && n < maxTokens && r[n] != padId; n++)
            {
                if (r[n] < 0 || r[n] >= vocabularySize)
                    throw new ArgumentOutOfRangeException(nameof(rows), r[n], $"Token id {r[n]} at position {n} is outside the encoder's vocabulary [0, {vocabularySize}).");
                Ids[i * maxTokens + n] = (int)r[n];
            }
            if (n == 0) { Ids[i * maxTokens] = padId; n = 1; } // an all-padding row: one (masked-out) token
            Ids.AsSpan(i * maxTokens + n, maxTokens - n).Fill(padId);
            Lengths[i] = n;
        }
    }

    public int Count { get; }
    /// <summary>Row <paramref name="i"/>'s real tokens.</summary>
    public int[] Row(int i) => Ids.AsSpan(i * MaxTokens, Lengths[i]).ToArray();
    /// <summary>Texts with more tokens than fit (cut to MaxTokens).</summary>
    public int Truncated { get; }
    public int MaxTokens { get; }
    public int[] Ids { get; }
    public int[] Lengths { get; }
}
