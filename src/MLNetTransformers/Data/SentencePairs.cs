using System.Text.RegularExpressions;

namespace MLNetTransformers.Data;

/// <summary>
/// Next-sentence prediction's examples (BERT): documents split into sentences; each example is a sentence A with,
/// half the time, the sentence after it (label 0, "is next") and otherwise a sentence of another document (label 1).
/// Sentences are tokenized once; pairs are laid out per batch as <c>[CLS] A [SEP] B [SEP]</c> with token types.
/// </summary>
internal sealed partial class SentencePairs
{
    private readonly TextTokenizer _tokenizer;
    private readonly List<int[]> _sentences = [];        // token ids of every sentence, documents one after another
    private readonly List<int> _documentOf = [];         // the document of each sentence
    private readonly List<int> _firsts = [];              // sentences that have a next one in their document

    private SentencePairs(TextTokenizer tokenizer) => _tokenizer = tokenizer;

    /// <summary>Examples that can be "next" (sentences followed by another in their document).</summary>
    public int Count => _firsts.Count;

    // A sentence ends at . ! or ? (with closing quotes or brackets) followed by white space.
    [GeneratedRegex(@"(?<=[.!?][""')\]]*)\s+")]
    private static partial Regex SentenceEnd();

    /// <summary>Sentences of every document; throws naming the column when no document has two sentences, or there is one document only.</summary>
    public static SentencePairs From(IReadOnlyList<string?> documents, TextTokenizer tokenizer, string column)
    {
        var pairs = new SentencePairs(tokenizer);
        int used = 0;
        for (int d = 0; d < documents.Count; d++)
        {
            var sentences = SentenceEnd().Split(documents[d] ?? "").Where(x => !string.IsNullOrWhiteSpace(x)).ToArray();
            if (sentences.Length == 0) continue;
            used++;
            for (int i = 0; i < sentences.Length; i++)
            {
                if (i + 1 < sentences.Length) pairs._firsts.Add(pairs._sentences.Count);
                pairs._sentences.Add(tokenizer.EncodeAll(sentences[i]).Take(tokenizer.MaxTokens).ToArray());
                pairs._documentOf.Add(d);
            }
        }
        if (pairs._firsts.Count == 0)
            throw new ArgumentException($"NextSentencePrediction needs documents of two or more sentences in column '{column}': none of its {documents.Count} rows has two (a sentence ends with . ! or ? and a space).");
        if (used < 2) throw new ArgumentException($"NextSentencePrediction draws random sentences from other documents: column '{column}' holds one document only.");
        return pairs;
    }

    /// <summary>One epoch of batches: the "next"-able sentences shuffled, each paired with its next or a random one.</summary>
    public IEnumerable<TrainingBatch> Epoch(int epoch, int batchSize, ulong seed)
    {
        var rng = DeterministicRandom.Derive(seed, (ulong)epoch + 5000);
        var order = _firsts.ToArray();
        rng.Shuffle(order.AsSpan());
        int max = _tokenizer.MaxTokens;
        var ids = new int[max];
        var mask = new int[max];
        var types = new int[max];
        for (int s = 0; s < order.Length; s += batchSize)
        {
            int b = Math.Min(batchSize, order.Length - s), t = 1, real = 0;
            var rows = new (int[] Ids, int[] Types, int Length)[b];
            var labels = new int[b];
            for (int r = 0; r < b; r++)
            {
                int a = order[s + r], next = a + 1;
                if (rng.NextFloat() < 0.5f)
                {
                    // A random sentence of another document (BERT draws from a different document too).
                    int other;
                    do other = rng.NextInt(_sentences.Count); while (_documentOf[other] == _documentOf[a]);
                    (next, labels[r]) = (other, 1);
                }
                int n = _tokenizer.LayOutPair(_sentences[a], _sentences[next], ids, mask, types, out _);
                rows[r] = (ids[..n], types[..n], n);
                t = Math.Max(t, n);
                real += n;
            }
            var batchIds = new int[b * t];
            var batchMask = new int[b * t];
            var batchTypes = new int[b * t];
            for (int r = 0; r < b; r++)
            {
                rows[r].Ids.CopyTo(batchIds, r * t);
                rows[r].Types.CopyTo(batchTypes, r * t);
                batchMask.AsSpan(r * t, rows[r].Length).Fill(1);
                batchIds.AsSpan(r * t + rows[r].Length, t - rows[r].Length).Fill(_tokenizer.PadId);
            }
            yield return new TrainingBatch(new TokenBatch(b, t, batchIds, batchMask) { TokenTypeIds = batchTypes, NextSentenceLabels = labels }, real);
        }
    }
}
