using System.Text.Json;
using MLNetTransformers.Metrics;
using Xunit;

namespace MLNetTransformers.Tests;

public class TranslationMetricsTests
{
    [Fact]
    public void Bleu_AgreesWithNltk_On13aTokenizedText()
    {
        // Data/make_bleu_fixture.py: NLTK's corpus_bleu over the same 13a tokenization (an independent n-gram count).
        var f = JsonDocument.Parse(File.ReadAllText(Path.Combine(AppContext.BaseDirectory, "Data", "bleu-fixture.json"))).RootElement;
        var hyps = f.GetProperty("hypotheses").EnumerateArray().Select(e => e.GetString()!).ToArray();
        var refs = f.GetProperty("references").EnumerateArray().Select(e => e.GetString()!).ToArray();
        var tokens = f.GetProperty("tokens_13a").EnumerateArray().Select(a => a.EnumerateArray().Select(e => e.GetString()!).ToArray()).ToArray();
        var refTokens = f.GetProperty("ref_tokens_13a").EnumerateArray().Select(a => a.EnumerateArray().Select(e => e.GetString()!).ToArray()).ToArray();
        for (int i = 0; i < tokens.Length; i++) Assert.Equal(tokens[i], Tokenizer13a.Tokenize(hyps[i]));
        for (int i = 0; i < refTokens.Length; i++) Assert.Equal(refTokens[i], Tokenizer13a.Tokenize(refs[i]));
        var m = TranslationMetrics.Compute(hyps, refs);
        Assert.Equal(f.GetProperty("nltk_corpus_bleu").GetDouble(), m.Bleu, 2);
        Assert.Equal(hyps.Length, m.Sentences);
        Assert.Contains("tok:13a", m.BleuSignature);
    }

    [Fact]
    public void Bleu_AndChrF_OnCasesWorkedByHand()
    {
        Assert.Equal(Tokenizer13a.Tokenize("It's 3.5 km, a well-known 10-12 (tour)."),
            new[] { "It's", "3.5", "km", ",", "a", "well-known", "10", "-", "12", "(", "tour", ")", "." });
        var same = TranslationMetrics.Compute(new[] { "the cat sat on the mat ." }, new[] { "the cat sat on the mat ." });
        Assert.Equal(100, same.Bleu, 6);
        Assert.Equal(100, same.ChrF, 6);
        var none = TranslationMetrics.Compute(new[] { "xyz" }, new[] { "abc" });
        Assert.Equal(0, none.ChrF);
        // 4-gram precisions 6/6, 4/5, 2/4, 1/3 ("a b c d e x" vs "a b c d e f g"); brevity exp(1 - 7/6).
        var m = TranslationMetrics.Compute(new[] { "a b c d x e" }, new[] { "a b c d x e f" });
        double expected = 100 * Math.Exp(1 - 7.0 / 6) * Math.Pow(1.0 * 1.0 * 1.0 * 1.0, 0.25);
        Assert.Equal(expected, m.Bleu, 6);
        // chrF, whitespace removed: "ab" vs "abc": unigram P 2/2 R 2/3, bigram P 1/1 R 1/2; orders 3-6 empty on one side.
        double p = (1 + 1) / 2.0, r = (2.0 / 3 + 0.5) / 2;
        Assert.Equal(100 * 5 * p * r / (4 * p + r), TranslationMetrics.Compute(new[] { "a b" }, new[] { "abc" }).ChrF, 6);
        Assert.Throws<ArgumentException>(() => TranslationMetrics.Compute(new[] { "a" }, Array.Empty<string>()));
    }
}
