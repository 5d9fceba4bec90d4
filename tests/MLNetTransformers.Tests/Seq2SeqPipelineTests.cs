using Microsoft.ML;
using Microsoft.ML.Data;
using MLNetTransformers.Metrics;
using MLNetTransformers.Translation;
using Xunit;

namespace MLNetTransformers.Tests;

public class Seq2SeqPipelineTests
{
    public sealed class Pair
    {
        public string Source { get; set; } = "";
        public string Target { get; set; } = "";
    }

    // A toy "translation": each word maps to another language's word and the order is reversed.
    private static readonly Dictionary<string, string> Lexicon = new()
    {
        ["red"] = "rot", ["blue"] = "blau", ["green"] = "gruen", ["dog"] = "hund", ["cat"] = "katze", ["house"] = "haus",
        ["big"] = "gross", ["small"] = "klein", ["runs"] = "rennt", ["sleeps"] = "schlaeft", ["the"] = "der", ["a"] = "ein",
    };

    private static List<Pair> Pairs(int count, int seed)
    {
        var rng = new Random(seed);
        var words = Lexicon.Keys.ToArray();
        return Enumerable.Range(0, count).Select(_ =>
        {
            var s = Enumerable.Range(0, 2 + rng.Next(4)).Select(_ => words[rng.Next(words.Length)]).ToArray();
            return new Pair { Source = string.Join(' ', s), Target = string.Join(' ', s.Reverse().Select(w => Lexicon[w])) };
        }).ToList();
    }

    [Fact]
    public void TrainsInAPipeline_TranslatesHeldOutSentences_AndSavesAndLoads()
    {
        var ml = new MLContext(seed: 1);
        var train = ml.Data.LoadFromEnumerable(Pairs(1200, 1));
        var test = ml.Data.LoadFromEnumerable(Pairs(60, 2));
        var options = new Seq2SeqOptions
        {
            Layers = 2, ModelDim = 64, Heads = 4, FeedForwardDim = 128, Dropout = 0f, LearningRate = 2e-3f, Epochs = 20, BatchSize = 32, Seed = 1, EarlyStoppingPatience = 0,
            Tokenizer = new Tokenization.TokenizerOptions { MaxTokens = 24, VocabularySize = 80, MinFrequency = 1 }, BeamWidth = 3,
        };
        var translator = ml.Transforms.Text.TrainSeq2Seq(options).Fit(train);
        Assert.NotNull(translator.TrainingOutcome);
        var metrics = TranslationMetrics.Evaluate(translator.Transform(test));
        var outs = translator.Transform(test).GetColumn<string>("Translation").ToArray();
        var refs = test.GetColumn<string>("Target").ToArray();
        var srcs = test.GetColumn<string>("Source").ToArray();
        var wrong = Enumerable.Range(0, outs.Length).Where(i => outs[i] != refs[i]).Take(6).Select(i => $"[{srcs[i]}] -> [{outs[i]}] want [{refs[i]}]");
        Assert.True(metrics.Bleu > 80, $"BLEU {metrics.Bleu:F1}, chrF {metrics.ChrF:F1}; {translator.TrainingOutcome!.Steps} steps, {translator.TrainingOutcome.StopReason}; " + string.Join(" | ", wrong));
        Assert.Equal(60, metrics.Sentences);
        var nBest = translator.Translate("the big dog runs", nBest: 3);
        Assert.Equal("rennt hund gross der", nBest[0].Text);
        Assert.True(nBest.Count >= 2 && nBest[0].Score >= nBest[1].Score);

        // Saved with the library's persistence and loaded again: the same translations, row by row too.
        string path = Path.Combine(Directory.CreateTempSubdirectory().FullName, "translator.mlnt");
        TransformerModel.Save(ml, translator, test.Schema, path);
        var loaded = TransformerModel.Load(new MLContext(), path, out _);
        Assert.Equal(translator.Transform(test).GetColumn<string>("Translation"), loaded.Transform(test).GetColumn<string>("Translation"));
        var engine = ml.Model.CreatePredictionEngine<Pair, Output>(loaded);
        Assert.Equal("rennt hund gross der", engine.Predict(new Pair { Source = "the big dog runs" }).Translation);
    }

    public sealed class Output { public string Translation { get; set; } = ""; }
}
