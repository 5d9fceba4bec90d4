namespace MLNetTransformers.Data;

/// <summary>Token ids of a text set, encoded once, with each row's real length.</summary>
internal sealed class EncodedTexts
{
    public EncodedTexts(TextTokenizer tokenizer, IReadOnlyList<string?> texts, IReadOnlyList<string?>? seconds = null)
    {
        int max = tokenizer.MaxTokens;
        Count = texts.Count;
        MaxTokens = max;
        Ids = new int[Count * max];
        Lengths = new int[Count];
        if (seconds is not null && seconds.Count != Count) throw new ArgumentException($"{seconds.Count} second texts for {Count} first texts.", nameof(seconds));
        var types = seconds is null ? null : new int[Count * max];
        int truncated = 0;
        Parallel.For(0, Count, () => new int[max], (i, _, m) =>
        {
            bool cut;
            Lengths[i] = types is null
                ? tokenizer.Encode(texts[i], Ids.AsSpan(i * max, max), m, out cut)
                : tokenizer.EncodePair(texts[i], seconds![i], Ids.AsSpan(i * max, max), m, types.AsSpan(i * max, max), out cut);
            if (cut) Interlocked.Increment(ref truncated);
            return m;
        }, _ => { });
        Truncated = truncated;
        TokenTypes = types;
    }

    /// <summary>
    /// Rows of token ids (e.g. a TokenIds column): each row ends at its first [PAD] and is cut at <paramref name="maxTokens"/>.
    /// When padding is the end token itself (GPT-2's <c>&lt;|endoftext|&gt;</c>), a row ends after its first end token past the start.
    /// </summary>
    public EncodedTexts(int maxTokens, IReadOnlyList<long[]> rows, int padId, int vocabularySize, int endId = -1)
    {
        Count = rows.Count;
        MaxTokens = maxTokens;
        Ids = new int[Count * maxTokens];
        Lengths = new int[Count];
        for (int i = 0; i < Count; i++)
        {
            var r = rows[i];
            int n = 0;
            bool padIsEnd = padId == endId;
            for (; n < r.Length && n < maxTokens && (padIsEnd ? n <= 1 || r[n - 1] != endId : r[n] != padId); n++)
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

    /// <summary>Rows already encoded (ids [count, maxTokens], padded; each row's real length; token types of pairs or null), e.g. words aligned to tokens.</summary>
    public EncodedTexts(int maxTokens, int[] ids, int[] lengths, int[]? tokenTypes = null)
    {
        if (ids.Length != lengths.Length * maxTokens) throw new ArgumentException($"{ids.Length} ids for {lengths.Length} rows of {maxTokens}.", nameof(ids));
        (Count, MaxTokens, Ids, Lengths, TokenTypes) = (lengths.Length, maxTokens, ids, lengths, tokenTypes);
    }

    public int Count { get; }
    /// <summary>Row <paramref name="i"/>'s real tokens.</summary>
    public int[] Row(int i) => Ids.AsSpan(i * MaxTokens, Lengths[i]).ToArray();
    /// <summary>Texts with more tokens than fit (cut to MaxTokens).</summary>
    public int Truncated { get; }
    public int MaxTokens { get; }
    public int[] Ids { get; }
    public int[] Lengths { get; }
    /// <summary>Token type (segment) ids, [Count, MaxTokens], when the rows are sentence pairs; null for single texts.</summary>
    public int[]? TokenTypes { get; }
}
