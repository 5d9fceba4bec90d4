// Sentiment classification with a transformer trained from scratch inside an ML.NET pipeline, next to ML.NET's
// stock FeaturizeText + SdcaLogisticRegression on the same split.
//
//   dotnet run -c Release --project samples/SentimentClassification
//       built-in reviews (Data/reviews.tsv, written for this project), 20% held out
//   dotnet run -c Release --project samples/SentimentClassification -- --train TRAIN.tsv --test TEST.tsv
//   dotnet run -c Release --project samples/SentimentClassification -- --train ../shared/data/sst2/train.tsv --holdout 0.1 --time-budget 1200
//   ... --time-budget 600 --pretrain-seconds 300   masked-LM pretraining on the training text first, within the same total budget
//
// Files: `sentence<TAB>label` with a header row, label 0/1. The last stdout line is JSON.
using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using Microsoft.ML;
using Microsoft.ML.Data;
using MLNetTransformers;
using MLNetTransformers.Classification;
using MLNetTransformers.LanguageModeling;
using MLNetTransformers.Tokenization;

var arg = new Args(args);
var ml = new MLContext(seed: 1);
string? trainPath = arg.Get("--train"), testPath = arg.Get("--test");
bool builtIn = trainPath is null;
trainPath ??= Path.Combine(AppContext.BaseDirectory, "Data", "reviews.tsv");
double holdout = arg.GetDouble("--holdout", builtIn ? 0.2 : 0);
if (testPath is null && holdout <= 0) { Console.Error.WriteLine("Give --test PATH or --holdout FRACTION (e.g. 0.1)."); return 2; }

IDataView Load(string path) => ml.Data.LoadFromTextFile<Sentence>(path, separatorChar: '\t', hasHeader: true, allowQuoting: false);
IDataView train, test;
if (testPath is not null) (train, test) = (Load(trainPath), Load(testPath));
else
{
    var split = ml.Data.TrainTestSplit(Load(trainPath), testFraction: holdout, seed: 1);
    (train, test) = (split.TrainSet, split.TestSet);
}
// Hold a little of the training data out for validation (best-epoch selection).
var tv = ml.Data.TrainTestSplit(train, testFraction: builtIn ? 0.1 : 0.05, seed: 2);
train = ml.Data.Cache(tv.TrainSet);
Console.WriteLine($"Data: {Count(train)} train, {Count(tv.TestSet)} validation, {Count(test)} test rows from {trainPath}{(testPath is null ? $" (holdout {holdout:P0})" : $" and {testPath}")}");

var options = new TransformerClassifierOptions
{
    LabelColumnName = "Label", TextColumnName = "Text",
    Layers = arg.GetInt("--layers", builtIn ? 2 : 4), ModelDim = arg.GetInt("--dim", builtIn ? 64 : 256),
    Heads = arg.GetInt("--heads", 4), FeedForwardDim = arg.GetInt("--ffn", builtIn ? 128 : 1024),
    Epochs = arg.GetInt("--epochs", builtIn ? 25 : 10), BatchSize = arg.GetInt("--batch-size", 32),
    LearningRate = (float)arg.GetDouble("--lr", builtIn ? 2e-3 : 5e-4), Dropout = (float)arg.GetDouble("--dropout", 0.1),
    Seed = arg.GetInt("--seed", 1), ValidationSet = tv.TestSet, EarlyStoppingPatience = arg.GetInt("--patience", builtIn ? 8 : 3),
    ReportEverySteps = builtIn ? 0 : 500,
    TimeBudget = arg.Get("--time-budget") is { } tb ? TimeSpan.FromSeconds(double.Parse(tb, CultureInfo.InvariantCulture)) : null,
    Tokenizer = new TokenizerOptions { MaxTokens = arg.GetInt("--max-tokens", 64), VocabularySize = arg.GetInt("--vocab", builtIn ? 1000 : 8000) },
    Progress = new Progress<ClassificationTrainingProgress>(p => { if (p.EndOfEpoch || p.Step % 500 == 0) Console.WriteLine("  " + p); }),
};

var sw = Stopwatch.StartNew();
double pretrainSeconds = arg.GetDouble("--pretrain-seconds", 0);
if (pretrainSeconds > 0)
{
    // BERT-style pretraining on the (unlabelled) training sentences, then fine-tuning with what is left of the budget.
    var featurizer = ml.Transforms.Text.PretrainMaskedLanguageModel(new MaskedLanguageModelOptions
    {
        Layers = options.Layers, ModelDim = options.ModelDim, Heads = options.Heads, FeedForwardDim = options.FeedForwardDim, Dropout = options.Dropout,
        Tokenizer = options.Tokenizer, BatchSize = options.BatchSize, MaxSteps = 1_000_000, LearningRate = options.LearningRate, Seed = options.Seed,
        TimeBudget = TimeSpan.FromSeconds(pretrainSeconds), ReportEverySteps = 500,
        Progress = new Progress<LanguageModelTrainingProgress>(p => Console.WriteLine("  pretraining " + p)),
    }).Fit(train);
    options.InitialModel = featurizer.Encoder;
    options.PretrainedTokenizer = featurizer.Tokenizer;
    if (options.TimeBudget is { } total) options.TimeBudget = total - sw.Elapsed;
}
var pipeline = ml.BinaryClassification.Trainers.TransformerClassifier(options);
var model = pipeline.Fit(train);
double trainSeconds = sw.Elapsed.TotalSeconds;
var metrics = ml.BinaryClassification.Evaluate(model.Transform(test));
Console.WriteLine($"Transformer ({model.Model.Parameters.Count:N0} parameters, {model.TrainingSummary!.StopReason}, {trainSeconds:F0} s): " +
    $"accuracy {metrics.Accuracy:P2}  AUC {metrics.AreaUnderRocCurve:F4}  F1 {metrics.F1Score:F4}");

// Baseline: ML.NET's stock text pipeline on the same split.
sw.Restart();
var baseline = ml.Transforms.Text.FeaturizeText("Features", "Text")
    .Append(ml.BinaryClassification.Trainers.SdcaLogisticRegression())
    .Fit(train);
var baseMetrics = ml.BinaryClassification.Evaluate(baseline.Transform(test));
Console.WriteLine($"FeaturizeText + SdcaLogisticRegression ({sw.Elapsed.TotalSeconds:F0} s): accuracy {baseMetrics.Accuracy:P2}  AUC {baseMetrics.AreaUnderRocCurve:F4}  F1 {baseMetrics.F1Score:F4}");

// Save, reload as a fresh model, predict.
string modelPath = arg.Get("--model") ?? Path.Combine(Path.GetTempPath(), "sentiment-transformer.mlnt");
TransformerModel.Save(ml, model, train.Schema, modelPath);
var reloaded = TransformerModel.Load(new MLContext(), modelPath, out _);
var engine = ml.Model.CreatePredictionEngine<Sentence, Prediction>(reloaded);
Console.WriteLine($"Saved to {modelPath} ({new FileInfo(modelPath).Length / 1024.0:F0} KB) and reloaded:");
foreach (var s in new[] { "A gripping story with a superb cast.", "The plot was dull and the ending predictable.",
                          "The pacing was not sluggish at all.", "The dialogue was clever, but the final act was tedious." })
{
    var p = engine.Predict(new Sentence { Text = s });
    Console.WriteLine($"  {(p.PredictedLabel ? "positive" : "negative"),-8} {p.Probability:F3}  {s}");
}

Console.WriteLine(JsonSerializer.Serialize(new
{
    accuracy = Math.Round(metrics.Accuracy, 4), auc = Math.Round(metrics.AreaUnderRocCurve, 4), f1 = Math.Round(metrics.F1Score, 4),
    baseline_accuracy = Math.Round(baseMetrics.Accuracy, 4), train_seconds = Math.Round(trainSeconds, 1), pretrain_seconds = pretrainSeconds,
}));
return 0;

static long Count(IDataView v) => v.GetRowCount() ?? v.GetColumn<bool>("Label").LongCount();

/// <summary>One labelled sentence.</summary>
public sealed class Sentence
{
    [LoadColumn(0)] public string Text { get; set; } = "";
    [LoadColumn(1)] public bool Label { get; set; }
}

/// <summary>The classifier's outputs.</summary>
public sealed class Prediction
{
    public bool PredictedLabel { get; set; }
    public float Probability { get; set; }
    public float Score { get; set; }
}

/// <summary>`--name value` command-line options.</summary>
internal sealed class Args(string[] args)
{
    public string? Get(string name)
    {
        int i = Array.IndexOf(args, name);
        return i >= 0 && i + 1 < args.Length ? args[i + 1] : null;
    }
    public int GetInt(string name, int fallback) => Get(name) is { } v ? int.Parse(v, CultureInfo.InvariantCulture) : fallback;
    public double GetDouble(string name, double fallback) => Get(name) is { } v ? double.Parse(v, CultureInfo.InvariantCulture) : fallback;
}
