// Train a German→English encoder-decoder on Multi30k (the transformer, or a GRU encoder-decoder with or without
// attention), watch a progress bar, score the validation set with BLEU (sacreBLEU 13a) and chrF overall and by source
// length, print example translations and save the model; for the transformer, export it to ONNX and translate with a
// greedy loop over two plain InferenceSessions.
//
//   dotnet run -c Release --project samples/Translation                                  10 minutes of training
//   dotnet run -c Release --project samples/Translation -- --time-budget 1800 --beam 4   the README's figure
//   dotnet run -c Release --project samples/Translation -- --arch gru-attention --time-budget 1800 --out runs/gru-attention
//   dotnet run -c Release --project samples/Translation -- --compare runs/*/results.json --plot bleu-by-length.png
//   options: --data DIR (default ../shared/data/multi30k) --time-budget SECONDS --beam N --arch transformer|gru-attention|gru
//            --attention additive|dot|general --layers N --dim N --embedding-dim N --vocab N --tie-embeddings --out DIR --seed N
//            --model PATH (evaluate a saved model instead of training one)
using System.Diagnostics;
using System.Text.Json;
using Microsoft.ML;
using Microsoft.ML.OnnxRuntime;
using Microsoft.ML.OnnxRuntime.Tensors;
using MLNetTransformers;
using MLNetTransformers.Core.Layers;
using MLNetTransformers.Core.Models;
using MLNetTransformers.Training;
using MLNetTransformers.Metrics;
using MLNetTransformers.Onnx;
using MLNetTransformers.Tokenization;
using MLNetTransformers.Translation;

var arg = new CommandArguments(args, flags: ["--tie-embeddings"], counts: ["--beam", "--layers", "--dim", "--embedding-dim", "--vocab", "--seed"],
    numbers: ["--time-budget"], texts: ["--data", "--arch", "--attention", "--out", "--model", "--plot"], lists: ["--compare"]);
if (arg.Problem() is { } problem) return CommandArguments.Fail(problem);

if (arg.Has("--compare")) return Compare(arg.GetList("--compare"), arg.Get("--plot"));

var architectures = new Dictionary<string, Seq2SeqArchitecture>
{
    ["transformer"] = Seq2SeqArchitecture.Transformer, ["gru-attention"] = Seq2SeqArchitecture.GruAttention, ["gru"] = Seq2SeqArchitecture.Gru,
};
string arch = arg.Get("--arch") ?? "transformer";
if (!architectures.TryGetValue(arch, out var architecture)) return CommandArguments.Fail($"--arch: unknown architecture '{arch}'; known: {string.Join(", ", architectures.Keys)}.");
if (!Enum.TryParse<RnnAttentionKind>(arg.Get("--attention") ?? "additive", ignoreCase: true, out var attention) || !Enum.IsDefined(attention))
    return CommandArguments.Fail($"--attention: unknown attention '{arg.Get("--attention")}'; known: additive, dot, general.");
int beam = arg.GetInt("--beam", 4);
if (beam < 1) return CommandArguments.Fail($"--beam: the beam width must be at least 1, got {beam}.");
double budget = arg.GetDouble("--time-budget", 600);
string dataDir = arg.Get("--data") ?? Path.Combine("..", "shared", "data", "multi30k");
string outDir = arg.Get("--out") ?? Path.Combine(Path.GetTempPath(), "translation");
string? savedModel = arg.Get("--model");
if (savedModel is not null && !File.Exists(savedModel)) return CommandArguments.Fail($"--model: '{savedModel}' does not exist.");
string[] files = { "train.de", "train.en", "val.de", "val.en" };
if (files.FirstOrDefault(f => !File.Exists(Path.Combine(dataDir, f))) is { } missing)
    return CommandArguments.Fail($"--data: '{Path.Combine(dataDir, missing)}' is missing; point --data at a directory holding {string.Join(", ", files)} (Multi30k).");
Directory.CreateDirectory(outDir);

string[] Lines(string f) => File.ReadAllLines(Path.Combine(dataDir, f));
var (trainDe, trainEn, valDe, valEn) = (Lines("train.de"), Lines("train.en"), Lines("val.de"), Lines("val.en"));
if (trainDe.Length != trainEn.Length || valDe.Length != valEn.Length)
    return CommandArguments.Fail($"--data: train.de/train.en hold {trainDe.Length}/{trainEn.Length} lines and val.de/val.en {valDe.Length}/{valEn.Length}; parallel files need equal counts.");
var ml = new MLContext(seed: 1);
var train = ml.Data.LoadFromEnumerable(trainDe.Zip(trainEn, (s, t) => new Pair { Source = s, Target = t }));
Seq2SeqTransformer translator;
if (savedModel is not null)
{
    translator = TransformerModel.Parts(TransformerModel.Load(ml, savedModel, out _)).OfType<Seq2SeqTransformer>().FirstOrDefault()
        ?? throw new InvalidDataException($"'{savedModel}' holds no sequence-to-sequence model.");
    translator = translator.WithDecoding(translator.Decoding with { BeamWidth = beam });
    (architecture, attention) = (translator.Model.Config.Architecture, translator.Model.Config.Attention);
    Console.WriteLine($"Evaluating {savedModel} ({architecture}) on {valDe.Length:N0} Multi30k validation pairs.");
}
else
{
    Console.WriteLine($"Multi30k de→en, {arch}: {trainDe.Length:N0} training pairs (10% held out for early stopping), {valDe.Length:N0} validation pairs scored; {budget:F0} s of training.");
    bool rnn = architecture != Seq2SeqArchitecture.Transformer;
    int dim = arg.GetInt("--dim", 256);
    var options = new Seq2SeqOptions
    {
        Architecture = architecture, Attention = attention, EmbeddingDim = arg.GetInt("--embedding-dim", 0),
        Layers = arg.GetInt("--layers", 3), ModelDim = dim, Heads = 4, FeedForwardDim = 4 * dim, Dropout = rnn ? 0.2f : 0.1f, LabelSmoothing = 0.1f,
        BatchSize = 64, LearningRate = 1e-3f, Seed = arg.GetInt("--seed", 1), TimeBudget = TimeSpan.FromSeconds(budget),
        TiedEmbeddings = arg.Has("--tie-embeddings"),
        Tokenizer = new TokenizerOptions { MaxTokens = 48, VocabularySize = arg.GetInt("--vocab", 10000), LowerCase = false }, // cased: BLEU is scored cased
        Decoding = new Seq2SeqDecodingOptions { BeamWidth = beam },
        Progress = new ProgressBar(budget),
    };
    Seq2SeqTrainer trainer;
    try { trainer = ml.Transforms.Text.TrainSeq2Seq(options); } // checks the settings before anything trains
    catch (ArgumentException e) { return CommandArguments.Fail(e.Message.ReplaceLineEndings(" ")); }
    translator = trainer.Fit(train);
    Console.WriteLine();
    var outcome = translator.TrainingOutcome!;
    Console.WriteLine($"{translator.Model.Parameters.Count:N0} parameters, {outcome.Steps:N0} steps in {outcome.Elapsed.TotalSeconds:F0} s ({outcome.StopReason}); " +
                      $"best held-out loss {outcome.Best?.Loss:F3}");
}

var clock = Stopwatch.StartNew();
var hypotheses = translator.Translate(valDe).Select(h => h[0].Text).ToArray();
var metrics = TranslationMetrics.Compute(hypotheses, valEn);
Console.WriteLine($"Validation ({metrics.Sentences:N0} sentences, beam {beam}, decoded in {clock.Elapsed.TotalSeconds:F0} s): " +
                  $"BLEU {metrics.Bleu:F2}  chrF {metrics.ChrF:F2}  [{metrics.BleuSignature}]");

// BLEU by source length (words): the bottleneck of one context vector shows as a fall on long sentences.
int[] edges = { 8, 12, 16, 20 }; // Multi30k captions are short: about 200 validation sentences per bucket
string Bucket(string de)
{
    int words = de.Split(' ', StringSplitOptions.RemoveEmptyEntries).Length;
    int i = Array.FindIndex(edges, e => words <= e);
    return i < 0 ? $"> {edges[^1]}" : i == 0 ? $"≤ {edges[0]}" : $"{edges[i - 1] + 1}-{edges[i]}";
}
var buckets = Enumerable.Range(0, valDe.Length).GroupBy(i => Bucket(valDe[i])).OrderBy(g => g.Min(i => valDe[i].Split(' ').Length))
    .Select(g => new BucketScore(g.Key, g.Count(), Math.Round(TranslationMetrics.Compute(g.Select(i => hypotheses[i]).ToArray(), g.Select(i => valEn[i]).ToArray()).Bleu, 2)))
    .ToArray();
Console.WriteLine("\nBLEU by source length (words):");
foreach (var b in buckets) Console.WriteLine($"  {b.Bucket,-6} {b.Sentences,5} sentences  BLEU {b.Bleu,6:F2}");
var result = new RunResult(architecture == Seq2SeqArchitecture.GruAttention ? $"{arch} ({attention.ToString().ToLowerInvariant()})" : architecture.ToString().ToLowerInvariant(),
    translator.Model.Parameters.Count, translator.TrainingOutcome?.Steps, translator.TrainingOutcome?.Elapsed.TotalSeconds is { } sec ? Math.Round(sec) : null,
    beam, Math.Round(metrics.Bleu, 2), Math.Round(metrics.ChrF, 2), buckets);
string resultsPath = Path.Combine(outDir, "results.json");
File.WriteAllText(resultsPath, JsonSerializer.Serialize(result, new JsonSerializerOptions { WriteIndented = true, Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping }));
Console.WriteLine($"Results: {resultsPath}");

foreach (int i in new[] { 0, 1, 2, 100, 500 }.Where(i => i < valDe.Length))
    Console.WriteLine($"\n  de:  {valDe[i]}\n  ref: {valEn[i]}\n  out: {hypotheses[i]}");

if (savedModel is null)
{
    string modelPath = Path.Combine(outDir, "de-en.mlnt");
    TransformerModel.Save(ml, translator, train.Schema, modelPath);
    Console.WriteLine($"\nSaved {modelPath}; translate with: dotnet run --project src/MLNetTransformers.Cli -- translate --model {modelPath} --text \"Ein Hund rennt.\"");
}
if (architecture != Seq2SeqArchitecture.Transformer) return 0; // ONNX export covers the transformer

// ONNX: export the two graphs and decode greedily with nothing but two InferenceSessions (onnx/README.md).
string onnxDir = Path.Combine(outDir, "de-en-onnx");
ml.Model.ExportSeq2SeqToOnnx(translator, onnxDir);
var greedy = translator.WithDecoding(new Seq2SeqDecodingOptions { BeamWidth = 1 });
var network = (TransformerSeq2Seq)translator.Model;
using var encoderSession = new InferenceSession(Path.Combine(onnxDir, Seq2SeqOnnxGraphs.EncoderFileName));
using var decoderSession = new InferenceSession(Path.Combine(onnxDir, Seq2SeqOnnxGraphs.DecoderFileName));
int agree = 0, shown = 5;
for (int i = 0; i < shown; i++)
{
    string viaOnnx = GreedyWithOnnxRuntime(encoderSession, decoderSession, translator.SourceTokenizer, translator.Tokenizer, network.Config, valDe[i]);
    if (viaOnnx == greedy.Translate(valDe[i])[0].Text) agree++;
    Console.WriteLine($"  onnx: {viaOnnx}");
}
Console.WriteLine($"ONNX Runtime greedy loop ({onnxDir}): {agree} of {shown} translations equal the managed engine's greedy ones.");
return 0;

static string GreedyWithOnnxRuntime(InferenceSession encoder, InferenceSession decoder, TextTokenizer sourceTokenizer, TextTokenizer targetTokenizer,
    Seq2SeqConfig config, string text)
{
    int max = sourceTokenizer.MaxTokens, hd = config.ModelDim / config.Heads;
    var ids = new int[max];
    int n = sourceTokenizer.Encode(text, ids, new int[max]);
    var sourceIds = new DenseTensor<long>(ids.Take(n).Select(x => (long)x).ToArray(), new[] { 1, n });
    var sourceMask = new DenseTensor<long>(Enumerable.Repeat(1L, n).ToArray(), new[] { 1, n });
    using var encoded = encoder.Run(new[] { NamedOnnxValue.CreateFromTensor("input_ids", sourceIds), NamedOnnxValue.CreateFromTensor("attention_mask", sourceMask) });
    var cross = encoded.Where(r => r.Name.StartsWith("present.", StringComparison.Ordinal))
        .ToDictionary(r => "past_key_values." + r.Name["present.".Length..], r => r.AsTensor<float>().ToDenseTensor());
    var past = new Dictionary<string, DenseTensor<float>>();               // self-attention keys/values, empty at first
    for (int i = 0; i < config.Layers; i++)
        foreach (var kv in new[] { "key", "value" }) past[$"past_key_values.{i}.decoder.{kv}"] = new DenseTensor<float>(new[] { 1, config.Heads, 0, hd });
    var output = new List<int>();
    long next = targetTokenizer.ClsId;                                      // the start token
    for (int step = 0; step < 2 * n + 10 && step < config.MaxLength - 1; step++)
    {
        var inputs = new List<NamedOnnxValue>
        {
            NamedOnnxValue.CreateFromTensor("input_ids", new DenseTensor<long>(new[] { next }, new[] { 1, 1 })),
            NamedOnnxValue.CreateFromTensor("encoder_attention_mask", sourceMask),
        };
        inputs.AddRange(cross.Concat(past).Select(p => NamedOnnxValue.CreateFromTensor(p.Key, p.Value)));
        using var results = decoder.Run(inputs);
        foreach (var r in results.Where(r => r.Name.StartsWith("present.", StringComparison.Ordinal)))
            past["past_key_values." + r.Name["present.".Length..]] = r.AsTensor<float>().ToDenseTensor();
        var logits = results.First(r => r.Name == "logits").AsTensor<float>().ToArray();  // [1, 1, vocab]
        next = Array.IndexOf(logits, logits.Max());
        if (next == targetTokenizer.SepId) break;                           // the end token
        output.Add((int)next);
    }
    return targetTokenizer.Decode(output);
}

// Results of several runs (their results.json) side by side: a table, and BLEU by source length as a line plot.
static int Compare(string[] paths, string? plotPath)
{
    if (paths.Length == 0) return CommandArguments.Fail("--compare: give one or more results.json files");
    if (paths.FirstOrDefault(p => !File.Exists(p)) is { } missing) return CommandArguments.Fail($"--compare: '{missing}' does not exist");
    var runs = paths.Select(p => JsonSerializer.Deserialize<RunResult>(File.ReadAllText(p))!).ToArray();
    var labels = runs[0].Buckets.Select(b => b.Bucket).ToArray();
    Console.WriteLine($"| model | parameters | steps | BLEU | chrF | {string.Join(" | ", labels.Select(l => $"BLEU, {l} words"))} |");
    Console.WriteLine($"|---|---|---|---|---|{string.Concat(labels.Select(_ => "---|"))}");
    foreach (var r in runs)
        Console.WriteLine($"| {r.Model} | {r.Parameters:N0} | {r.Steps:N0} | {r.Bleu:F2} | {r.ChrF:F2} | " +
                          string.Join(" | ", labels.Select(l => r.Buckets.FirstOrDefault(b => b.Bucket == l) is { } b ? $"{b.Bleu:F2} ({b.Sentences})" : "")) + " |");
    if (plotPath is null) return 0;
    var plot = new ScottPlot.Plot();
    var xs = Enumerable.Range(0, labels.Length).Select(i => (double)i).ToArray();
    foreach (var r in runs)
    {
        var line = plot.Add.Scatter(xs, labels.Select(l => r.Buckets.FirstOrDefault(b => b.Bucket == l)?.Bleu ?? double.NaN).ToArray());
        line.LegendText = r.Model;
    }
    plot.Axes.Bottom.SetTicks(xs, labels);
    plot.XLabel("source sentence length (words)");
    plot.YLabel("BLEU (sacreBLEU 13a, cased)");
    plot.Title("Multi30k de→en validation BLEU by source length");
    plot.Axes.SetLimitsY(0, runs.SelectMany(r => r.Buckets).Max(b => b.Bleu) + 5); // from 0: the fall is read at its true size
    plot.ShowLegend(ScottPlot.Alignment.LowerLeft);
    plot.SavePng(plotPath, 900, 520);
    Console.WriteLine($"Plot: {plotPath}");
    return 0;
}

sealed record BucketScore(string Bucket, int Sentences, double Bleu);
sealed record RunResult(string Model, int Parameters, long? Steps, double? TrainSeconds, int Beam, double Bleu, double ChrF, BucketScore[] Buckets);

sealed class Pair
{
    public string Source { get; set; } = "";
    public string Target { get; set; } = "";
}

/// <summary>A one-line progress bar over the time budget.</summary>
sealed class ProgressBar(double budgetSeconds) : IProgress<TrainingProgress>
{
    public void Report(TrainingProgress p)
    {
        int filled = (int)Math.Clamp(30 * p.Elapsed.TotalSeconds / budgetSeconds, 0, 30);
        string valid = p.ValidationLoss is { } v ? $" held-out loss {v:F3} BLEU {p.ValidationMetric:F1}" : "";
        Console.Write($"\r[{new string('#', filled)}{new string('.', 30 - filled)}] step {p.Step:N0} loss {p.TrainLoss:F3}{valid} {p.TokensPerSecond:N0} tok/s {p.Elapsed:mm\\:ss}".PadRight(110));
    }
}
