using Microsoft.ML;
using Microsoft.ML.Data;
using MLNetTransformers.Tokenization;
using Xunit;

namespace MLNetTransformers.Tests;

public sealed class Pair
{
    public string Sentence1 { get; set; } = "";
    public string Sentence2 { get; set; } = "";
    public float Label { get; set; }
}

public sealed class PairScore
{
    public float Score { get; set; }
}

public sealed class LabelledPair
{
    public string Sentence1 { get; set; } = "";
    public string Sentence2 { get; set; } = "";
    public bool Label { get; set; }
}

/// <summary>Sentence pairs: tokenization as BERT and RoBERTa read them, pair classifiers and the similarity regressor.</summary>
public class SentencePairTests
{
    private static readonly string Fixtures = Path.Combine(AppContext.BaseDirectory, "Fixtures", "pretrained");
    private static TextTokenizer Bert(int maxTokens) => TextTokenizer.FromWordPieceVocabulary(Path.Combine(Fixtures, "bert", "vocab.txt"), maxTokens);

    [Fact]
    public void BertPairs_AreClsASepBSep_WithSegmentTypes()
    {
        var t = Bert(16);
        var (ids, mask, types) = (new int[16], new int[16], new int[16]);
        int n = t.EncodePair("the film was good", "the plot was dull", ids, mask, types, out bool cut);
        var a = t.EncodeAll("the film was good");
        var b = t.EncodeAll("the plot was dull");
        int[] expected = [t.ClsId, .. a, t.SepId, .. b, t.SepId];
        Assert.False(cut);
        Assert.Equal(expected.Length, n);
        Assert.Equal(expected, ids[..n]);
        Assert.All(ids[n..], id => Assert.Equal(t.PadId, id));
        Assert.Equal(Enumerable.Repeat(1, n).Concat(Enumerable.Repeat(0, 16 - n)), mask);
        Assert.Equal(Enumerable.Repeat(0, a.Length + 2).Concat(Enumerable.Repeat(1, b.Length + 1)).Concat(Enumerable.Repeat(0, 16 - n)), types);

        // An empty side contributes no tokens.
        n = t.EncodePair("the film", "", ids, mask, types, out _);
        Assert.Equal([t.ClsId, .. t.EncodeAll("the film"), t.SepId, t.SepId], ids[..n]);
        Assert.Throws<InvalidOperationException>(() => TextTokenizer.FromWordPieceVocabulary(Path.Combine(Fixtures, "bert", "vocab.txt"), 3).EncodePair("a", "b", ids, mask, types, out _));
    }

    // Hugging Face's longest_first as its Python tokenizers run it: one token at a time from the longer side, the second on a tie.
    private static (int, int) LongestFirst(int la, int lb, int budget)
    {
        while (la + lb > budget) { if (la > lb) la--; else lb--; }
        return (la, lb);
    }

    [Fact]
    public void TooLongPairs_AreCutLongestFirst_AsHuggingFace()
    {
        var t = Bert(12); // 9 tokens for the two sides
        var (ids, mask, types) = (new int[12], new int[12], new int[12]);
        for (int la = 0; la <= 12; la++)
            for (int lb = 0; lb <= 12; lb++)
            {
                string a = string.Join(' ', Enumerable.Repeat("film", la)), b = string.Join(' ', Enumerable.Repeat("plot", lb));
                t.EncodePair(a, b, ids, mask, types, out bool cut);
                var (ea, eb) = LongestFirst(la, lb, 9);
                int film = t.EncodeAll("film")[0], plot = t.EncodeAll("plot")[0];
                Assert.Equal((ea, eb), (ids.Count(i => i == film), ids.Count(i => i == plot)));
                Assert.Equal(la + lb > 9, cut);
                Assert.Equal(eb + 1, types.Count(x => x == 1));
            }
    }

    [Fact]
    public void RobertaPairs_AreSAEndEndBEnd_AllTypeZero()
    {
        var t = TextTokenizer.FromByteLevelBpeFiles(Path.Combine(Fixtures, "roberta", "vocab.json"), Path.Combine(Fixtures, "roberta", "merges.txt"), 32);
        var (ids, mask, types) = (new int[32], new int[32], new int[32]);
        int n = t.EncodePair("a good film", "a dull plot", ids, mask, types, out _);
        Assert.Equal([t.ClsId, .. t.EncodeAll("a good film"), t.SepId, t.SepId, .. t.EncodeAll("a dull plot"), t.SepId], ids[..n]);
        Assert.All(types, x => Assert.Equal(0, x));
        Assert.True(t.RobertaPairs);
    }

    [Fact]
    public void TokenizeForTransformer_WithASecondColumn_WritesTokenTypes()
    {
        var ml = new MLContext(seed: 1);
        var data = ml.Data.LoadFromEnumerable(new[]
        {
            new Pair { Sentence1 = "the film was good", Sentence2 = "the plot was dull" },
            new Pair { Sentence1 = "a great cast", Sentence2 = "" },
        });
        var options = new TokenizerOptions { Kind = TokenizerKind.WordPiece, VocabularyFile = Path.Combine(Fixtures, "bert", "vocab.txt"), MaxTokens = 16 };
        var tokens = ml.Transforms.Text.TokenizeForTransformer(options, inputColumnName: "Sentence1", secondInputColumnName: "Sentence2").Fit(data);
        var scored = tokens.Transform(data);
        var ids = scored.GetColumn<long[]>("TokenIds").ToArray();
        var types = scored.GetColumn<long[]>("TokenTypeIds").ToArray();
        var t = Bert(16);
        var (eIds, eMask, eTypes) = (new int[16], new int[16], new int[16]);
        t.EncodePair("the film was good", "the plot was dull", eIds, eMask, eTypes, out _);
        Assert.Equal(eIds.Select(i => (long)i), ids[0]);
        Assert.Equal(eTypes.Select(i => (long)i), types[0]);
        Assert.Contains(1L, types[0]);
        // Single texts keep their two columns; a missing second column is named.
        Assert.Null(ml.Transforms.Text.TokenizeForTransformer(options, inputColumnName: "Sentence1").Fit(data).Transform(data).Schema.GetColumnOrNull("TokenTypeIds"));
        var e = Assert.Throws<ArgumentOutOfRangeException>(() => ml.Transforms.Text.TokenizeForTransformer(options, inputColumnName: "Sentence1", secondInputColumnName: "Hypothesis").Fit(data));
        Assert.Contains("'Hypothesis'", e.Message);
    }

    // Pairs whose label depends on both sides: the same adjective on each side (1) or not (0). Either text alone says nothing.
    private static List<LabelledPair> SameWord(int n, int seed)
    {
        var rng = new Random(seed);
        string[] words = ["good", "bad", "dull", "great"];
        return Enumerable.Range(0, n).Select(_ =>
        {
            string a = words[rng.Next(words.Length)];
            bool same = rng.Next(2) == 0;
            string b = same ? a : words.Where(w => w != a).ElementAt(rng.Next(words.Length - 1));
            return new LabelledPair { Sentence1 = $"the film was {a}", Sentence2 = $"it was {b}", Label = same };
        }).ToList();
    }

    [Fact]
    public void PairClassifier_LearnsARelationBetweenTheTwoTexts()
    {
        var ml = new MLContext(seed: 1);
        var train = ml.Data.LoadFromEnumerable(SameWord(600, 1));
        var test = ml.Data.LoadFromEnumerable(SameWord(200, 2));
        // Comparing two words takes a few hundred steps to start; early stopping on the default patience ends before that.
        var options = TestData.Tiny(epochs: 30);
        (options.TextColumnName, options.SecondTextColumnName, options.NGramBuckets, options.EarlyStoppingPatience, options.Refit) = ("Sentence1", "Sentence2", 0, 30, false);
        var model = ml.BinaryClassification.Trainers.TransformerClassifier(options).Fit(train);
        var metrics = ml.BinaryClassification.Evaluate(model.Transform(test));
        Assert.True(metrics.Accuracy > 0.9, $"accuracy {metrics.Accuracy}");
        Assert.Equal("Sentence2", model.SecondTextColumnName);
        Assert.Equal(2, model.Model.Config.TypeVocabSize); // a segment embedding for pairs trained from scratch

        // Saved and loaded, the pair model scores the same; PredictionEngine reads both columns.
        string path = Path.Combine(Path.GetTempPath(), $"pairs-{Guid.NewGuid():N}.mlnt");
        try
        {
            TransformerModel.Save(ml, model, train.Schema, path);
            var loaded = TransformerModel.Load(ml, path, out _);
            Assert.Equal(model.Transform(test).GetColumn<float>("Probability"), loaded.Transform(test).GetColumn<float>("Probability"));
            var engine = ml.Model.CreatePredictionEngine<LabelledPair, ReviewPrediction>(loaded);
            var p = engine.Predict(new LabelledPair { Sentence1 = "the film was great", Sentence2 = "it was great" });
            Assert.Equal(model.PredictProbabilities("the film was great", "it was great")[1], p.Probability, 5);
        }
        finally { File.Delete(path); }
        Assert.Throws<InvalidOperationException>(() => model.PredictProbabilities("the film was great"));
    }

    // Similarity = how many of three words the two sentences share (0-3), the words in another order on the second side.
    private static List<Pair> Overlap(int n, int seed)
    {
        var rng = new Random(seed);
        string[] words = ["film", "plot", "cast", "story", "end", "movie", "good", "bad", "dull", "fun", "great", "best"];
        return Enumerable.Range(0, n).Select(_ =>
        {
            var a = words.OrderBy(_ => rng.Next()).Take(3).ToArray();
            int shared = rng.Next(4);
            var rest = words.Except(a).OrderBy(_ => rng.Next()).Take(3 - shared);
            var b = a.Take(shared).Concat(rest).OrderBy(_ => rng.Next()).ToArray();
            return new Pair { Sentence1 = string.Join(' ', a), Sentence2 = string.Join(' ', b), Label = shared };
        }).ToList();
    }

    [Fact]
    public void SentenceSimilarity_IsARegressionTrainer_ScoredByRegressionEvaluate()
    {
        var ml = new MLContext(seed: 1);
        var train = ml.Data.LoadFromEnumerable(Overlap(800, 1));
        var test = ml.Data.LoadFromEnumerable(Overlap(200, 2));
        var options = TestData.Tiny(epochs: 60);
        (options.TextColumnName, options.SecondTextColumnName, options.EarlyStoppingPatience, options.Refit) = ("Sentence1", "Sentence2", 60, false);
        var model = ml.Regression.Trainers.TransformerRegressor(options).Fit(train);
        Assert.True(model.IsRegression);
        var scored = model.Transform(test);
        Assert.Null(scored.Schema.GetColumnOrNull("Probability"));
        var metrics = ml.Regression.Evaluate(scored);
        // Word overlap is invisible to either sentence alone: a model that does not compare the pair scores R² ≈ 0.
        double pearson = Metrics.Correlation.Pearson(scored.GetColumn<float>("Score").ToArray(), scored.GetColumn<float>("Label").ToArray());
        Assert.True(metrics.RSquared > 0.45 && pearson > 0.7, $"R² {metrics.RSquared}, Pearson {pearson}, RMSE {metrics.RootMeanSquaredError}");

        string path = Path.Combine(Path.GetTempPath(), $"similarity-{Guid.NewGuid():N}.mlnt");
        try
        {
            TransformerModel.Save(ml, model, train.Schema, path);
            var loaded = TransformerModel.Load(ml, path, out _);
            var scores = scored.GetColumn<float>("Score").ToArray();
            Assert.Equal(scores, loaded.Transform(test).GetColumn<float>("Score"));
            var engine = ml.Model.CreatePredictionEngine<Pair, PairScore>(loaded);
            var first = Overlap(200, 2)[0];
            Assert.Equal(scores[0], engine.Predict(first).Score, 4);
            Assert.Equal(scores[0], model.WithInt8Inference().Transform(test).GetColumn<float>("Score").First(), 0.3f);
        }
        finally { File.Delete(path); }
    }

    [Fact]
    public void BiEncoder_LearnsSimilarity_FromCosinesOfSeparateEmbeddings()
    {
        var ml = new MLContext(seed: 1);
        var train = ml.Data.LoadFromEnumerable(Overlap(800, 1));
        var test = ml.Data.LoadFromEnumerable(Overlap(200, 2));
        var options = TestData.Tiny(epochs: 30);
        (options.TextColumnName, options.SecondTextColumnName, options.EarlyStoppingPatience, options.NGramBuckets) = ("Sentence1", "Sentence2", 30, 0);
        var model = ml.Regression.Trainers.BiEncoderSimilarity(options).Fit(train);
        Assert.Equal((0f, 3f), model.LabelRange);
        var scored = model.Transform(test);
        var metrics = ml.Regression.Evaluate(scored);
        var scores = scored.GetColumn<float>("Score").ToArray();
        var labels = scored.GetColumn<float>("Label").ToArray();
        double pearson = Metrics.Correlation.Pearson(scores, labels);
        Assert.True(pearson > 0.7, $"Pearson {pearson}, R² {metrics.RSquared}");

        // Score = min + cosine·(max − min); the encoder embeds each sentence alone (the same vector whatever it is paired with).
        var first = Overlap(200, 2)[0];
        Assert.Equal(scores[0], 3f * model.Cosine(first.Sentence1, first.Sentence2), 4);
        var featurizer = new Featurization.EncoderFeaturizerTransformer(model.Tokenizer, model.Encoder, "Sentence1");
        var u = featurizer.Transform(ml.Data.LoadFromEnumerable(new[] { first })).GetColumn<float[]>("Features").Single();
        var v = featurizer.Transform(ml.Data.LoadFromEnumerable(new[] { new Pair { Sentence1 = first.Sentence2 } })).GetColumn<float[]>("Features").Single();
        float cos = u.Zip(v, (x, y) => x * y).Sum() / MathF.Sqrt(u.Sum(x => x * x) * v.Sum(x => x * x));
        Assert.Equal(model.Cosine(first.Sentence1, first.Sentence2), cos, 4);

        string path = Path.Combine(Path.GetTempPath(), $"bi-encoder-{Guid.NewGuid():N}.mlnt");
        try
        {
            TransformerModel.Save(ml, model, train.Schema, path);
            var loaded = TransformerModel.Load(ml, path, out _);
            Assert.Equal(scores, loaded.Transform(test).GetColumn<float>("Score"));
            Assert.Equal(scores[0], ml.Model.CreatePredictionEngine<Pair, PairScore>(loaded).Predict(first).Score, 4);
        }
        finally { File.Delete(path); }

        var bad = TestData.Tiny();
        bad.TextColumnName = "Sentence1";
        Assert.Contains("SecondTextColumnName", Assert.Throws<ArgumentException>(() => ml.Regression.Trainers.BiEncoderSimilarity(bad)).Message);
        bad.SecondTextColumnName = "Sentence2";
        bad.LabelSmoothing = 0.1f;
        Assert.Contains("LabelSmoothing", Assert.Throws<ArgumentException>(() => ml.Regression.Trainers.BiEncoderSimilarity(bad)).Message);
        bad.LabelSmoothing = 0;
        bad.Refit = true; // it keeps the validated model: asking for a refit is refused, not ignored
        Assert.Contains("does not use Refit", Assert.Throws<ArgumentException>(() => ml.Regression.Trainers.BiEncoderSimilarity(bad)).Message);
    }

    [Fact]
    public void Correlations_MatchTheirDefinitions()
    {
        float[] x = [1, 2, 3, 4, 5], y = [2, 4, 5, 4, 5];
        Assert.Equal(0.7745966692, Metrics.Correlation.Pearson(x, y), 6);          // computed by hand in float64 (torch), as scipy.stats.pearsonr
        Assert.Equal(0.7378647873, Metrics.Correlation.Spearman(x, y), 6);         // Pearson of the ranks y → 1, 2.5, 4.5, 2.5, 4.5 (ties at their mean rank), as scipy.stats.spearmanr
        Assert.Equal(1.0, Metrics.Correlation.Spearman(x, x.Select(v => v * v * v).ToArray()), 9);
        Assert.Equal(0.0, Metrics.Correlation.Pearson(x, [3, 3, 3, 3, 3]));
        Assert.Throws<ArgumentException>(() => Metrics.Correlation.Pearson(x, [1, 2]));
        Assert.Throws<ArgumentException>(() => Metrics.Correlation.Pearson([1, float.NaN], [1, 2]));
    }

    [Fact]
    public void SentenceSimilarity_BadInput_IsNamed()
    {
        var ml = new MLContext(seed: 1);
        var pairs = ml.Data.LoadFromEnumerable(Overlap(40, 1));
        var trainer = ml.Regression.Trainers.SentenceSimilarity(sentence2ColumnName: "Hypothesis");
        Assert.Contains("'Hypothesis'", Assert.Throws<ArgumentOutOfRangeException>(() => trainer.Fit(pairs)).Message);

        var textLabel = ml.Data.LoadFromEnumerable(new[] { new LabelledText { Sentence1 = "a", Sentence2 = "b", Label = "3.5" } });
        Assert.Contains("regression needs Single or Double", Assert.Throws<ArgumentOutOfRangeException>(() => ml.Regression.Trainers.SentenceSimilarity().Fit(textLabel)).Message);

        var rows = Overlap(40, 1);
        rows[7].Label = float.NaN;
        var e = Assert.Throws<InvalidDataException>(() => ml.Regression.Trainers.SentenceSimilarity().Fit(ml.Data.LoadFromEnumerable(rows)));
        Assert.Contains("row 7", e.Message);
        Assert.Contains("'Label'", e.Message);

        var o = TestData.Tiny();
        o.NGramBuckets = 64;
        Assert.Contains("NGramBuckets", Assert.Throws<ArgumentException>(() => ml.Regression.Trainers.TransformerRegressor(o)).Message);

        // An empty side is read as the other side alone, and counted.
        var withEmpty = Overlap(40, 3);
        withEmpty[5].Sentence2 = "";
        withEmpty[9].Sentence1 = "  ";
        var small = TestData.Tiny(epochs: 1);
        (small.TextColumnName, small.SecondTextColumnName) = ("Sentence1", "Sentence2");
        var regressor = ml.Regression.Trainers.TransformerRegressor(small);
        var fitted = regressor.Fit(ml.Data.LoadFromEnumerable(withEmpty));
        Assert.Equal(2, regressor.EmptyPairSides);
        Assert.True(float.IsFinite(fitted.PredictProbabilities("", "film plot")[0]));
    }

    public sealed class LabelledText
    {
        public string Sentence1 { get; set; } = "";
        public string Sentence2 { get; set; } = "";
        public string Label { get; set; } = "";
    }
}
