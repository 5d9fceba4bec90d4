using Microsoft.ML.Data;
using Microsoft.ML;
using MLNetTransformers.Core.Models;
using MLNetTransformers.LanguageModeling;
using MLNetTransformers.Tokenization;
using MLNetTransformers.Training;
using Xunit;

namespace MLNetTransformers.Tests;

public sealed class PromptRow { public string Prompt { get; set; } = ""; }
public sealed class GeneratedRow { public string Prompt { get; set; } = ""; public string Generated { get; set; } = ""; }

/// <summary>A tiny character-level LM trained once on a repetitive text.</summary>
public sealed class TinyLanguageModel
{
    public const string Verse = "the cat sat on the mat. the dog sat on the log. the cat and the dog sat on the mat and the log. ";
    public MLContext Ml { get; } = new(seed: 1);
    public LanguageModelTransformer Lm { get; }
    public List<TrainingProgress> Reports { get; } = new();

    public TinyLanguageModel()
    {
        var docs = Enumerable.Range(0, 40).Select(i => new TextRow { Text = Verse + Verse }).ToList();
        UsedOptions = Options(Reports);
        Lm = Ml.Transforms.Text.TrainLanguageModel(UsedOptions).Fit(Ml.Data.LoadFromEnumerable(docs));
    }

    /// <summary>The options the fixture trained with (training must leave them as they were).</summary>
    public LanguageModelOptions UsedOptions { get; }

    public static LanguageModelOptions Options(List<TrainingProgress>? reports = null) => new()
    {
        ContextLength = 32, Layers = 2, ModelDim = 48, Heads = 4, FeedForwardDim = 96, BatchSize = 16, MaxSteps = 250,
        LearningRate = 3e-3f, WarmupSteps = 20, ValidateEverySteps = 50, Dropout = 0f, Seed = 1,
        Progress = reports is null ? null : new SyncProgress<TrainingProgress>(reports.Add),
    };

    public sealed class TextRow { public string Text { get; set; } = ""; }
}

internal sealed class SyncProgress<T>(Action<T> report) : IProgress<T>
{
    public void Report(T value) => report(value);
}

public class LanguageModelTests(TinyLanguageModel f) : IClassFixture<TinyLanguageModel>
{
    [Fact]
    public void ReportEverySteps_AddsReportsBetweenValidations()
    {
        var reports = new List<TrainingProgress>();
        var o = TinyLanguageModel.Options(reports);
        (o.MaxSteps, o.ValidateEverySteps, o.ReportEverySteps) = (30, 20, 10);
        var docs = Enumerable.Range(0, 40).Select(_ => new TinyLanguageModel.TextRow { Text = TinyLanguageModel.Verse }).ToList();
        f.Ml.Transforms.Text.TrainLanguageModel(o).Fit(f.Ml.Data.LoadFromEnumerable(docs));
        Assert.Contains(reports, r => r.Step == 10 && r.ValidationLoss is null);
        Assert.Contains(reports, r => r.Step == 20 && r.ValidationLoss is not null);
        Assert.All(reports, r => Assert.Null(r.Epoch));
    }

    [Fact]
    public void BatchedGenerate_GivesWhatOnePromptAtATimeGives_StopSequencesIncluded()
    {
        var prompts = new[] { "the cat", "the dog sat on", "", "the mat and the" };
        foreach (var options in new[] { new GenerationOptions { Temperature = 0f, MaxNewTokens = 40 }, new GenerationOptions { Temperature = 0.8f, Seed = 7, MaxNewTokens = 30 } })
        {
            var alone = prompts.Select(p => f.Lm.Generate(p, options, new[] { "log" })).ToArray();
            Assert.Equal(alone, f.Lm.Generate(prompts, options, new[] { "log" }));
        }
    }

    [Fact]
    public void Training_ReportsFallingValidationLoss_AndLearnsTheText()
    {
        Assert.True(f.Reports.Count >= 5);
        Assert.Equal(new LanguageModelOptions().Tokenizer.MaxTokens, f.UsedOptions.Tokenizer.MaxTokens); // not overwritten by ContextLength
        Assert.Equal(32, f.Lm.Tokenizer.MaxTokens);
        Assert.All(f.Reports, r => Assert.NotNull(r.ValidationLoss));
        Assert.True(f.Reports[^1].ValidationLoss < f.Reports[0].ValidationLoss * 0.5, string.Join(" ", f.Reports.Select(r => r.ValidationLoss)));
        Assert.True(f.Lm.TrainingSummary!.BestValidationPerplexity < 2.5, $"perplexity {f.Lm.TrainingSummary.BestValidationPerplexity}");
        Assert.Equal(TokenizerKind.Character, f.Lm.Tokenizer.Kind);
        // Greedy continuation of a memorised passage ("sat on the l" only ever continues one way in the verse).
        var text = f.Lm.Generate("the dog sat on the l", new GenerationOptions { MaxNewTokens = 12, Temperature = 0 });
        Assert.Equal("og. the cat ", text);
    }

    [Fact]
    public void SameSeed_SameText_StopSequencesCut()
    {
        var sampled = new GenerationOptions { MaxNewTokens = 40, Temperature = 1f, TopK = 10, TopP = 0.9f, Seed = 5 };
        Assert.Equal(f.Lm.Generate("the ", sampled), f.Lm.Generate("the ", sampled));
        var stopped = f.Lm.Generate("the cat ", new GenerationOptions { MaxNewTokens = 60, Temperature = 0 }, new[] { "." });
        Assert.DoesNotContain(".", stopped);
        Assert.True(stopped.Length > 0 && stopped.Length < 60);
        Assert.NotEmpty(f.Lm.Generate("", new GenerationOptions { MaxNewTokens = 5, Temperature = 0 })); // empty prompt: start of a document
        var longPrompt = string.Concat(Enumerable.Repeat(TinyLanguageModel.Verse, 5)); // longer than the 32-token context
        Assert.Equal(5, f.Lm.Generate(longPrompt, new GenerationOptions { MaxNewTokens = 5, Temperature = 0 }).Length);
    }

    [Fact]
    public void PromptColumn_GeneratesInAPipeline_AndPredictionEngine()
    {
        // A cursor hands the prompts to the model in batches (they decode together); each row equals generating it alone.
        var texts = new[] { "the cat sat on the ", "the dog ", "", "a cat and a dog sat", "the mat", "on the cat the dog sat on" };
        var prompts = f.Ml.Data.LoadFromEnumerable(texts.Select(t => new PromptRow { Prompt = t }));
        var generated = f.Lm.Transform(prompts).GetColumn<string>("Generated").ToArray();
        Assert.Equal(texts.Select(t => f.Lm.Generate(t)), generated);
        Assert.Contains(generated, g => g.Length > 0);
        var engine = f.Ml.Model.CreatePredictionEngine<PromptRow, GeneratedRow>(f.Lm);
        Assert.Equal(generated[0], engine.Predict(new PromptRow { Prompt = "the cat sat on the " }).Generated);
    }

    [Fact]
    public void Perplexity_IsLowOnTheTrainingTextAndHighOnOtherText()
    {
        var (loss, ppl, tokens) = f.Lm.Perplexity(new[] { TinyLanguageModel.Verse });
        Assert.Equal(Math.Exp(loss), ppl, 6);
        Assert.True(tokens > 50);
        var other = f.Lm.Perplexity(new[] { "zebras quickly juggle vexing quartz" });
        Assert.True(other.Perplexity > ppl * 3, $"{other.Perplexity} vs {ppl}");
        Assert.Throws<ArgumentException>(() => f.Lm.Perplexity(new[] { "" }));
    }

    [Fact]
    public void Streaming_PiecesAddUpToTheText_StopsAreHeldBack_AndCancellationEndsEarly()
    {
        var greedy = new GenerationOptions { MaxNewTokens = 60, Temperature = 0 };
        foreach (var stops in new[] { Array.Empty<string>(), new[] { "." }, new[] { "sat on", "." } })
        {
            var pieces = new List<string>();
            string text = f.Lm.Generate("the cat ", greedy, stops, pieces.Add);
            Assert.Equal(f.Lm.Generate("the cat ", greedy, stops), text);
            Assert.Equal(text, string.Concat(pieces));
            if (text.Length > 5) Assert.True(pieces.Count > 1, $"{pieces.Count} piece(s) for '{text}'"); // streamed, not all at the end
        }
        using var cts = new CancellationTokenSource();
        int received = 0;
        string cut = f.Lm.Generate("the ", new GenerationOptions { MaxNewTokens = 500, Temperature = 0 }, Array.Empty<string>(),
            piece => { if ((received += piece.Length) >= 10) cts.Cancel(); }, cts.Token);
        Assert.InRange(cut.Length, 10, 12);
        Assert.Contains("100,000", Assert.Throws<ArgumentOutOfRangeException>(() => f.Lm.Generate("a", new GenerationOptions { MaxNewTokens = 2_000_000_000 })).Message);
    }

    [Fact]
    public void SaveLoad_GeneratesTheSameText()
    {
        string path = Path.Combine(Directory.CreateTempSubdirectory().FullName, "lm.mlnt");
        f.Lm.Save(path);
        var loaded = ((IEnumerable<ITransformer>)TransformerModel.Load(new MLContext(), path, out var schema)).OfType<LanguageModelTransformer>().Single();
        Assert.Equal("Prompt", schema.Single().Name);
        var o = new GenerationOptions { MaxNewTokens = 20, Temperature = 0.9f, Seed = 3 };
        Assert.Equal(f.Lm.Generate("the ", o), loaded.Generate("the ", o));
    }

    [Fact]
    public void BadInputs_AreClear()
    {
        var ml = new MLContext(1);
        var empty = ml.Data.LoadFromEnumerable(new[] { new TinyLanguageModel.TextRow { Text = "" } });
        Assert.Contains("empty", Assert.Throws<ArgumentException>(() => ml.Transforms.Text.TrainLanguageModel(TinyLanguageModel.Options()).Fit(empty)).Message);
        var tiny = ml.Data.LoadFromEnumerable(new[] { new TinyLanguageModel.TextRow { Text = "abc" } });
        Assert.Contains("context", Assert.Throws<ArgumentException>(() => ml.Transforms.Text.TrainLanguageModel(TinyLanguageModel.Options()).Fit(tiny)).Message);
        Assert.Contains("MaxNewTokens", Assert.Throws<ArgumentOutOfRangeException>(() => f.Lm.Generate("a", new GenerationOptions { MaxNewTokens = 0 })).Message);
        Assert.Contains("Temperature", Assert.Throws<ArgumentOutOfRangeException>(() => f.Lm.Generate("a", new GenerationOptions { Temperature = -1 })).Message);
        Assert.Contains("TopP", Assert.Throws<ArgumentOutOfRangeException>(() => f.Lm.Generate("a", new GenerationOptions { TopP = 0 })).Message);
        Assert.Contains("TopP", Assert.Throws<ArgumentOutOfRangeException>(() => f.Lm.Generate("a", new GenerationOptions { TopP = 1.01f })).Message);
        var o = TinyLanguageModel.Options(); o.ContextLength = 0;
        Assert.Contains("ContextLength", Assert.ThrowsAny<ArgumentException>(() => ml.Transforms.Text.TrainLanguageModel(o)).Message);
        Assert.Contains("'Text'", Assert.ThrowsAny<ArgumentException>(() =>
            ml.Transforms.Text.TrainLanguageModel(TinyLanguageModel.Options()).Fit(ml.Data.LoadFromEnumerable(new[] { new PromptRow() }))).Message);
    }

    [Fact]
    public void Cancellation_StopsAndKeepsAUsableModel()
    {
        var ml = new MLContext(1);
        using var cts = new CancellationTokenSource();
        var o = TinyLanguageModel.Options();
        o.ValidateEverySteps = 10;
        o.CancellationToken = cts.Token;
        o.Progress = new SyncProgress<TrainingProgress>(p => { if (p.Step >= 20) cts.Cancel(); });
        var lm = ml.Transforms.Text.TrainLanguageModel(o).Fit(ml.Data.LoadFromEnumerable(new[] { new TinyLanguageModel.TextRow { Text = string.Concat(Enumerable.Repeat(TinyLanguageModel.Verse, 10)) } }));
        Assert.Equal(20, lm.TrainingSummary!.Steps);
        Assert.Equal("cancelled", lm.TrainingSummary.StopReason);
        // The model is usable: greedy generation gives three new characters, the same each time.
        var greedy = new GenerationOptions { MaxNewTokens = 3, Temperature = 0 };
        string text = lm.Generate("the", greedy);
        Assert.Equal(3, text.Length);
        Assert.Equal(text, lm.Generate("the", greedy));
    }
}

public class MaskedPretrainingTests
{
    [Fact]
    public void Pretraining_LowersTheMaskedLoss_AndSeedsAClassifier()
    {
        var ml = new MLContext(1);
        var data = TestData.Reviews(ml);
        var reports = new List<TrainingProgress>();
        var pretrain = ml.Transforms.Text.PretrainMaskedLanguageModel(new MaskedLanguageModelOptions
        {
            Layers = 2, ModelDim = 48, Heads = 4, FeedForwardDim = 96, MaxSteps = 150, BatchSize = 16, LearningRate = 2e-3f, ReportEverySteps = 25,
            Tokenizer = new TokenizerOptions { MaxTokens = 32, VocabularySize = 300 }, Seed = 1, Progress = new SyncProgress<TrainingProgress>(reports.Add),
        });
        var featurizer = pretrain.Fit(data);
        Assert.True(reports[^1].TrainLoss < reports[0].TrainLoss * 0.8f, string.Join(" ", reports.Select(r => r.TrainLoss)));
        Assert.Equal(48, featurizer.Embed("the acting was superb").Length);
        Assert.Equal((150L, "all steps done"), (featurizer.PretrainingSummary!.Steps, featurizer.PretrainingSummary.StopReason)); // on the result, not the estimator

        var options = TestData.Tiny(epochs: 10);
        options.InitialModel = featurizer.Encoder;
        options.PretrainedTokenizer = featurizer.Tokenizer;
        var split = ml.Data.TrainTestSplit(data, 0.2, seed: 1);
        var classifier = ml.BinaryClassification.Trainers.TransformerClassifier(options).Fit(split.TrainSet);
        Assert.Same(featurizer.Tokenizer, classifier.Tokenizer);
        Assert.True(ml.BinaryClassification.Evaluate(classifier.Transform(split.TestSet)).Accuracy > 0.75);
        Assert.Throws<ArgumentOutOfRangeException>(() => ml.Transforms.Text.PretrainMaskedLanguageModel(new MaskedLanguageModelOptions { MaskProbability = 0 }));
    }
}
