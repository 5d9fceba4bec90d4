using MLNetTransformers.TokenClassification;

namespace MLNetTransformers.QuestionAnswering;

/// <summary>
/// A context as the words an answer is made of: its whitespace-separated pieces with the punctuation at either end of
/// each split off, one word per mark (as BERT's basic tokenizer splits it, so "Denver." answers "Denver"), each with where
/// it starts and whether it is written against the word before it.
/// </summary>
internal sealed record ContextWords(string Text, string[] Words, int[] Starts, bool[] Joined)
{
    /// <summary>The words of <paramref name="text"/> (null reads as empty).</summary>
    public static ContextWords Split(string? text)
    {
        var (pieces, starts) = WordTokens.Split(text);
        var words = new List<string>();
        var at = new List<int>();
        var joined = new List<bool>();
        for (int p = 0; p < pieces.Length; p++)
        {
            string piece = pieces[p];
            int first = 0, last = piece.Length; // the piece's middle: [first, last)
            while (first < last && Mark(piece[first])) first++;
            while (last > first && Mark(piece[last - 1])) last--;
            void Add(int from, int to)
            {
                words.Add(piece[from..to]);
                at.Add(starts[p] + from);
                joined.Add(from > 0 || starts[p] == 0); // nothing between it and the word before, or the text's start
            }
            for (int i = 0; i < first; i++) Add(i, i + 1);
            if (last > first) Add(first, last);
            for (int i = Math.Max(last, first); i < piece.Length; i++) Add(i, i + 1);
        }
        return new ContextWords(text ?? "", words.ToArray(), at.ToArray(), joined.ToArray());
    }

    // BERT's _is_punctuation: ASCII symbols and Unicode punctuation.
    private static bool Mark(char c) => (c is >= '!' and <= '~' && !char.IsAsciiLetterOrDigit(c)) || char.IsPunctuation(c);

    /// <summary>Where word <paramref name="last"/> ends, one past its last character.</summary>
    public int End(int last) => Starts[last] + Words[last].Length;

    /// <summary>The words that the characters [<paramref name="start"/>, <paramref name="start"/> + <paramref name="length"/>) touch, or null when they touch none.</summary>
    public (int First, int Last)? WordsOf(int start, int length)
    {
        int first = -1;
        for (int w = 0; w < Words.Length && first < 0; w++) if (End(w) > start) first = w;
        int last = -1;
        for (int w = Words.Length - 1; w >= 0 && last < 0; w--) if (Starts[w] < start + length) last = w;
        return first < 0 || last < first ? null : (first, last);
    }
}

/// <summary>
/// Question-context pairs as the encoder reads them, as transformers' SQuAD script prepares them: <c>[CLS] question [SEP]
/// context [SEP]</c> (RoBERTa's <c>&lt;/s&gt;&lt;/s&gt;</c> between), the question cut to its limit, a context too long for
/// what is left read in windows of whole words overlapping by up to the stride; every word's first and last token known.
/// </summary>
internal sealed class AnswerWindows
{
    /// <summary>Encodes the rows.</summary>
    /// <param name="tokenizer">The model's tokenizer.</param>
    /// <param name="questions">Each row's question.</param>
    /// <param name="contexts">Each row's context.</param>
    /// <param name="maxQuestionTokens">The question's limit (and at most half the tokenizer's length, less the specials).</param>
    /// <param name="stride">The most tokens two windows of a context share.</param>
    public AnswerWindows(TextTokenizer tokenizer, IReadOnlyList<string?> questions, IReadOnlyList<string?> contexts, int maxQuestionTokens, int stride)
    {
        int limit = Math.Max(1, Math.Min(maxQuestionTokens, (tokenizer.MaxTokens - 4) / 2));
        Contexts = new ContextWords[contexts.Count];
        var questionIds = new int[questions.Count][];
        Parallel.For(0, contexts.Count, i =>
        {
            Contexts[i] = ContextWords.Split(contexts[i]);
            var q = tokenizer.EncodeAll(questions[i] ?? "");
            questionIds[i] = q.Length > limit ? q[..limit] : q;
        });
        Tokens = new WordTokens(tokenizer, Contexts.Select(c => c.Words).ToArray(), overlap: true, questionIds, stride, Contexts.Select(c => c.Joined).ToArray());
    }

    /// <summary>Each row's context words.</summary>
    public ContextWords[] Contexts { get; }
    /// <summary>The windows' tokens.</summary>
    public WordTokens Tokens { get; }

    /// <summary>The tokens of words [<paramref name="first"/>, <paramref name="last"/>] of a row in window <paramref name="window"/>, or position 0 ([CLS]) for both when the window does not hold them all, as transformers labels such windows.</summary>
    public (int Start, int End) Target(int window, int first, int last)
    {
        var (_, firstWord, words) = Tokens.Windows[window];
        if (first < firstWord || last >= firstWord + words) return (0, 0);
        return (Tokens.FirstPieces[window][first - firstWord], Tokens.LastPiece(window, last - firstWord));
    }
}
