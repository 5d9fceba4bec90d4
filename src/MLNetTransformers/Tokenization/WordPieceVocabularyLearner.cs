using System.Globalization;
using System.Text;

namespace MLNetTransformers.Tokenization;

/// <summary>
/// Learns a WordPiece vocabulary from text the way Hugging Face's WordPiece trainer does: split text into words
/// as BERT's basic tokenizer does (optional lower-casing and accent stripping, whitespace, punctuation as separate
/// words), start from single characters (<c>c</c> at a word start, <c>##c</c> inside), then repeatedly merge
/// the most frequent adjacent pair until the vocabulary is full. The result is a BERT <c>vocab.txt</c>, so encoding
/// is done by Microsoft.ML.Tokenizers' <c>BertTokenizer</c>.
/// </summary>
public static class WordPieceVocabularyLearner
{
    /// <summary>The special tokens at the head of every learned vocabulary, ids 0..4.</summary>
    public static readonly string[] SpecialTokens = { "[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]" };

    /// <summary>Learns up to <paramref name="vocabularySize"/> tokens (specials included) from <paramref name="texts"/>.</summary>
    /// <param name="texts">Training text; null entries are skipped.</param>
    /// <param name="vocabularySize">Target size; must exceed the number of special tokens.</param>
    /// <param name="minFrequency">A pair seen fewer times than this is never merged.</param>
    /// <param name="lowerCase">Lower-case and strip accents first (must match the encoder's setting).</param>
    /// <returns>Tokens in id order.</returns>
    public static IReadOnlyList<string> Learn(IEnumerable<string?> texts, int vocabularySize, int minFrequency = 2, bool lowerCase = true)
    {
        if (vocabularySize <= SpecialTokens.Length)
            throw new ArgumentOutOfRangeException(nameof(vocabularySize), vocabularySize, $"Vocabulary size must exceed the {SpecialTokens.Length} special tokens.");
        if (minFrequency < 1) throw new ArgumentOutOfRangeException(nameof(minFrequency), minFrequency, "Minimum frequency must be at least 1.");

        var wordCounts = new Dictionary<string, int>(StringComparer.Ordinal);
        foreach (var text in texts)
        {
            if (string.IsNullOrWhiteSpace(text)) continue;
            foreach (var w in PreTokenize(TextTokenizer.Sanitize(text), lowerCase))
                wordCounts[w] = wordCounts.GetValueOrDefault(w) + 1;
        }

        var vocab = new List<string>(SpecialTokens);
        var index = new Dictionary<string, int>(StringComparer.Ordinal);
        foreach (var s in SpecialTokens) index[s] = index.Count;
        int Symbol(string s)
        {
            if (!index.TryGetValue(s, out int id)) { id = vocab.Count; vocab.Add(s); index[s] = id; }
            return id;
        }

        // Alphabet first, most frequent characters first (ordinal order breaks ties): every word stays encodable.
        var words = wordCounts.OrderBy(kv => kv.Key, StringComparer.Ordinal).ToArray();
        var charFreq = new Dictionary<string, long>(StringComparer.Ordinal);
        foreach (var (w, c) in words)
        {
            var e = StringInfo.GetTextElementEnumerator(w);
            bool first = true;
            while (e.MoveNext())
            {
                string piece = first ? e.GetTextElement() : "##" + e.GetTextElement();
                charFreq[piece] = charFreq.GetValueOrDefault(piece) + c;
                first = false;
            }
        }
        foreach (var kv in charFreq.OrderByDescending(kv => kv.Value).ThenBy(kv => kv.Key, StringComparer.Ordinal))
        {
            if (vocab.Count >= vocabularySize) break;
            Symbol(kv.Key);
        }

        // Words as symbol sequences; a word with a character that did not fit the vocabulary is left out.
        var seqs = new List<List<int>>();
        var counts = new List<int>();
        foreach (var (w, c) in words)
        {
            var seq = new List<int>();
            var e = StringInfo.GetTextElementEnumerator(w);
            bool first = true, ok = true;
            while (e.MoveNext())
            {
                string piece = first ? e.GetTextElement() : "##" + e.GetTextElement();
                if (!index.TryGetValue(piece, out int id)) { ok = false; break; }
                seq.Add(id);
                first = false;
            }
            if (ok && seq.Count > 1) { seqs.Add(seq); counts.Add(c); }
        }

        var pairCount = new Dictionary<long, long>();
        var pairWords = new Dictionary<long, HashSet<int>>();
        var queue = new PriorityQueue<long, (long negCount, long key)>();
        static long Key(int a, int b) => ((long)a << 32) | (uint)b;
        void AddPairs(int w, int sign)
        {
            var s = seqs[w];
            for (int i = 0; i + 1 < s.Count; i++)
            {
                long k = Key(s[i], s[i + 1]);
                long n = pairCount.GetValueOrDefault(k) + sign * counts[w];
                pairCount[k] = n;
                if (sign > 0)
                {
                    if (!pairWords.TryGetValue(k, out var set)) pairWords[k] = set = new HashSet<int>();
                    set.Add(w);
                }
                // Every change is queued; entries whose count is no longer current are skipped when dequeued.
                if (n > 0) queue.Enqueue(k, (-n, k));
            }
        }
        for (int w = 0; w < seqs.Count; w++) AddPairs(w, +1);

        while (vocab.Count < vocabularySize && queue.TryDequeue(out long best, out var prio))
        {
            long current = pairCount.GetValueOrDefault(best);
            if (current != -prio.negCount) continue; // stale queue entry
            if (current < minFrequency) break;
            int a = (int)(best >> 32), b = (int)best;
            string right = vocab[b];
            string merged = vocab[a] + (right.StartsWith("##", StringComparison.Ordinal) ? right[2..] : right);
            int m = Symbol(merged);
            foreach (int w in pairWords[best].ToArray())
            {
                var s = seqs[w];
                bool has = false;
                for (int i = 0; i + 1 < s.Count; i++) if (s[i] == a && s[i + 1] == b) { has = true; break; }
                if (!has) continue;
                AddPairs(w, -1);
                var next = new List<int>(s.Count);
                for (int i = 0; i < s.Count; i++)
                {
                    if (i + 1 < s.Count && s[i] == a && s[i + 1] == b) { next.Add(m); i++; }
                    else next.Add(s[i]);
                }
                seqs[w] = next;
                AddPairs(w, +1);
            }
        }
        return vocab;
    }

    /// <summary>BERT's basic tokenization: whitespace split, punctuation and CJK as single words, optional lower-case and accent strip.</summary>
    /// <param name="text">The text.</param>
    /// <param name="lowerCase">Lower-case and strip accents first (uncased WordPiece).</param>
    public static IEnumerable<string> PreTokenize(string text, bool lowerCase)
    {
        if (lowerCase)
        {
            text = text.ToLowerInvariant().Normalize(NormalizationForm.FormD);
            var sb = new StringBuilder(text.Length);
            foreach (char ch in text)
                if (CharUnicodeInfo.GetUnicodeCategory(ch) != UnicodeCategory.NonSpacingMark) sb.Append(ch);
            text = sb.ToString();
        }
        var word = new StringBuilder();
        foreach (char ch in text)
        {
            if (char.IsWhiteSpace(ch) || char.IsControl(ch))
            {
                if (word.Length > 0) { yield return word.ToString(); word.Clear(); }
            }
            else if (char.IsPunctuation(ch) || char.IsSymbol(ch) || IsCjk(ch))
            {
                if (word.Length > 0) { yield return word.ToString(); word.Clear(); }
                yield return ch.ToString();
            }
            else word.Append(ch);
        }
        if (word.Length > 0) yield return word.ToString();
    }

    private static bool IsCjk(char c) => c is >= '\u4E00' and <= '\u9FFF' or >= '\u3400' and <= '\u4DBF' or >= '\uF900' and <= '\uFAFF';
}
