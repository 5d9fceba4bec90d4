using Microsoft.ML.Data;
using Microsoft.ML;
using MLNetTransformers.Classification;
using MLNetTransformers.Training;
using Xunit;

namespace MLNetTransformers.Tests;

public class Topic
{
    public string Text { get; set; } = "";
    public string Label { get; set; } = "";
}

/// <summary>One trained binary model shared by the tests that only read it.</summary>
public sealed class BinaryModelFixture
{
    public MLContext Ml { get; } = new(seed: 1);
    public IDataView Train { get; }
    public IDataView Test { get; }
    public ITransformer Model { get; }
    public TransformerClassificationTransformer Classifier { get; }

    public BinaryModelFixture()
    {
        var split = Ml.Data.TrainTestSplit(TestData.Reviews(Ml), testFraction: 0.2, seed: 1);
        (Train, Test) = (split.TrainSet, split.TestSet);
        // Stock transforms before and after the trainer.
        var pipeline = Ml.Transforms.CopyColumns("Text", "Text")
            .Append(Ml.BinaryClassification.Trainers.TransformerClassifier(TestData.Tiny()))
            .Append(Ml.Transforms.Conversion.ConvertType("PredictedLabelAsSingle", "PredictedLabel", DataKind.Single));
        Model = pipeline.Fit(Train);
        Classifier = ((IEnumerable<ITransformer>)Model).OfType<TransformerClassificationTransformer>().Single();
    }
}

public class ClassificationPipelineTests(BinaryModelFixture f) : IClassFixture<BinaryModelFixture>
{
    [Fact]
    public void BinaryClassifier_TrainsInAPipeline_AndEvaluates()
    {
        var scored = f.Model.Transform(f.Test);
        var metrics = f.Ml.BinaryClassification.Evaluate(scored);
        Assert.True(metrics.Accuracy > 0.8, $"accuracy {metrics.Accuracy}");
        Assert.True(metrics.AreaUnderRocCurve > 0.85, $"auc {metrics.AreaUnderRocCurve}");
        Assert.Equal(scored.GetColumn<bool>("PredictedLabel").Select(b => b ? 1f : 0f), scored.GetColumn<float>("PredictedLabelAsSingle"));

        var engine = f.Ml.Model.CreatePredictionEngine<Review, ReviewPrediction>(f.Model);
        var p = engine.Predict(new Review { Text = "The acting was wonderful and the story is brilliant." });
        Assert.True(p.PredictedLabel, $"probability {p.Probability}");
        Assert.Equal(MathF.Log(p.Probability / (1 - p.Probability)), p.Score, 3);
    }

    [Fact]
    public void PredictionEngine_AgreesWithBatchedTransform()
    {
        var scored = f.Model.Transform(f.Test);
        var texts = scored.GetColumn<string>("Text").ToArray();
        var probs = scored.GetColumn<float>("Probability").ToArray();
        var engine = f.Ml.Model.CreatePredictionEngine<Review, ReviewPrediction>(f.Model);
        for (int i = 0; i < texts.Length; i += 7)
            Assert.Equal(probs[i], engine.Predict(new Review { Text = texts[i] }).Probability, 4);
    }

    [Fact]
    public void ManyThreads_GetTheSameResultsAsOne()
    {
        var texts = f.Test.GetColumn<string>("Text").Take(60).ToArray();
        var single = f.Ml.Model.CreatePredictionEngine<Review, ReviewPrediction>(f.Model);
        var expected = texts.Select(t => single.Predict(new Review { Text = t }).Probability).ToArray();
        var results = new float[4][];
        Parallel.For(0, 4, new ParallelOptions { MaxDegreeOfParallelism = 4 }, k =>
        {
            var engine = f.Ml.Model.CreatePredictionEngine<Review, ReviewPrediction>(f.Model); // one engine per thread
            results[k] = texts.Select(t => engine.Predict(new Review { Text = t }).Probability).ToArray();
        });
        foreach (var r in results) Assert.Equal(expected, r);

        var scored = f.Model.Transform(f.Test);
        var views = new float[3][];
        Parallel.For(0, 3, k => views[k] = scored.GetColumn<float>("Probability").ToArray()); // concurrent cursors
        Assert.Equal(views[0], views[1]);
        Assert.Equal(views[0], views[2]);
    }

    [Fact]
    public void Transform_IsLazy()
    {
        var calls = 0;
        var counting = f.Ml.Transforms.CustomMapping((Review r, Review o) => { calls++; o.Text = r.Text; o.Label = r.Label; }, contractName: null);
        var view = counting.Fit(f.Test).Transform(f.Test);
        var scored = f.Classifier.Transform(view);
        Assert.Equal(0, calls);                           // nothing computed until a cursor asks
        _ = scored.GetColumn<bool>("Label").Count();      // inactive outputs are never computed
        Assert.True(calls > 0);
    }

    [Fact]
    public void SavedModel_ReloadsWithIdenticalPredictions_AndModelSaveExplainsTheLimit()
    {
        string dir = Directory.CreateTempSubdirectory().FullName;
        string path = Path.Combine(dir, "model.mlnt");
        TransformerModel.Save(f.Ml, f.Model, f.Train.Schema, path);
        var ml2 = new MLContext(seed: 5);
        var loaded = TransformerModel.Load(ml2, path, out var schema);
        Assert.Equal(f.Train.Schema.Select(c => c.Name), schema.Select(c => c.Name));
        var a = f.Model.Transform(f.Test);
        var b = loaded.Transform(f.Test);
        Assert.Equal(a.GetColumn<float>("Probability"), b.GetColumn<float>("Probability"));
        Assert.Equal(a.GetColumn<float>("PredictedLabelAsSingle"), b.GetColumn<float>("PredictedLabelAsSingle"));

        var ex = Assert.Throws<NotSupportedException>(() => f.Ml.Model.Save(f.Model, f.Train.Schema, Path.Combine(dir, "stock.zip")));
        Assert.Contains("TransformerModel.Save", ex.Message);

        File.WriteAllBytes(Path.Combine(dir, "bad.mlnt"), File.ReadAllBytes(path).Take(1000).ToArray());
        Assert.Throws<InvalidDataException>(() => TransformerModel.Load(ml2, Path.Combine(dir, "bad.mlnt"), out _));
        File.WriteAllText(Path.Combine(dir, "text.mlnt"), "hello");
        Assert.Throws<InvalidDataException>(() => TransformerModel.Load(ml2, Path.Combine(dir, "text.mlnt"), out _));
    }

    [Fact]
    public void Featurizer_FeedsAStockTrainer()
    {
        var pipeline = f.Ml.Transforms.Text.FeaturizeWithTransformer(f.Classifier, "Features", "Text")
            .AppendCacheCheckpoint(f.Ml)
            .Append(f.Ml.BinaryClassification.Trainers.SdcaLogisticRegression());
        var model = pipeline.Fit(f.Train);
        var metrics = f.Ml.BinaryClassification.Evaluate(model.Transform(f.Test));
        Assert.True(metrics.Accuracy > 0.75, $"accuracy {metrics.Accuracy}");
        Assert.Equal(48, ((VectorDataViewType)model.Transform(f.Test).Schema["Features"].Type).Size);
    }

    [Fact]
    public void Featurizer_AcceptsTokenIds_WithTheSameResultAsText()
    {
        var tokens = new Tokenization.TokenizerTransformer(f.Classifier.Tokenizer).Transform(f.Test);
        var fromIds = new Featurization.EncoderFeaturizerTransformer(f.Classifier.Tokenizer, f.Classifier.Model.Encoder, "TokenIds", "F").Transform(tokens);
        var fromText = new Featurization.EncoderFeaturizerTransformer(f.Classifier.Tokenizer, f.Classifier.Model.Encoder, "Text", "F").Transform(f.Test);
        var a = fromIds.GetColumn<float[]>("F").ToArray();
        var b = fromText.GetColumn<float[]>("F").ToArray();
        Assert.Equal(b.Length, a.Length);
        for (int i = 0; i < a.Length; i++) Assert.Equal(b[i], a[i]);
        Assert.Contains("Boolean", Assert.ThrowsAny<ArgumentException>(() =>
            new Featurization.EncoderFeaturizerTransformer(f.Classifier.Tokenizer, f.Classifier.Model.Encoder, "Label", "F").GetOutputSchema(f.Test.Schema)).Message);
    }

    [Theory]
    [InlineData(null)]
    [InlineData("")]
    [InlineData("   ")]
    [InlineData("bad \ud800 surrogate \udfff text")]
    public void OddTexts_StillPredict(string? text)
    {
        var engine = f.Ml.Model.CreatePredictionEngine<Review, ReviewPrediction>(f.Model);
        var p = engine.Predict(new Review { Text = text! });
        // Null, empty and blank texts encode as [CLS] [SEP]; lone surrogates as U+FFFD.
        string same = string.IsNullOrWhiteSpace(text) ? "" : text.Replace('\ud800', '\ufffd').Replace('\udfff', '\ufffd');
        Assert.Equal(engine.Predict(new Review { Text = same }).Probability, p.Probability);
        Assert.Equal(1 / (1 + MathF.Exp(-p.Score)), p.Probability, 5);
        var huge = engine.Predict(new Review { Text = string.Concat(Enumerable.Repeat("the plot was dull ", 20_000)) });
        Assert.False(huge.PredictedLabel);
    }
}

public class MulticlassAndTrainingTests
{
    private static readonly string[][] Words =
    {
        new[] { "goal", "match", "team", "coach", "league", "striker", "season", "stadium" },
        new[] { "recipe", "oven", "flavor", "dinner", "spicy", "dessert", "kitchen", "chef" },
        new[] { "software", "laptop", "code", "server", "network", "chip", "app", "cloud" },
    };
    private static readonly string[] Names = { "sports", "food", "tech" };

    internal static List<Topic> Topics(int n, int seed)
    {
        var rng = new Random(seed);
        var fillers = new[] { "the", "a", "new", "great", "about", "today", "our", "this" };
        return Enumerable.Range(0, n).Select(i =>
        {
            int c = i % 3;
            var words = Enumerable.Range(0, 6).Select(j => j % 2 == 0 ? Words[c][rng.Next(8)] : fillers[rng.Next(8)]);
            return new Topic { Text = string.Join(' ', words), Label = Names[c] };
        }).ToList();
    }

    [Fact]
    public void MulticlassClassifier_EvaluatesWithKeyLabels()
    {
        var ml = new MLContext(1);
        var train = ml.Data.LoadFromEnumerable(Topics(300, 1));
        var test = ml.Data.LoadFromEnumerable(Topics(90, 2));
        var options = TestData.Tiny(epochs: 8);
        options.Tokenizer.VocabularySize = 120;
        var pipeline = ml.Transforms.Conversion.MapValueToKey("Label")
            .Append(ml.MulticlassClassification.Trainers.TransformerClassifier(options))
            .Append(ml.Transforms.Conversion.MapKeyToValue("PredictedTopic", "PredictedLabel"));
        var model = pipeline.Fit(train);
        var scored = model.Transform(test);
        var metrics = ml.MulticlassClassification.Evaluate(scored);
        Assert.True(metrics.MicroAccuracy > 0.9, $"micro accuracy {metrics.MicroAccuracy}");
        Assert.Equal(3, ((VectorDataViewType)scored.Schema["Score"].Type).Size);
        var slotNames = default(VBuffer<ReadOnlyMemory<char>>);
        scored.Schema["Score"].GetSlotNames(ref slotNames);
        Assert.Equal(new[] { "sports", "food", "tech" }, slotNames.DenseValues().Select(s => s.ToString()));
        var predicted = scored.GetColumn<string>("PredictedTopic").ToArray();
        var truth = test.GetColumn<string>("Label").ToArray();
        Assert.True(predicted.Zip(truth).Count(p => p.First == p.Second) > 80);

        // Persistence keeps the key type and its values.
        string path = Path.Combine(Directory.CreateTempSubdirectory().FullName, "topics.mlnt");
        TransformerModel.Save(ml, model, train.Schema, path);
        var loaded = TransformerModel.Load(new MLContext(3), path, out _);
        Assert.Equal(predicted, loaded.Transform(test).GetColumn<string>("PredictedTopic"));
    }

    [Fact]
    public void Training_ReportsProgress_ValidatesAndKeepsTheBestEpoch()
    {
        var ml = new MLContext(1);
        var split = ml.Data.TrainTestSplit(TestData.Reviews(ml), 0.25, seed: 2);
        var reports = new List<TrainingProgress>();
        var options = TestData.Tiny(epochs: 4);
        options.ValidationSet = split.TestSet;
        options.ReportEverySteps = 10;
        options.ValidateEverySteps = 30;
        options.Progress = new Sync(reports.Add);
        var log = new List<string>();
        ml.Log += (_, e) => { if (e.Source.Contains("TransformerClassifier")) log.Add(e.Message); };
        var model = ml.BinaryClassification.Trainers.TransformerClassifier(options).Fit(split.TrainSet);
        Assert.Contains(reports, r => r.EndOfEpoch && r.ValidationMetric is not null);
        Assert.Contains(reports, r => !r.EndOfEpoch && r.ValidationMetric is null);
        Assert.Contains(reports, r => !r.EndOfEpoch && r.ValidationMetric is not null && r.Step % 30 == 0);
        Assert.All(reports, r => Assert.True(float.IsFinite(r.TrainLoss) && r.TokensPerSecond > 0));
        Assert.Equal(4, reports.Count(r => r.EndOfEpoch));
        // The weights kept are those of the lowest validation loss.
        var best = reports.Where(r => r.ValidationLoss is not null).MinBy(r => r.ValidationLoss!.Value);
        Assert.Equal(best.ValidationMetric!.Value, model.TrainingSummary!.BestValidationAccuracy!.Value, 6);
        Assert.Contains(log, m => m.Contains("val_acc"));
    }

    [Fact]
    public void Cancellation_StopsWithinAStep_AndTimeBudgetStopsTraining()
    {
        var ml = new MLContext(1);
        var data = TestData.Reviews(ml);
        using var cts = new CancellationTokenSource();
        var options = TestData.Tiny(epochs: 50);
        options.ReportEverySteps = 5;
        options.CancellationToken = cts.Token;
        options.Progress = new Sync(r => { if (r.Step >= 5) cts.Cancel(); });
        var model = ml.BinaryClassification.Trainers.TransformerClassifier(options).Fit(data);
        Assert.Equal(5, model.TrainingSummary!.Steps);
        Assert.Equal("cancelled", model.TrainingSummary.StopReason);
        var probabilities = model.PredictProbabilities("fine"); // the model is usable
        Assert.Equal(1f, probabilities.Sum(), 4);
        Assert.All(probabilities, q => Assert.True(q > 0f && q < 1f, $"{q}"));

        var timed = TestData.Tiny(epochs: 1000);
        timed.TimeBudget = TimeSpan.FromSeconds(1);
        var sw = System.Diagnostics.Stopwatch.StartNew();
        var m2 = ml.BinaryClassification.Trainers.TransformerClassifier(timed).Fit(data);
        Assert.Equal("time budget reached", m2.TrainingSummary!.StopReason);
        Assert.True(sw.Elapsed.TotalSeconds < 20);
    }

    [Fact]
    public void ServingReplicas_ScoreAsTheTrainedModelItselfDoes()
    {
        // Scoring runs on copies whose weights are laid out for small batches (a sentence at a time); a backend that
        // scores with a plain copy of the same model gives the same probabilities.
        var ml = new MLContext(1);
        var options = TestData.Tiny(epochs: 2);
        options.NGramBuckets = 0; // the transformer alone decides (a mixture may give it no weight after two epochs)
        var model = ml.BinaryClassification.Trainers.TransformerClassifier(options).Fit(TestData.Reviews(ml));
        var plain = model.WithBackend(new PlainCopy(model.Model.Copy()));
        foreach (var text in new[] { "the plot was gripping", "dull", "a long and winding story that never quite lands, though the cast tries" })
        {
            float[] served = model.PredictProbabilities(text), reference = plain.PredictProbabilities(text);
            for (int c = 0; c < served.Length; c++) Assert.Equal(reference[c], served[c], 5);
        }
    }

    private sealed class PlainCopy(Core.Models.TransformerClassifier copy) : IClassifierBackend
    {
        public void Probabilities(Core.Models.TokenBatch batch, Span<float> probabilities)
        {
            lock (copy) copy.PredictProbabilities(batch).AsSpan(0, probabilities.Length).CopyTo(probabilities);
        }
    }

    [Fact]
    public void SameSeed_SameModel()
    {
        var ml = new MLContext(1);
        var data = TestData.Reviews(ml);
        float P(int seed) { var o = TestData.Tiny(epochs: 2); o.Seed = seed; return ml.BinaryClassification.Trainers.TransformerClassifier(o).Fit(data).PredictProbabilities("the plot was gripping")[1]; }
        Assert.Equal(P(3), P(3));
        Assert.NotEqual(P(3), P(4));
    }

    private sealed class Sync(Action<TrainingProgress> a) : IProgress<TrainingProgress>
    {
        public void Report(TrainingProgress value) => a(value);
    }
}
