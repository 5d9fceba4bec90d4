using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;
using Microsoft.ML;
using Microsoft.ML.Data;
using MLNetTransformers;
using MLNetTransformers.Classification;
using MLNetTransformers.Cli;
using MLNetTransformers.Onnx;
using MLNetTransformers.LanguageModeling;
using MLNetTransformers.Core.Models;
using MLNetTransformers.Tokenization;

const string Usage = """
    mlnet-transformers: train and use transformer text classifiers with ML.NET

      train    --task binary|multiclass --train PATH [--valid PATH] [--text-col NAME] [--label-col NAME] --model PATH
               [--epochs N] [--batch-size N] [--lr X] [--warmup N] [--weight-decay X] [--dropout X] [--seed N]
               [--layers N] [--dim N] [--heads N] [--ffn N] [--max-tokens N] [--time-budget SECONDS] [--patience N]
               [--tokenizer learned|wordpiece|bpe|tiktoken] [--vocab N] [--vocab-file PATH] [--merges-file PATH]
               [--tiktoken-encoding cl100k_base|o200k_base] [--ngram-buckets N (0 = transformer only)] [--members N (ensemble)]
               [--validation-fraction X (without --valid: share of --train held out for early stopping)]
               Epochs and patience are chosen from the data size unless given.
      evaluate --model PATH --test PATH [--text-col NAME] [--label-col NAME]
      predict  --model PATH --text "..."
      train-lm --text PATH --model PATH [--time-budget SECONDS] [--checkpoint PATH] [--steps N] [--context N] [--layers N] [--dim N] [--heads N]
               [--ffn N] [--batch-size N] [--lr X] [--warmup N] [--dropout X] [--seed N] [--eval-every N]
               [--tokenizer character|learned|bpe|tiktoken|wordpiece] [--vocab N] [--vocab-file PATH] [--merges-file PATH]
      generate --model PATH --prompt "..." [--max-new-tokens N] [--temperature T] [--top-k K] [--top-p P]
               [--repetition-penalty R] [--seed S] [--stop TEXT]
      perplexity --model PATH --text PATH
      export-onnx --model PATH --out PATH.onnx
      onnx-run --onnx PATH --inputs PATH.json [--provider cpu|cuda] [--device N] [--fallback]

    Data files are tab-separated with a header row; by default text is the first column and the label the second
    (binary labels 0/1 or true/false; multiclass labels any strings). evaluate, predict and onnx-run print JSON.
    onnx-run's input file maps each model input name to a nested array of numbers (int64 or float).
    """;

if (args.Length == 0) { Console.Error.WriteLine(Usage); Console.Error.WriteLine("A command is required."); return 2; }
if (args[0] is "-h" or "--help" or "help") { Console.WriteLine(Usage); return 0; }
try
{
    return args[0] switch
    {
        "train" => Train(new CommandLine(args.Skip(1), new HashSet<string>())),
        "evaluate" => Evaluate(new CommandLine(args.Skip(1), new HashSet<string>())),
        "predict" => Predict(new CommandLine(args.Skip(1), new HashSet<string>())),
        "train-lm" => TrainLm(new CommandLine(args.Skip(1), new HashSet<string>())),
        "generate" => Generate(new CommandLine(args.Skip(1), new HashSet<string>())),
        "perplexity" => Perplexity(new CommandLine(args.Skip(1), new HashSet<string>())),
        "export-onnx" => ExportOnnx(new CommandLine(args.Skip(1), new HashSet<string>())),
        "onnx-run" => RunOnnx(new CommandLine(args.Skip(1), new HashSet<string> { "--fallback" })),
        _ => throw new UsageException($"Unknown command '{args[0]}'."),
    };
}
catch (UsageException e)
{
    Console.Error.WriteLine($"error: {e.Message} (mlnet-transformers --help lists the commands and options)");
    return 2;
}
catch (Exception e)
{
    // Nothing escapes as a stack trace: one line, exit 1. Parallel work wraps its failure; show the failure itself.
    var inner = e is AggregateException a ? a.Flatten().InnerExceptions[0] : e;
    bool expected = inner is ArgumentException or InvalidDataException or IOException or InvalidOperationException or FormatException
        or NotSupportedException or System.Text.Json.JsonException or Microsoft.ML.OnnxRuntime.OnnxRuntimeException
        or MLNetTransformers.Core.Training.TrainingDivergedException or UnauthorizedAccessException;
    Console.Error.WriteLine(expected ? $"error: {inner.Message}" : $"error ({inner.GetType().Name}): {inner.Message}");
    return 1;
}

static int Train(CommandLine cl)
{
    string task = cl.Require("--task");
    bool binary = task switch { "binary" => true, "multiclass" => false, _ => throw new UsageException($"--task must be binary or multiclass, got '{task}'.") };
    string trainPath = cl.Require("--train"), modelPath = cl.Require("--model");
    if (Directory.Exists(modelPath)) throw new IOException($"--model '{modelPath}' is a directory; give a file path (checked before training, not after).");
    string? validPath = cl.Get("--valid"), textCol = cl.Get("--text-col"), labelCol = cl.Get("--label-col");
    var ml = new MLContext(seed: cl.Int("--seed", 0));
    var labelKind = binary ? DataKind.Boolean : DataKind.String;
    var (train, cols) = TsvData.Load(ml, trainPath, textCol, labelCol, needLabel: true, labelKind);
    IDataView? valid = validPath is null ? null : TsvData.Load(ml, validPath, cols.Text, cols.Label, needLabel: true, labelKind).Data;

    var d = new TransformerClassifierOptions(); // defaults live in the options class, not here
    var tokenizer = new TokenizerOptions
    {
        Kind = (cl.Get("--tokenizer") ?? "learned") switch
        {
            "learned" => TokenizerKind.Learned, "wordpiece" => TokenizerKind.WordPiece, "bpe" => TokenizerKind.Bpe, "tiktoken" => TokenizerKind.Tiktoken,
            var k => throw new UsageException($"--tokenizer must be learned, wordpiece, bpe or tiktoken, got '{k}'."),
        },
        MaxTokens = cl.Int("--max-tokens", d.Tokenizer.MaxTokens), VocabularySize = cl.Int("--vocab", d.Tokenizer.VocabularySize),
        VocabularyFile = cl.Get("--vocab-file"), MergesFile = cl.Get("--merges-file"),
        TiktokenEncoding = cl.Get("--tiktoken-encoding") ?? "cl100k_base",
    };
    using var cancel = new CancellationTokenSource();
    Console.CancelKeyPress += (_, e) => { e.Cancel = true; cancel.Cancel(); Console.Error.WriteLine("\nstopping after this step (Ctrl+C again to kill)..."); };
    var options = new TransformerClassifierOptions
    {
        TextColumnName = cols.Text, LabelColumnName = cols.Label!, Tokenizer = tokenizer,
        Epochs = cl.IntOrNull("--epochs"), BatchSize = cl.Int("--batch-size", d.BatchSize), LearningRate = (float)cl.Double("--lr", d.LearningRate),
        WarmupSteps = cl.Int("--warmup", d.WarmupSteps), WeightDecay = (float)cl.Double("--weight-decay", d.WeightDecay), Dropout = (float)cl.Double("--dropout", d.Dropout),
        Seed = cl.Int("--seed", d.Seed), Layers = cl.Int("--layers", d.Layers), ModelDim = cl.Int("--dim", d.ModelDim), Heads = cl.Int("--heads", d.Heads),
        FeedForwardDim = cl.Int("--ffn", d.FeedForwardDim), EarlyStoppingPatience = cl.IntOrNull("--patience"),
        NGramBuckets = cl.Int("--ngram-buckets", d.NGramBuckets), EnsembleSize = cl.Int("--members", d.EnsembleSize), ValidationFraction = cl.Double("--validation-fraction", d.ValidationFraction),
        TimeBudget = cl.Seconds("--time-budget"),
        ReportEverySteps = 20, CancellationToken = cancel.Token,
        Progress = new LiveProgress(),
    };
    cl.RejectUnknown();
    if (valid is not null) options.ValidationSet = binary ? valid : ml.Transforms.Conversion.MapValueToKey(cols.Label).Fit(train).Transform(valid);

    TransformerClassificationTrainer trainer;
    try
    {
        trainer = binary ? ml.BinaryClassification.Trainers.TransformerClassifier(options) : ml.MulticlassClassification.Trainers.TransformerClassifier(options);
    }
    catch (ArgumentOutOfRangeException e) when (e.ParamName is { } p && TrainFlags.ByOption.TryGetValue(p, out var flag))
    {
        throw new UsageException($"{flag}: {e.Message}"); // an invalid setting is a usage error, named by its flag
    }
    ITransformer model;
    TransformerClassificationTransformer classifier;
    if (binary)
    {
        classifier = trainer.Fit(train);
        model = new TransformerChain<ITransformer>(classifier);
    }
    else
    {
        var keys = ml.Transforms.Conversion.MapValueToKey(cols.Label!).Fit(train);
        classifier = trainer.Fit(keys.Transform(train));
        var toValue = ml.Transforms.Conversion.MapKeyToValue("PredictedLabelValue", "PredictedLabel").Fit(classifier.Transform(keys.Transform(train)));
        model = new TransformerChain<ITransformer>(keys, classifier, toValue);
    }
    TransformerModel.Save(ml, model, train.Schema, modelPath);
    var s = classifier.TrainingSummary!;
    Console.WriteLine(JsonSerializer.Serialize(new
    {
        model = modelPath, task, steps = s.Steps, stop_reason = s.StopReason, train_seconds = Math.Round(s.Duration.TotalSeconds, 1),
        best_validation_accuracy = s.BestValidationAccuracy is { } a ? Math.Round(a, 4) : (double?)null, parameters = classifier.Model.Parameters.Count,
    }));
    return 0;
}

static int Evaluate(CommandLine cl)
{
    string modelPath = cl.Require("--model"), testPath = cl.Require("--test");
    string? textCol = cl.Get("--text-col"), labelCol = cl.Get("--label-col");
    cl.RejectUnknown();
    var ml = new MLContext(seed: 0);
    var model = TransformerModel.Load(ml, modelPath, out var schema);
    var classifier = Classifier(model, modelPath);
    string trainedLabel = schema.First(c => !c.IsHidden && c.Name != classifier.TextColumnName).Name;
    var (test, cols) = TsvData.Load(ml, testPath, textCol, labelCol, needLabel: true, classifier.IsBinary ? DataKind.Boolean : DataKind.String);
    if (!classifier.IsBinary)
    {
        // A class the model never saw would map to a missing key and score as all-zero metrics: refuse it instead.
        var known = classifier.ClassNames.ToHashSet(StringComparer.Ordinal);
        var labels = test.GetColumn<string>(cols.Label!).ToList();
        int row = labels.FindIndex(v => !known.Contains(v));
        if (row >= 0)
            throw new InvalidDataException($"'{testPath}', data row {row + 1}: label '{labels[row]}' is not one of the classes the model was trained on ({string.Join(", ", classifier.ClassNames)}).");
    }
    // The model reads the column names it was trained with.
    var data = Rename(ml, test, cols.Text, classifier.TextColumnName, cols.Label!, trainedLabel);
    var scored = model.Transform(data);
    JsonObject result;
    if (classifier.IsBinary)
    {
        var m = ml.BinaryClassification.Evaluate(scored, trainedLabel);
        result = new JsonObject { ["accuracy"] = Math.Round(m.Accuracy, 4), ["auc"] = Math.Round(m.AreaUnderRocCurve, 4), ["f1"] = Math.Round(m.F1Score, 4),
            ["precision"] = Math.Round(m.PositivePrecision, 4), ["recall"] = Math.Round(m.PositiveRecall, 4) };
    }
    else
    {
        var m = ml.MulticlassClassification.Evaluate(scored, trainedLabel);
        result = new JsonObject { ["micro_accuracy"] = Math.Round(m.MicroAccuracy, 4), ["macro_accuracy"] = Math.Round(m.MacroAccuracy, 4), ["log_loss"] = Math.Round(m.LogLoss, 4) };
    }
    long rows = 0;
    using (var cursor = scored.GetRowCursor(Array.Empty<DataViewSchema.Column>())) while (cursor.MoveNext()) rows++;
    result["rows"] = rows;
    Console.WriteLine(result.ToJsonString());
    return 0;
}

static int Predict(CommandLine cl)
{
    string modelPath = cl.Require("--model"), text = cl.Require("--text");
    cl.RejectUnknown();
    var ml = new MLContext(seed: 0);
    var model = TransformerModel.Load(ml, modelPath, out _);
    var classifier = Classifier(model, modelPath);
    var probs = classifier.PredictProbabilities(text);
    int best = Array.IndexOf(probs, probs.Max());
    var byClass = new JsonObject();
    for (int i = 0; i < probs.Length; i++) byClass[classifier.IsBinary ? (i == 1 ? "true" : "false") : classifier.ClassNames[i]] = Math.Round(probs[i], 6);
    JsonNode label = classifier.IsBinary ? JsonValue.Create(best == 1) : JsonValue.Create(classifier.ClassNames[best]);
    Console.WriteLine(new JsonObject { ["label"] = label, ["probabilities"] = byClass }.ToJsonString());
    return 0;
}

static int TrainLm(CommandLine cl)
{
    string textPath = cl.Require("--text"), modelPath = cl.Require("--model");
    using var cancel = new CancellationTokenSource();
    Console.CancelKeyPress += (_, e) => { e.Cancel = true; cancel.Cancel(); Console.Error.WriteLine("\nstopping after this step..."); };
    var options = new LanguageModelOptions
    {
        ContextLength = cl.Int("--context", 128), Layers = cl.Int("--layers", 4), ModelDim = cl.Int("--dim", 128), Heads = cl.Int("--heads", 4),
        FeedForwardDim = cl.Int("--ffn", 512), BatchSize = cl.Int("--batch-size", 32), MaxSteps = cl.Int("--steps", 2000),
        LearningRate = (float)cl.Double("--lr", 1e-3), WarmupSteps = cl.Int("--warmup", 100), Dropout = (float)cl.Double("--dropout", 0.1),
        Seed = cl.Int("--seed", 0), EvaluateEverySteps = cl.Int("--eval-every", 200), CheckpointPath = cl.Get("--checkpoint"),
        TimeBudget = cl.Seconds("--time-budget"),
        Tokenizer = new TokenizerOptions
        {
            Kind = (cl.Get("--tokenizer") ?? "character") switch
            {
                "character" => TokenizerKind.Character, "learned" => TokenizerKind.Learned, "bpe" => TokenizerKind.Bpe,
                "tiktoken" => TokenizerKind.Tiktoken, "wordpiece" => TokenizerKind.WordPiece,
                var k => throw new UsageException($"--tokenizer must be character, learned, bpe, tiktoken or wordpiece, got '{k}'."),
            },
            VocabularySize = cl.Int("--vocab", 8000), VocabularyFile = cl.Get("--vocab-file"), MergesFile = cl.Get("--merges-file"), LowerCase = false,
        },
        CancellationToken = cancel.Token,
        Progress = new LiveLmProgress(),
    };
    cl.RejectUnknown();
    var ml = new MLContext(seed: options.Seed);
    var lm = ml.Transforms.Text.TrainLanguageModel(options).FitFile(textPath);
    lm.Save(modelPath);
    var s = lm.TrainingSummary!;
    Console.WriteLine(JsonSerializer.Serialize(new
    {
        model = modelPath, steps = s.Steps, stop_reason = s.StopReason, train_seconds = Math.Round(s.Duration.TotalSeconds, 1),
        best_validation_loss = s.BestValidationLoss is { } l ? Math.Round(l, 4) : (double?)null,
        best_validation_perplexity = s.BestValidationPerplexity is { } p ? Math.Round(p, 3) : (double?)null, parameters = lm.Model.Parameters.Count,
    }));
    return 0;
}

static int Generate(CommandLine cl)
{
    string modelPath = cl.Require("--model"), prompt = cl.Require("--prompt");
    var lm = LanguageModel(modelPath);
    var options = lm.Generation with
    {
        MaxNewTokens = cl.Int("--max-new-tokens", lm.Generation.MaxNewTokens), Temperature = (float)cl.Double("--temperature", lm.Generation.Temperature),
        TopK = cl.Int("--top-k", lm.Generation.TopK), TopP = (float)cl.Double("--top-p", lm.Generation.TopP),
        RepetitionPenalty = (float)cl.Double("--repetition-penalty", lm.Generation.RepetitionPenalty), Seed = (ulong)cl.Int("--seed", (int)lm.Generation.Seed),
    };
    if (options.MaxNewTokens is <= 0 or > GenerationOptions.MaxNewTokensLimit)
        throw new UsageException($"--max-new-tokens must be between 1 and {GenerationOptions.MaxNewTokensLimit}, got {options.MaxNewTokens}.");
    var stop = cl.Get("--stop") is { } st ? new[] { st.Replace("\\n", "\n") } : null;
    cl.RejectUnknown();
    // Tokens are printed as they come; Ctrl+C ends generation after the current token and still prints the JSON.
    using var cancel = new CancellationTokenSource();
    Console.CancelKeyPress += (_, e) => { if (!cancel.IsCancellationRequested) { e.Cancel = true; cancel.Cancel(); } };
    Console.Write(prompt);
    string text = lm.Generate(prompt, options, stop, piece => { Console.Write(piece); Console.Out.Flush(); }, cancel.Token);
    Console.WriteLine();
    Console.WriteLine(new JsonObject { ["prompt"] = prompt, ["generated"] = text }.ToJsonString());
    return 0;
}

static int Perplexity(CommandLine cl)
{
    string modelPath = cl.Require("--model"), textPath = cl.Require("--text");
    cl.RejectUnknown();
    if (!File.Exists(textPath)) throw new FileNotFoundException($"Text file '{textPath}' does not exist.", textPath);
    var (loss, ppl, tokens) = LanguageModel(modelPath).Perplexity(new[] { File.ReadAllText(textPath) });
    Console.WriteLine(new JsonObject { ["loss"] = Math.Round(loss, 4), ["perplexity"] = Math.Round(ppl, 4), ["tokens"] = tokens }.ToJsonString());
    return 0;
}

static LanguageModelTransformer LanguageModel(string path) =>
    TransformerModel.Parts(TransformerModel.Load(new MLContext(), path, out _)).OfType<LanguageModelTransformer>().FirstOrDefault()
    ?? throw new InvalidDataException($"Model '{path}' holds no language model (train one with train-lm).");

static int ExportOnnx(CommandLine cl)
{
    string modelPath = cl.Require("--model"), outPath = cl.Require("--out");
    cl.RejectUnknown();
    static string Real(string p) => new FileInfo(Path.GetFullPath(p)) is { LinkTarget: not null } link
        ? link.ResolveLinkTarget(returnFinalTarget: true)?.FullName ?? link.FullName : Path.GetFullPath(p);
    if (Real(modelPath) == Real(outPath)) throw new UsageException($"--out '{outPath}' is the input model itself; give another path.");
    var ml = new MLContext(seed: 0);
    var model = TransformerModel.Load(ml, modelPath, out _);
    ml.Model.ExportTransformerToOnnx(model, outPath);
    Console.WriteLine(new JsonObject { ["onnx"] = outPath, ["bytes"] = new FileInfo(outPath).Length, ["opset"] = OnnxExporter.Opset }.ToJsonString());
    return 0;
}

static int RunOnnx(CommandLine cl)
{
    string onnxPath = cl.Require("--onnx"), inputsPath = cl.Require("--inputs");
    var provider = (cl.Get("--provider") ?? "cpu") switch
    {
        "cpu" => OnnxProvider.Cpu, "cuda" => OnnxProvider.Cuda,
        var p => throw new UsageException($"--provider must be cpu or cuda, got '{p}'."),
    };
    var execution = new OnnxExecutionOptions { Provider = provider, DeviceId = cl.Int("--device", 0), FallbackToCpu = cl.Has("--fallback"), Log = m => Console.Error.WriteLine(m) };
    cl.RejectUnknown();
    if (!File.Exists(inputsPath)) throw new FileNotFoundException($"Inputs file '{inputsPath}' does not exist.", inputsPath);
    const long maxInputs = 64L << 20; // a bound on the JSON read and the tensors built from it
    if (new FileInfo(inputsPath).Length > maxInputs)
        throw new InvalidDataException($"Inputs file '{inputsPath}' is {new FileInfo(inputsPath).Length:N0} bytes; onnx-run reads at most {maxInputs:N0}.");
    var inputs = JsonNode.Parse(File.ReadAllText(inputsPath)) as JsonObject ?? throw new InvalidDataException($"'{inputsPath}' must hold a JSON object mapping input names to arrays.");
    OnnxImporter.Verify(onnxPath); // exports of this library carry a checksum of their graph and weights
    using var session = OnnxSessionFactory.Create(onnxPath, execution);
    Console.WriteLine(OnnxRun.Run(session, inputs, $"'{inputsPath}'").ToJsonString());
    return 0;
}

static TransformerClassificationTransformer Classifier(ITransformer model, string path) =>
    TransformerModel.Parts(model).OfType<TransformerClassificationTransformer>().FirstOrDefault()
    ?? throw new InvalidDataException($"Model '{path}' holds no transformer classifier.");

static IDataView Rename(MLContext ml, IDataView data, string text, string wantText, string label, string wantLabel)
{
    IEstimator<ITransformer> chain = new EstimatorChain<ITransformer>();
    if (text != wantText) chain = chain.Append(ml.Transforms.CopyColumns(wantText, text));
    if (label != wantLabel) chain = chain.Append(ml.Transforms.CopyColumns(wantLabel, label));
    return chain.Fit(data).Transform(data);
}

/// <summary>A live progress line on stderr (rewritten in place), kept at each epoch end.</summary>
sealed class LiveProgress : IProgress<ClassificationTrainingProgress>
{
    public void Report(ClassificationTrainingProgress p)
    {
        string line = p.ToString().PadRight(110);
        if (p.EndOfEpoch) Console.Error.WriteLine("\r" + line);
        else Console.Error.Write("\r" + line);
    }
}

/// <summary>A live progress line for language-model training.</summary>
sealed class LiveLmProgress : IProgress<LanguageModelTrainingProgress>
{
    public void Report(LanguageModelTrainingProgress p) => Console.Error.WriteLine(p.ToString());
}

/// <summary>The train command's flags.</summary>
internal static class TrainFlags
{
    /// <summary>The train command's flag for each <see cref="TransformerClassifierOptions"/> (and tokenizer) setting.</summary>
    public static readonly Dictionary<string, string> ByOption = new()
    {
        ["WarmupSteps"] = "--warmup", ["LearningRate"] = "--lr", ["Dropout"] = "--dropout", ["WeightDecay"] = "--weight-decay",
        ["Layers"] = "--layers", ["ModelDim"] = "--dim", ["Heads"] = "--heads", ["FeedForwardDim"] = "--ffn", ["Epochs"] = "--epochs",
        ["BatchSize"] = "--batch-size", ["EarlyStoppingPatience"] = "--patience", ["NGramBuckets"] = "--ngram-buckets",
        ["EnsembleSize"] = "--members", ["ValidationFraction"] = "--validation-fraction", ["MaxTokens"] = "--max-tokens",
        ["VocabularySize"] = "--vocab", ["TimeBudget"] = "--time-budget",
    };
}
