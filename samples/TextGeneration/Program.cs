// Train a small GPT-style character model, watch a progress bar, save the loss curve as a PNG, generate samples,
// then export to ONNX and check that greedy generation through ONNX Runtime produces the same text.
//
//   dotnet run -c Release --project samples/TextGeneration                          built-in sonnets, about a minute
//   dotnet run -c Release --project samples/TextGeneration -- --text ../shared/data/tinyshakespeare/input.txt --time-budget 900
//   options: --steps N --time-budget SECONDS --context N --layers N --dim N --plot loss.png --out DIR
using System.Text.Json;
using Microsoft.ML.OnnxRuntime.Tensors;
using Microsoft.ML.OnnxRuntime;
using Microsoft.ML;
using MLNetTransformers.Core.Models;
using MLNetTransformers.LanguageModeling;
using MLNetTransformers.Onnx;
using MLNetTransformers.Training;
using MLNetTransformers;

var arg = new CommandArguments(args, counts: ["--steps", "--context", "--layers", "--dim"], numbers: ["--time-budget"], texts: ["--text", "--out", "--plot"]);
if (arg.Problem() is { } problem) return CommandArguments.Fail(problem);
if (arg.Get("--text") is { } given && !File.Exists(given)) return CommandArguments.Fail($"--text: file '{given}' does not exist");

string? textPath = arg.Get("--text");
string text = textPath is null ? Sonnets.Text : File.ReadAllText(textPath);
string outDir = arg.Get("--out") ?? Path.Combine(Path.GetTempPath(), "text-generation");
Directory.CreateDirectory(outDir);
bool builtIn = textPath is null;

var trainLoss = new List<(double Step, double Loss)>();
var validLoss = new List<(double Step, double Loss)>();
int maxSteps = arg.GetInt("--steps", builtIn ? 600 : 100_000);
var options = new LanguageModelOptions
{
    ContextLength = arg.GetInt("--context", builtIn ? 64 : 128), Layers = arg.GetInt("--layers", builtIn ? 3 : 4), ModelDim = arg.GetInt("--dim", builtIn ? 96 : 256),
    Heads = 4, FeedForwardDim = 4 * arg.GetInt("--dim", builtIn ? 96 : 256), BatchSize = 32, MaxSteps = maxSteps,
    LearningRate = builtIn ? 3e-3f : 2e-3f, WarmupSteps = 100, Dropout = builtIn ? 0f : 0.1f, ValidateEverySteps = builtIn ? 25 : 100, Seed = 1,
    TimeBudget = arg.Get("--time-budget") is null ? null : TimeSpan.FromSeconds(arg.GetDouble("--time-budget", 0)),
    Progress = new ProgressBar(maxSteps, trainLoss, validLoss),
};
Console.WriteLine($"Corpus: {text.Length:N0} characters from {textPath ?? "the built-in sonnets"}");
var ml = new MLContext(seed: 1);
LanguageModelEstimator estimator;
try { estimator = ml.Transforms.Text.TrainLanguageModel(options); } // checks the settings before anything trains
catch (ArgumentException e) { return CommandArguments.Fail(e.Message.ReplaceLineEndings(" ")); }
var lm = estimator.FitFile(WriteTemp(text));
Console.WriteLine();
var summary = lm.TrainingSummary!;
Console.WriteLine($"{lm.Model.Parameters.Count:N0} parameters, {summary.Steps} steps in {summary.Duration.TotalSeconds:F0} s ({summary.StopReason}); " +
                  $"best validation loss {summary.BestValidationLoss:F3} nats/char (perplexity {summary.BestValidationPerplexity:F2})");

// Loss curve.
var plot = new ScottPlot.Plot();
var tl = plot.Add.Scatter(trainLoss.Select(p => p.Step).ToArray(), trainLoss.Select(p => p.Loss).ToArray());
tl.LegendText = "training";
if (validLoss.Count > 0)
{
    var vl = plot.Add.Scatter(validLoss.Select(p => p.Step).ToArray(), validLoss.Select(p => p.Loss).ToArray());
    vl.LegendText = "validation (held-out 10%)";
}
plot.XLabel("step");
plot.YLabel("cross-entropy (nats/char)");
plot.Title("Character-level transformer LM");
plot.ShowLegend();
string plotPath = arg.Get("--plot") ?? Path.Combine(outDir, "loss.png");
plot.SavePng(plotPath, 900, 520);
Console.WriteLine($"Loss curve: {plotPath}");

// Samples.
string prompt = builtIn ? "Shall I compare thee" : "ROMEO:";
foreach (var (temperature, seed) in new[] { (0.8f, 1UL), (1.0f, 2UL) })
{
    var sample = lm.Generate(prompt, new GenerationOptions { MaxNewTokens = 200, Temperature = temperature, TopK = 40, Seed = seed });
    Console.WriteLine($"--- temperature {temperature}, seed {seed} ---\n{prompt}{sample}\n");
}

// ONNX: greedy generation through a plain InferenceSession must give the managed engine's text.
string onnxPath = Path.Combine(outDir, "lm.onnx");
ml.Model.ExportTransformerToOnnx(lm, onnxPath);
int newTokens = Math.Min(60, lm.Model.Config.MaxLength - prompt.Length - 2); // stay inside the context: both sides see the same window
var greedy = new GenerationOptions { MaxNewTokens = newTokens, Temperature = 0 };
string managed = lm.Generate(prompt, greedy);
using var session = new InferenceSession(onnxPath);
var ids = new List<long> { lm.Tokenizer.SepId };
ids.AddRange(lm.Tokenizer.EncodeAll(prompt).Select(i => (long)i));
var generated = new List<int>();
int vocab = lm.Model.Config.VocabSize;
for (int step = 0; step < newTokens; step++)
{
    int n = ids.Count;
    using var r = session.Run(new[]
    {
        NamedOnnxValue.CreateFromTensor("input_ids", new DenseTensor<long>(ids.ToArray(), new[] { 1, n })),
        NamedOnnxValue.CreateFromTensor("attention_mask", new DenseTensor<long>(Enumerable.Repeat(1L, n).ToArray(), new[] { 1, n })),
    });
    var logits = r[0].AsTensor<float>();
    int best = 0;
    for (int v = 1; v < vocab; v++) if (logits[0, n - 1, v] > logits[0, n - 1, best]) best = v;
    generated.Add(best);
    ids.Add(best);
}
string viaOnnx = lm.Tokenizer.Decode(generated);
Console.WriteLine($"Greedy, managed engine (KV cache): {prompt}{managed}");
Console.WriteLine($"Greedy, ONNX Runtime:              {prompt}{viaOnnx}");
Console.WriteLine(managed == viaOnnx ? "Identical." : "DIFFERENT.");

Console.WriteLine(JsonSerializer.Serialize(new
{
    steps = summary.Steps, train_seconds = Math.Round(summary.Duration.TotalSeconds, 1),
    best_validation_loss = summary.BestValidationLoss is { } l ? Math.Round(l, 4) : (double?)null,
    loss_plot = plotPath, onnx = onnxPath, onnx_greedy_identical = managed == viaOnnx,
}));
return managed == viaOnnx ? 0 : 1;

static string WriteTemp(string text)
{
    string path = Path.Combine(Path.GetTempPath(), $"corpus-{Guid.NewGuid():N}.txt");
    File.WriteAllText(path, text);
    return path;
}

/// <summary>A one-line progress bar that also records the loss curve.</summary>
sealed class ProgressBar(int maxSteps, List<(double, double)> train, List<(double, double)> valid) : IProgress<TrainingProgress>
{
    public void Report(TrainingProgress p)
    {
        train.Add((p.Step, p.TrainLoss));
        if (p.ValidationLoss is { } v) valid.Add((p.Step, v));
        long total = Math.Min(p.TotalSteps, maxSteps);
        int filled = (int)(30.0 * Math.Min(p.Step, total) / Math.Max(1, total));
        Console.Write($"\r[{new string('#', filled)}{new string('.', 30 - filled)}] {p}".PadRight(120));
    }
}
