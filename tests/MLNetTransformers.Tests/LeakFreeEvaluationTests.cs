using Microsoft.ML;
using Microsoft.ML.Data;
using MLNetTransformers.Training;
using Xunit;

namespace MLNetTransformers.Tests;

/// <summary>The sentiment sample's split by sentence, and the classifier's own validation hold-out and epoch choice.</summary>
public class LeakFreeEvaluationTests
{
    private sealed class Row
    {
        public string Text { get; set; } = "";
        public string Sentence { get; set; } = "";
        public bool Label { get; set; }
    }

    [Fact]
    public void Phrases_AreKeyedByTheSentenceThatContainsThem()
    {
        var phrases = new[]
        {
            "a gripping story", "the cast is superb", "gripping", "the plot is dull , but the cast is superb",
            "a gripping story with a superb cast .", "the plot is dull", "superb", "plot",
        };
        var keys = SentenceGroups.SentenceOf(phrases);
        const string s1 = "a gripping story with a superb cast .", s2 = "the plot is dull , but the cast is superb";
        Assert.Equal(new[] { s1, s2, s1, s2, s1, s2, s2, s2 }, keys); // "superb" is in both: it goes with the longer one
        // Token-aligned: "cast" inside "broadcast" is not a phrase of it.
        Assert.Equal(new[] { "a broadcast", "cast" }, SentenceGroups.SentenceOf(new[] { "a broadcast", "cast" }));
    }

    [Fact]
    public void SplitBySentenceKey_NeverTrainsOnAPhraseOfAHeldOutSentence()
    {
        var rng = new Random(3);
        string[] words = { "good", "bad", "film", "plot", "cast", "dull", "fine", "great", "story", "acting", "not", "very" };
        var sentences = Enumerable.Range(0, 300).Select(i => string.Join(' ', Enumerable.Range(0, 8).Select(_ => words[rng.Next(words.Length)])) + $" s{i}").ToList();
        // Every sentence with three of its sub-phrases, as SST-2's training file holds them.
        var phrases = sentences.SelectMany(s =>
        {
            var t = s.Split(' ');
            return new[] { s, string.Join(' ', t[..4]), string.Join(' ', t[4..]), string.Join(' ', t[2..6]) };
        }).ToList();
        var keys = SentenceGroups.SentenceOf(phrases);
        var ml = new MLContext(1);
        var data = ml.Data.LoadFromEnumerable(phrases.Select((p, i) => new Row { Text = p, Sentence = keys[i], Label = i % 2 == 0 }));
        var split = ml.Data.TrainTestSplit(data, 0.2, samplingKeyColumnName: nameof(Row.Sentence), seed: 1);
        var trainKeys = split.TrainSet.GetColumn<string>(nameof(Row.Sentence)).ToHashSet();
        var testKeys = split.TestSet.GetColumn<string>(nameof(Row.Sentence)).ToHashSet();
        Assert.InRange(testKeys.Count, 30, 90);
        Assert.Empty(trainKeys.Intersect(testKeys));
        // No training phrase is a piece of a held-out sentence, unless it also occurs in a training sentence
        // (a short phrase such as "good film" may belong to several sentences; it is grouped with one).
        foreach (var p in split.TrainSet.GetColumn<string>(nameof(Row.Text)))
            if (testKeys.Any(s => $" {s} ".Contains($" {p} ")))
                Assert.Contains(trainKeys, s => $" {s} ".Contains($" {p} "));
    }

    [Fact]
    public void WithoutAValidationSet_TheTrainerHoldsOutAFraction_AndChoosesEpochsFromTheDataSize()
    {
        var ml = new MLContext(1);
        var data = TestData.Reviews(ml);
        int rows = (int)data.GetColumn<bool>("Label").Count();
        var reports = new List<TrainingProgress>();
        var options = TestData.Tiny();
        options.Epochs = null;
        options.ValidationFraction = 0.2;
        options.BatchSize = 32;
        options.Refit = false;
        options.EarlyStoppingPatience = 1;
        options.Progress = new SyncProgress<TrainingProgress>(reports.Add);
        var model = ml.BinaryClassification.Trainers.TransformerClassifier(options).Fit(data);
        Assert.NotNull(model.TrainingSummary!.BestValidationAccuracy);
        Assert.Contains(reports, r => r.EndOfEpoch && r.ValidationMetric is not null);
        int stepsPerEpoch = (rows - (int)Math.Round(rows * 0.2) + 31) / 32;
        int epochs = Math.Clamp((1500 + stepsPerEpoch - 1) / stepsPerEpoch, 8, 200);
        Assert.All(reports, r => Assert.Equal((long)stepsPerEpoch * epochs, r.TotalSteps));

        // Refit: a second model trained on every row for the steps validation chose.
        options.Refit = true;
        options.Progress = null;
        var refit = ml.BinaryClassification.Trainers.TransformerClassifier(options).Fit(data);
        Assert.EndsWith("refit on all rows", refit.TrainingSummary!.StopReason);
        Assert.True(refit.TrainingSummary.Steps > model.TrainingSummary.Steps, $"{refit.TrainingSummary.Steps} vs {model.TrainingSummary.Steps}");
        Assert.Equal(model.Model.Mixture, refit.Model.Mixture);
        Assert.NotEqual(model.Model.Parameters.Data, refit.Model.Parameters.Data);

        options.ValidationFraction = 0;
        options.Epochs = 2;
        var all = ml.BinaryClassification.Trainers.TransformerClassifier(options).Fit(data);
        Assert.Null(all.TrainingSummary!.BestValidationAccuracy);
        Assert.Equal("all epochs done", all.TrainingSummary.StopReason);
    }
}
