// Train a small transformer classifier, export it to ONNX, run the file with plain ONNX Runtime code (as an
// application outside ML.NET would), check it against the managed engine, then bring it back: into an ML.NET
// pipeline run by ONNX Runtime, and into the managed engine as weights.
//
//   dotnet run -c Release --project samples/OnnxExport [-- --out model.onnx]
using System.Text.Json;
using Microsoft.ML;
using Microsoft.ML.Data;
using Microsoft.ML.OnnxRuntime;
using Microsoft.ML.OnnxRuntime.Tensors;
using MLNetTransformers;
using MLNetTransformers.Classification;
using MLNetTransformers.Core.Models;
using MLNetTransformers.Onnx;
using MLNetTransformers.Tokenization;

var arg = new CommandArguments(args, texts: ["--out"]);
if (arg.Problem() is { } problem) return CommandArguments.Fail(problem);
string onnxPath = arg.Get("--out") ?? Path.Combine(Path.GetTempPath(), "review-classifier.onnx");
var ml = new MLContext(seed: 1);
var data = ml.Data.LoadFromTextFile<Review>(Path.Combine(AppContext.BaseDirectory, "Data", "reviews.tsv"), '\t', hasHeader: true);
var split = ml.Data.TrainTestSplit(data, 0.2, seed: 1);

// 1. Train.
var classifier = ml.BinaryClassification.Trainers.TransformerClassifier(new TransformerClassifierOptions
{
    Layers = 2, ModelDim = 64, Heads = 4, FeedForwardDim = 128, Epochs = 12, LearningRate = 2e-3f, Seed = 1,
    Tokenizer = new TokenizerOptions { MaxTokens = 48, VocabularySize = 1000 },
}).Fit(split.TrainSet);
Console.WriteLine($"Trained: {classifier.Model.Parameters.Count:N0} parameters, test accuracy {ml.BinaryClassification.Evaluate(classifier.Transform(split.TestSet)).Accuracy:P1}");

// 2. Export: standard ONNX (opset 17), tokenizer and class names in the metadata.
ml.Model.ExportTransformerToOnnx(classifier, onnxPath);
Console.WriteLine($"Exported {onnxPath} ({new FileInfo(onnxPath).Length / 1024} KB)");

// 3. Plain ONNX Runtime, no ML.NET: tokenize, build int64 tensors, run.
string[] sentences = { "The cast was superb and the story gripping.", "The plot was dull, but the ending was wonderful.", "A waste of two hours." };
var tokenizer = classifier.Tokenizer;
int T = tokenizer.MaxTokens;
var ids = new long[sentences.Length * T];
var mask = new long[sentences.Length * T];
var rowIds = new int[T]; var rowMask = new int[T];
for (int i = 0; i < sentences.Length; i++)
{
    tokenizer.Encode(sentences[i], rowIds, rowMask);
    for (int j = 0; j < T; j++) { ids[i * T + j] = rowIds[j]; mask[i * T + j] = rowMask[j]; }
}
using var session = new InferenceSession(onnxPath);
using var results = session.Run(new[]
{
    NamedOnnxValue.CreateFromTensor("input_ids", new DenseTensor<long>(ids, new[] { sentences.Length, T })),
    NamedOnnxValue.CreateFromTensor("attention_mask", new DenseTensor<long>(mask, new[] { sentences.Length, T })),
});
var logits = results.First(r => r.Name == "logits").AsTensor<float>();
double worst = 0;
for (int i = 0; i < sentences.Length; i++)
{
    float pOnnx = 1f / (1f + MathF.Exp(logits[i, 0] - logits[i, 1]));
    float pManaged = classifier.PredictProbabilities(sentences[i])[1];
    worst = Math.Max(worst, Math.Abs(pOnnx - pManaged));
    Console.WriteLine($"  ONNX Runtime {pOnnx:F5}  managed {pManaged:F5}  {sentences[i]}");
}
Console.WriteLine($"Largest probability difference, ONNX Runtime vs managed: {worst:E1}");

// 4a. Back into ML.NET, run by ONNX Runtime: the stored tokenizer, then the ONNX model.
var imported = OnnxImporter.Import(onnxPath);
var pipeline = new TokenizerTransformer(imported.Tokenizer!, "Text")
    .Append(ml.Transforms.ApplyTransformerOnnxModel(onnxPath).Fit(new TokenizerTransformer(imported.Tokenizer!).Transform(split.TestSet)));
var scored = pipeline.Transform(split.TestSet);
var onnxLogits = scored.GetColumn<float[]>("logits").ToArray();
var labels = scored.GetColumn<bool>("Label").ToArray();
double accuracy = onnxLogits.Zip(labels).Count(p => (p.First[1] > p.First[0]) == p.Second) / (double)labels.Length;
Console.WriteLine($"ML.NET pipeline through ONNX Runtime: test accuracy {accuracy:P1}");

// 4b. Back into the managed engine as weights, ready to predict or train further.
var managed = (TransformerClassifier)imported.Model;
bool same = managed.Parameters.Data.AsSpan().SequenceEqual(classifier.Model.Parameters.Data);
Console.WriteLine($"Weights imported into the managed engine: {(same ? "identical" : "DIFFERENT")} ({managed.Parameters.Count:N0} parameters)");

Console.WriteLine(JsonSerializer.Serialize(new { onnx = onnxPath, max_probability_difference = worst, onnx_pipeline_accuracy = Math.Round(accuracy, 4), weights_identical = same }));
return worst < 1e-4 && same ? 0 : 1;

/// <summary>One labelled sentence.</summary>
public sealed class Review
{
    [LoadColumn(0)] public string Text { get; set; } = "";
    [LoadColumn(1)] public bool Label { get; set; }
}
