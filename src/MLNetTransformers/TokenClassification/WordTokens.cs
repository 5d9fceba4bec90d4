namespace MLNetTransformers.TokenClassification;

/// <summary>
/// Texts as words aligned to tokens, as Hugging Face's token classification reads pre-split words
/// (<c>is_split_into_words</c>): each word tokenized on its own (byte-level BPE words with the space before them, as
/// RoBERTa's <c>add_prefix_space</c>), laid out <c>[CLS] pieces… [SEP]</c>; a word's tag belongs to its first piece. A word
/// with no piece (characters the tokenizer drops) reads as the unknown token, so every word has one. A text whose pieces
/// do not fit <see cref="TextTokenizer.MaxTokens"/> is read in windows of whole words (a word longer than a window alone has
/// its pieces cut), so every word is read: one after another for training, or overlapping by up to half a window for
/// tagging, where each word is read in the window that gives it the most context (<see cref="Reading"/>).
/// </summary>
internal sealed class WordTokens
{
    /// <summary>Encodes rows of words, each in as many windows as its pieces need.</summary>
    /// <param name="tokenizer">The model's tokenizer.</param>
    /// <param name="rows">Each row's words.</param>
    /// <param name="overlap">Windows overlap by up to half a window (tagging); else they follow one another (training).</param>
    public WordTokens(TextTokenizer tokenizer, IReadOnlyList<string[]> rows, bool overlap = false)
    {
        int max = tokenizer.MaxTokens, budget = max - 2;
        var pieces = new int[rows.Count][][];
        Parallel.For(0, rows.Count, i => pieces[i] = rows[i].Select(w => Pieces(tokenizer, w)).ToArray());
        var windows = new List<Window>();
        for (int i = 0; i < rows.Count; i++)
        {
            int w = 0, n = pieces[i].Length;
            do
            {
                int start = w, used = 0;
                while (w < n && (w == start || used + pieces[i][w].Length <= budget)) used += pieces[i][w++].Length;
                windows.Add(new Window(i, start, w - start));
                if (!overlap || w == n) continue;
                // The next window starts where the words left to the end of this one take at most half a window.
                int next = w, tail = 0;
                while (next - 1 > start && tail + pieces[i][next - 1].Length <= budget / 2) tail += pieces[i][--next].Length;
                w = next;
            }
            while (w < n);
        }
        var ids = new int[windows.Count * max];
        var lengths = new int[windows.Count];
        FirstPieces = new int[windows.Count][];
        for (int k = 0; k < windows.Count; k++)
        {
            var (row, firstWord, words) = windows[k];
            var span = ids.AsSpan(k * max, max);
            var first = FirstPieces[k] = new int[words];
            int t = 0;
            span[t++] = tokenizer.ClsId;
            for (int j = 0; j < words; j++)
            {
                first[j] = t;
                foreach (int id in pieces[row][firstWord + j]) if (t < max - 1) span[t++] = id; // only a window's one long word is cut
            }
            span[t++] = tokenizer.SepId;
            span[t..].Fill(tokenizer.PadId);
            lengths[k] = t;
        }
        Windows = windows;
        Encoded = new EncodedTexts(max, ids, lengths);
        Windowed = rows.Count == 0 ? 0 : windows.Count - rows.Count;
        if (!overlap) return; // consecutive windows: each word is in one
        // Each word is read where it has the most context on its poorer side (the first such window on a tie).
        var reading = rows.Select(r => new (int Window, int Context)[r.Length]).ToArray();
        foreach (var r in reading) Array.Fill(r, (-1, -1));
        for (int k = 0; k < windows.Count; k++)
        {
            var (row, firstWord, words) = windows[k];
            int real = lengths[k] - 2;
            for (int j = 0; j < words; j++)
            {
                int before = FirstPieces[k][j] - 1, context = Math.Min(before, Math.Max(0, real - before - pieces[row][firstWord + j].Length));
                if (context > reading[row][firstWord + j].Context) reading[row][firstWord + j] = (k, context);
            }
        }
        Reading = reading.Select(r => r.Select(x => x.Window).ToArray()).ToArray();
    }

    /// <summary>With overlapping windows, each row's words' window to read them in: the one where the word has the most pieces on its poorer side; null otherwise.</summary>
    public int[][]? Reading { get; }

    /// <summary>A run of one row's words read as one sequence.</summary>
    /// <param name="Row">The row.</param>
    /// <param name="FirstWord">Its first word's index in the row.</param>
    /// <param name="Words">How many words.</param>
    public readonly record struct Window(int Row, int FirstWord, int Words);

    /// <summary>The sequences read: each row's windows in order.</summary>
    public IReadOnlyList<Window> Windows { get; }
    /// <summary>The windows' token ids and lengths, as the batcher reads them.</summary>
    public EncodedTexts Encoded { get; }
    /// <summary>Each window's words' first-piece positions.</summary>
    public int[][] FirstPieces { get; }
    /// <summary>Windows beyond one per row (rows longer than the tokenizer's length need more).</summary>
    public int Windowed { get; }

    /// <summary>A text's words (its runs of non-whitespace characters) and where each starts.</summary>
    /// <param name="text">The text (null reads as empty).</param>
    public static (string[] Words, int[] Starts) Split(string? text)
    {
        var words = new List<string>();
        var starts = new List<int>();
        for (int i = 0; text is not null && i < text.Length;)
        {
            if (char.IsWhiteSpace(text[i])) { i++; continue; }
            int start = i;
            while (i < text.Length && !char.IsWhiteSpace(text[i])) i++;
            words.Add(text[start..i]);
            starts.Add(start);
        }
        return (words.ToArray(), starts.ToArray());
    }

    private static int[] Pieces(TextTokenizer tokenizer, string word)
    {
        var pieces = tokenizer.EncodeAll(tokenizer.Kind == TokenizerKind.ByteLevelBpe ? " " + word : word);
        return pieces.Length > 0 ? pieces : [tokenizer.UnkId];
    }
}
