namespace MLNetTransformers.Metrics;

/// <summary>Corpus BLEU and chrF of hypotheses against one reference each, as sacreBLEU computes them.</summary>
/// <param name="Bleu">Corpus BLEU, 0-100 (13a tokenization, cased, n-grams up to 4, brevity penalty, exponential smoothing of empty orders).</param>
/// <param name="ChrF">Corpus chrF, 0-100 (character n-grams up to 6, β = 2, whitespace removed).</param>
/// <param name="Sentences">Sentence pairs scored.</param>
/// <param name="BleuSignature">The settings BLEU was computed with, as sacreBLEU prints them.</param>
public sealed record TranslationMetrics(double Bleu, double ChrF, int Sentences, string BleuSignature)
{
    /// <summary>sacreBLEU-style signature of <see cref="Compute"/>'s BLEU.</summary>
    public const string Signature = "nrefs:1|case:mixedcase|eff:no|tok:13a|smooth:exp|version:mlnettransformers";

    /// <summary>Scores <paramref name="hypotheses"/> against <paramref name="references"/> (same count, one reference each).</summary>
    /// <param name="hypotheses">System outputs.</param>
    /// <param name="references">Reference texts, in the same order.</param>
    public static TranslationMetrics Compute(IReadOnlyList<string> hypotheses, IReadOnlyList<string> references)
    {
        ArgumentNullException.ThrowIfNull(hypotheses);
        ArgumentNullException.ThrowIfNull(references);
        if (hypotheses.Count != references.Count)
            throw new ArgumentException($"There are {hypotheses.Count} hypotheses and {references.Count} references; each hypothesis needs one reference.");
        return new TranslationMetrics(CorpusBleu(hypotheses, references), CorpusChrF(hypotheses, references), hypotheses.Count, Signature);
    }

    /// <summary>Scores a scored view: its generated column against its reference column, like ML.NET's Evaluate methods.</summary>
    /// <param name="scored">The output of a fitted translator (or any view with both text columns).</param>
    /// <param name="referenceColumnName">Reference texts.</param>
    /// <param name="outputColumnName">Generated texts.</param>
    public static TranslationMetrics Evaluate(IDataView scored, string referenceColumnName = DefaultColumnNames.Target, string outputColumnName = DefaultColumnNames.Translation)
    {
        ArgumentNullException.ThrowIfNull(scored);
        var refs = TextColumn.Read(scored, Tokenization.TokenizerTransformer.RequireText(scored.Schema, referenceColumnName)).Select(s => s ?? "").ToList();
        var outs = TextColumn.Read(scored, Tokenization.TokenizerTransformer.RequireText(scored.Schema, outputColumnName)).Select(s => s ?? "").ToList();
        return Compute(outs, refs);
    }

    /// <summary>Corpus BLEU: clipped n-gram matches and totals summed over the corpus, geometric mean, brevity penalty.</summary>
    private static double CorpusBleu(IReadOnlyList<string> hypotheses, IReadOnlyList<string> references)
    {
        const int Order = 4;
        var matches = new long[Order];
        var totals = new long[Order];
        long hypLength = 0, refLength = 0;
        for (int s = 0; s < hypotheses.Count; s++)
        {
            var hyp = Tokenizer13a.Tokenize(hypotheses[s] ?? "");
            var refTokens = Tokenizer13a.Tokenize(references[s] ?? "");
            hypLength += hyp.Length;
            refLength += refTokens.Length;
            for (int n = 1; n <= Order; n++)
            {
                var refCounts = NGrams(refTokens, n);
                foreach (var (gram, count) in NGrams(hyp, n))
                {
                    totals[n - 1] += count;
                    matches[n - 1] += Math.Min(count, refCounts.GetValueOrDefault(gram));
                }
            }
        }
        if (hypLength == 0) return 0;
        double logSum = 0, smooth = 1;
        for (int n = 0; n < Order; n++)
        {
            if (totals[n] == 0) return 0; // no n-grams of this order in the whole corpus
            double p;
            if (matches[n] == 0) { smooth *= 2; p = 1 / (smooth * totals[n]); } // sacreBLEU's "exp" smoothing
            else p = (double)matches[n] / totals[n];
            logSum += Math.Log(p);
        }
        double brevity = hypLength < refLength ? Math.Exp(1 - (double)refLength / hypLength) : 1;
        return 100 * brevity * Math.Exp(logSum / Order);
    }

    private static Dictionary<string, int> NGrams(string[] tokens, int n)
    {
        var counts = new Dictionary<string, int>(StringComparer.Ordinal);
        for (int i = 0; i + n <= tokens.Length; i++)
        {
            string gram = string.Join('\u0001', tokens, i, n);
            counts[gram] = counts.GetValueOrDefault(gram) + 1;
        }
        return counts;
    }

    /// <summary>
    /// Corpus chrF (Popović): character n-gram statistics (n = 1..6, whitespace removed) summed over the corpus;
    /// precision and recall averaged over the orders that occur; F with β = 2.
    /// </summary>
    private static double CorpusChrF(IReadOnlyList<string> hypotheses, IReadOnlyList<string> references)
    {
        const int Order = 6;
        const double Beta2 = 4;
        var hypCount = new long[Order];
        var refCount = new long[Order];
        var match = new long[Order];
        for (int s = 0; s < hypotheses.Count; s++)
        {
            string hyp = string.Concat((hypotheses[s] ?? "").Where(c => !char.IsWhiteSpace(c)));
            string refText = string.Concat((references[s] ?? "").Where(c => !char.IsWhiteSpace(c)));
            for (int n = 1; n <= Order; n++)
            {
                var h = CharGrams(hyp, n);
                var r = CharGrams(refText, n);
                hypCount[n - 1] += h.Values.Sum();
                refCount[n - 1] += r.Values.Sum();
                foreach (var (gram, count) in h) match[n - 1] += Math.Min(count, r.GetValueOrDefault(gram));
            }
        }
        double precision = 0, recall = 0;
        int effective = 0;
        for (int n = 0; n < Order; n++)
        {
            if (hypCount[n] == 0 || refCount[n] == 0) continue;
            precision += (double)match[n] / hypCount[n];
            recall += (double)match[n] / refCount[n];
            effective++;
        }
        if (effective == 0) return 0;
        precision /= effective;
        recall /= effective;
        return precision + recall == 0 ? 0 : 100 * (1 + Beta2) * precision * recall / (Beta2 * precision + recall);
    }

    private static Dictionary<string, int> CharGrams(string text, int n)
    {
        var counts = new Dictionary<string, int>(StringComparer.Ordinal);
        for (int i = 0; i + n <= text.Length; i++)
        {
            string gram = text.Substring(i, n);
            counts[gram] = counts.GetValueOrDefault(gram) + 1;
        }
        return counts;
    }
}
