namespace MLNetTransformers.TokenClassification;

/// <summary>
/// Texts as words aligned to tokens, as Hugging Face's token classification reads pre-split words
/// (<c>is_split_into_words</c>): each word tokenized on its own (byte-level BPE words with the space before them, as
/// RoBERTa's <c>add_prefix_space</c>), laid out <c>[CLS] pieces… [SEP]</c>; a word's tag belongs to its first piece. A word
/// with no piece (characters the tokenizer drops) reads as the unknown token, so every word has one; words whose first
/// piece falls past <see cref="TextTokenizer.MaxTokens"/> are cut.
/// </summary>
internal sealed class WordTokens
{
    /// <summary>Encodes rows of words.</summary>
    /// <param name="tokenizer">The model's tokenizer.</param>
    /// <param name="rows">Each row's words.</param>
    public WordTokens(TextTokenizer tokenizer, IReadOnlyList<string[]> rows)
    {
        int max = tokenizer.MaxTokens;
        var ids = new int[rows.Count * max];
        var lengths = new int[rows.Count];
        FirstPieces = new int[rows.Count][];
        int cut = 0;
        Parallel.For(0, rows.Count, i =>
        {
            var row = ids.AsSpan(i * max, max);
            var first = FirstPieces[i] = new int[rows[i].Length];
            int n = 0;
            row[n++] = tokenizer.ClsId;
            for (int w = 0; w < first.Length; w++)
            {
                var pieces = Pieces(tokenizer, rows[i][w]);
                if (n + 1 >= max) { first[w] = -1; continue; } // no room before [SEP]
                first[w] = n;
                for (int p = 0; p < pieces.Length && n + 1 < max; p++) row[n++] = pieces[p];
            }
            row[n++] = tokenizer.SepId;
            row[n..].Fill(tokenizer.PadId);
            lengths[i] = n;
            if (first.Length > 0 && first[^1] < 0) Interlocked.Increment(ref cut);
        });
        Encoded = new EncodedTexts(max, ids, lengths);
        Truncated = cut;
    }

    /// <summary>The token ids and lengths, as the batcher reads them.</summary>
    public EncodedTexts Encoded { get; }
    /// <summary>Each row's words' first-piece positions (−1 for a word cut at <see cref="TextTokenizer.MaxTokens"/>).</summary>
    public int[][] FirstPieces { get; }
    /// <summary>Rows with words cut.</summary>
    public int Truncated { get; }

    /// <summary>A text's words: its runs of non-whitespace characters.</summary>
    /// <param name="text">The text (null reads as empty).</param>
    public static string[] Split(string? text) => string.IsNullOrEmpty(text) ? [] : text.Split((char[]?)null, StringSplitOptions.RemoveEmptyEntries);

    private static int[] Pieces(TextTokenizer tokenizer, string word)
    {
        var pieces = tokenizer.EncodeAll(tokenizer.Kind == TokenizerKind.ByteLevelBpe ? " " + word : word);
        return pieces.Length > 0 ? pieces : [tokenizer.UnkId];
    }
}
