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
    /// <param name="questions">Each row's question tokens (no specials), read before every window of its words as the first
    /// text of a pair (<c>[CLS] question [SEP] words [SEP]</c>, RoBERTa's <c>&lt;/s&gt;&lt;/s&gt;</c> between, BERT's token
    /// types 1 for the words); null = the words alone.</param>
    /// <param name="maxOverlap">With <paramref name="overlap"/>, windows overlap by at most this many tokens (and half a window).</param>
    /// <param name="joined">Per row, the words written against the one before them (no space between): byte-level BPE reads
    /// them without the space it puts before the others; null = every word stands after a space.</param>
    public WordTokens(TextTokenizer tokenizer, IReadOnlyList<string[]> rows, bool overlap = false, IReadOnlyList<int[]>? questions = null,
        int maxOverlap = int.MaxValue, IReadOnlyList<bool[]>? joined = null)
    {
        int max = tokenizer.MaxTokens, separators = tokenizer.RobertaPairs ? 2 : 1;
        var pieces = new int[rows.Count][][];
        Parallel.For(0, rows.Count, i => pieces[i] = rows[i].Select((w, j) => Pieces(tokenizer, w, joined?[i][j] == true)).ToArray());
        var windows = new List<Window>();
        for (int i = 0; i < rows.Count; i++)
        {
            int w = 0, n = pieces[i].Length, budget = max - 2 - (questions is null ? 0 : questions[i].Length + separators);
            if (budget < 1) throw new ArgumentException($"Row {i}'s question takes {questions![i].Length} of the {max} tokens: no room is left for its words.", nameof(questions));
            int most = Math.Min(maxOverlap, budget / 2);
            do
            {
                int start = w, used = 0;
                while (w < n && (w == start || used + pieces[i][w].Length <= budget)) used += pieces[i][w++].Length;
                windows.Add(new Window(i, start, w - start));
                if (!overlap || w == n) continue;
                // The next window starts where the words left to the end of this one take at most the overlap allowed.
                int next = w, tail = 0;
                while (next - 1 > start && tail + pieces[i][next - 1].Length <= most) tail += pieces[i][--next].Length;
                w = next;
            }
            while (w < n);
        }
        var ids = new int[windows.Count * max];
        var types = questions is null || tokenizer.RobertaPairs ? null : new int[windows.Count * max];
        var lengths = new int[windows.Count];
        FirstPieces = new int[windows.Count][];
        for (int k = 0; k < windows.Count; k++)
        {
            var (row, firstWord, words) = windows[k];
            var span = ids.AsSpan(k * max, max);
            var first = FirstPieces[k] = new int[words];
            int t = 0;
            span[t++] = tokenizer.ClsId;
            if (questions is not null)
            {
                foreach (int id in questions[row]) span[t++] = id;
                for (int j = 0; j < separators; j++) span[t++] = tokenizer.SepId;
            }
            int wordsStart = t;
            for (int j = 0; j < words; j++)
            {
                first[j] = t;
                foreach (int id in pieces[row][firstWord + j]) if (t < max - 1) span[t++] = id; // only a window's one long word is cut
            }
            span[t++] = tokenizer.SepId;
            span[t..].Fill(tokenizer.PadId);
            types?.AsSpan(k * max + wordsStart, t - wordsStart).Fill(1);
            lengths[k] = t;
        }
        Windows = windows;
        Encoded = new EncodedTexts(max, ids, lengths, types);
        Windowed = rows.Count == 0 ? 0 : windows.Count - rows.Count;
        if (!overlap || questions is not null) return; // consecutive windows: each word is in one; a reader ranks every window's answers
        // Each word is read where it has the most context on its poorer side (the first such window on a tie).
        var reading = rows.Select(r => new (int Window, int Context)[r.Length]).ToArray();
        foreach (var r in reading) Array.Fill(r, (-1, -1));
        for (int k = 0; k < windows.Count; k++)
        {
            var (row, firstWord, words) = windows[k];
            if (words == 0) continue;
            int real = lengths[k] - 1 - FirstPieces[k][0];
            for (int j = 0; j < words; j++)
            {
                int before = FirstPieces[k][j] - FirstPieces[k][0], context = Math.Min(before, Math.Max(0, real - before - pieces[row][firstWord + j].Length));
                if (context > reading[row][firstWord + j].Context) reading[row][firstWord + j] = (k, context);
            }
        }
        Reading = reading.Select(r => r.Select(x => x.Window).ToArray()).ToArray();
    }

    /// <summary>With overlapping windows of words alone (tagging), each row's words' window to read them in: the one where the word has the most pieces on its poorer side; null otherwise.</summary>
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

    /// <summary>The last token of word <paramref name="word"/> of window <paramref name="window"/> (its pieces end before the next word's first or the closing separator).</summary>
    public int LastPiece(int window, int word) =>
        word + 1 < FirstPieces[window].Length ? FirstPieces[window][word + 1] - 1 : Encoded.Lengths[window] - 2;

    private static int[] Pieces(TextTokenizer tokenizer, string word, bool joined)
    {
        var pieces = tokenizer.EncodeAll(tokenizer.Kind == TokenizerKind.ByteLevelBpe && !joined ? " " + word : word);
        return pieces.Length > 0 ? pieces : [tokenizer.UnkId];
    }
}
