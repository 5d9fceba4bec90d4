// Train a German→English transformer on Multi30k, watch a progress bar, score the validation set with BLEU
// (sacreBLEU 13a) and chrF, print example translations and save the model; then export it to ONNX and translate
// with a greedy loop over two plain InferenceSessions.
//
//   dotnet run -c Release --project samples/Translation                                  10 minutes of training
//   dotnet run -c Release --project samples/Translation -- --time-budget 1800 --beam 4   the README's figure
//   options: --data DIR (default ../shared/data/multi30k) --time-budget SECONDS --beam N --arch transformer
//            --layers N --dim N --vocab N --tie-embeddings --out DIR --seed N
using System.Diagnostics;
using System.Globalization;
using Microsoft.ML;
using Microsoft.ML.OnnxRuntime;
using Microsoft.ML.OnnxRuntime.Tensors;
using MLNetTransformers;
using MLNetTransformers.Core.Models;
using MLNetTransformers.Core.Training;
using MLNetTransformers.Metrics;
using MLNetTransformers.Onnx;
using MLNetTransformers.Tokenization;
using MLNetTransformers.Translation;

string? Arg(string name) => Array.IndexOf(args, name) is var i && i >= 0 && i + 1 < args.Length ? args[i + 1] : null;
int IntArg(string name, int fallback) => Arg(name) is { } v ? int.Parse(v, CultureInfo.InvariantCulture) : fallback;
int Usage(string message) { Console.Error.WriteLine(message); return 2; }

string[] architectures = { "transformer" };
string arch = Arg("--arch") ?? "transformer";
if (!architectures.Contains(arch)) return Usage($"--arch: unknown architecture '{arch}'; known: {string.Join(", ", architectures)}.");
int beam = IntArg("--beam", 4);
if (beam < 1) return Usage($"--beam: the beam width must be at least 1, got {beam}.");
double budget = Arg("--time-budget") is { } tb ? double.Parse(tb, CultureInfo.InvariantCulture) : 600;
string dataDir = Arg("--data") ?? Path.Combine("..", "shared", "data", "multi30k");
string outDir = Arg("--out") ?? Path.Combine(Path.GetTempPath(), "translation");
string[] files = { "train.de", "train.en", "val.de", "val.en" };
if (files.FirstOrDefault(f => !File.Exists(Path.Combine(dataDir, f))) is { } missing)
    return Usage($"--data: '{Path.Combine(dataDir, missing)}' is missing; point --data at a directory holding {string.Join(", ", files)} (Multi30k).");
Directory.CreateDirectory(outDir);

string[] Lines(string f) => File.ReadAllLines(Path.Combine(dataDir, f));
var (trainDe, trainEn, valDe, valEn) = (Lines("train.de"), Lines("train.en"), Lines("val.de"), Lines("val.en"));
if (trainDe.Length != trainEn.Length || valDe.Length != valEn.Length)
    return Usage($"--data: train.de/train.en hold {trainDe.Length}/{trainEn.Length} lines and val.de/val.en {valDe.Length}/{valEn.Length}; parallel files need equal counts.");
Console.WriteLine($"Multi30k de→en: {trainDe.Length:N0} training pairs (10% held out for early stopping), {valDe.Length:N0} validation pairs scored; {budget:F0} s of training.");

var ml = new MLContext(seed: 1);
var train = ml.Data.LoadFromEnumerable(trainDe.Zip(trainEn, (s, t) => new Pair { Source = s, Target = t }));
int dim = IntArg("--dim", 256);
var options = new Seq2SeqOptions
{
    Layers = IntArg("--layers", 3), ModelDim = dim, Heads = 4, FeedForwardDim = 4 * dim, Dropout = 0.1f, LabelSmoothing = 0.1f,
    BatchSize = 64, LearningRate = 1e-3f, Seed = IntArg("--seed", 1), TimeBudget = TimeSpan.FromSeconds(budget),
    TiedEmbeddings = args.Contains("--tie-embeddings"),
    Tokenizer = new TokenizerOptions { MaxTokens = 48, VocabularySize = IntArg("--vocab", 10000), LowerCase = false }, // cased: BLEU is scored cased
    Decoding = new Seq2SeqDecodingOptions { BeamWidth = beam },
    Progress = new ProgressBar(budget),
};
var translator = ml.Transforms.Text.TrainSeq2Seq(options).Fit(train);
Console.WriteLine();
var outcome = translator.TrainingOutcome!;
Console.WriteLine($"{translator.Model.Parameters.Count:N0} parameters, {outcome.Steps:N0} steps in {outcome.Elapsed.TotalSeconds:F0} s ({outcome.StopReason}); " +
                  $"best held-out loss {outcome.Best?.Loss:F3}");

var clock = Stopwatch.StartNew();
var hypotheses = translator.Translate(valDe).Select(h => h[0].Text).ToArray();
var metrics = TranslationMetrics.Compute(hypotheses, valEn);
Console.WriteLine($"Validation ({metrics.Sentences:N0} sentences, beam {beam}, decoded in {clock.Elapsed.TotalSeconds:F0} s): " +
                  $"BLEU {metrics.Bleu:F2}  chrF {metrics.ChrF:F2}  [{metrics.BleuSignature}]");
foreach (int i in new[] { 0, 1, 2, 100, 500 }.Where(i => i < valDe.Length))
    Console.WriteLine($"\n  de:  {valDe[i]}\n  ref: {valEn[i]}\n  out: {hypotheses[i]}");

string modelPath = Path.Combine(outDir, "de-en.mlnt");
TransformerModel.Save(ml, translator, train.Schema, modelPath);
Console.WriteLine($"\nSaved {modelPath}; translate with: dotnet run --project src/MLNetTransformers.Cli -- translate --model {modelPath} --text \"Ein Hund rennt.\"");

// ONNX: export the two graphs and decode greedily with nothing but two InferenceSessions (onnx/README.md).
string onnxDir = Path.Combine(outDir, "de-en-onnx");
ml.Model.ExportSeq2SeqToOnnx(translator, onnxDir);
var greedy = translator.WithDecoding(new Seq2SeqDecodingOptions { BeamWidth = 1 });
using var encoderSession = new InferenceSession(Path.Combine(onnxDir, Seq2SeqOnnxGraphs.EncoderFileName));
using var decoderSession = new InferenceSession(Path.Combine(onnxDir, Seq2SeqOnnxGraphs.DecoderFileName));
int agree = 0, shown = 5;
for (int i = 0; i < shown; i++)
{
    string viaOnnx = GreedyWithOnnxRuntime(encoderSession, decoderSession, translator.SourceTokenizer, translator.Tokenizer, translator.Model.Config, valDe[i]);
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

sealed class Pair
{
    public string Source { get; set; } = "";
    public string Target { get; set; } = "";
}

/// <summary>A one-line progress bar over the time budget.</summary>
sealed class ProgressBar(double budgetSeconds) : IProgress<TrainingReport>
{
    public void Report(TrainingReport p)
    {
        int filled = (int)Math.Clamp(30 * p.Elapsed.TotalSeconds / budgetSeconds, 0, 30);
        string valid = p.Validation is { } v ? $" held-out loss {v.Loss:F3} BLEU {v.Metric:F1}" : "";
        Console.Write($"\r[{new string('#', filled)}{new string('.', 30 - filled)}] step {p.Step:N0} loss {p.TrainLoss:F3}{valid} {p.TokensPerSecond:N0} tok/s {p.Elapsed:mm\\:ss}".PadRight(110));
    }
}
