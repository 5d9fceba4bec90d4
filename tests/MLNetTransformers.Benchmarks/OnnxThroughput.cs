using System.Diagnostics;
using System.Text.Json.Nodes;
using Microsoft.ML;
using Microsoft.ML.Data;
using Microsoft.ML.OnnxRuntime;
using Microsoft.ML.OnnxRuntime.Tensors;
using MLNetTransformers.Core.Models;
using MLNetTransformers.Onnx;

namespace MLNetTransformers.Benchmarks;

/// <summary>
/// Inference of the reference encoder classifier in the managed engine and in ONNX Runtime on its export, side by
/// side; and an ML.NET pipeline scoring through ONNX Runtime against a bare InferenceSession on the same batches.
/// </summary>
internal static class OnnxThroughput
{
    public static JsonObject Measure(int steps)
    {
        var model = new TransformerClassifier(ReferenceModel.Config, 1);
        var batch = ReferenceModel.RandomBatch(causal: false);
        int b = ReferenceModel.Batch, t = ReferenceModel.SeqLen, tokens = b * t;
        var onnx = OnnxExporter.Export(model);

        using var session = OnnxSessionFactory.Create(onnx);
        using var session8 = OnnxSessionFactory.Create(OnnxExporter.Export(model, quantize: true));
        var ids = batch.Ids.Select(x => (long)x).ToArray();
        var mask = Enumerable.Repeat(1L, ids.Length).ToArray();
        var feeds = new[]
        {
            NamedOnnxValue.CreateFromTensor("input_ids", new DenseTensor<long>(ids, new[] { b, t })),
            NamedOnnxValue.CreateFromTensor("attention_mask", new DenseTensor<long>(mask, new[] { b, t })),
        };
        var int8 = model.Copy();
        Int8Quantization.Quantize(int8);
        double Managed() { var sw = Stopwatch.StartNew(); for (int i = 0; i < steps; i++) model.Forward(batch); return steps * tokens / sw.Elapsed.TotalSeconds; }
        double Int8() { var sw = Stopwatch.StartNew(); for (int i = 0; i < steps; i++) int8.Forward(batch); return steps * tokens / sw.Elapsed.TotalSeconds; }
        double Ort() { var sw = Stopwatch.StartNew(); for (int i = 0; i < steps; i++) session.Run(feeds).Dispose(); return steps * tokens / sw.Elapsed.TotalSeconds; }
        double Ort8() { var sw = Stopwatch.StartNew(); for (int i = 0; i < steps; i++) session8.Run(feeds).Dispose(); return steps * tokens / sw.Elapsed.TotalSeconds; }
        // Warm both up past the first seconds of the process, then alternate rounds and keep each side's best, so a
        // slow spell of the VM does not land on one side only.
        var warm = Stopwatch.StartNew();
        while (warm.Elapsed.TotalSeconds < 2) { model.Forward(batch); int8.Forward(batch); session.Run(feeds).Dispose(); session8.Run(feeds).Dispose(); }
        double managed = 0, ort = 0, quantized = 0, ort8 = 0;
        for (int round = 0; round < 3; round++)
        {
            managed = Math.Max(managed, Managed()); ort = Math.Max(ort, Ort());
            quantized = Math.Max(quantized, Int8()); ort8 = Math.Max(ort8, Ort8());
        }

        // The pipeline scores 64 rows per session call; the bare session gets the same 64-row batches.
        int rows = 4 * 64;
        var rowData = Enumerable.Range(0, rows).Select(r => new Row { TokenIds = ids.AsSpan((r % b) * t, t).ToArray(), AttentionMask = mask.AsSpan(0, t).ToArray() }).ToArray();
        var ml = new MLContext(1);
        var schema = SchemaDefinition.Create(typeof(Row));
        foreach (var c in schema) c.ColumnType = new VectorDataViewType(NumberDataViewType.Int64, t);
        var view = ml.Data.LoadFromEnumerable(rowData, schema);
        var transformer = ml.Transforms.ApplyTransformerOnnxModel(new OnnxModelOptions { ModelBytes = onnx, OutputColumns = new() { ["logits"] = "logits" } }).Fit(view);
        double Pipeline()
        {
            var scored = transformer.Transform(view);
            var start = Stopwatch.StartNew();
            using var cursor = scored.GetRowCursor(new[] { scored.Schema["logits"] });
            var getter = cursor.GetGetter<VBuffer<float>>(scored.Schema["logits"]);
            VBuffer<float> v = default;
            while (cursor.MoveNext()) getter(ref v);
            return rows * t / start.Elapsed.TotalSeconds;
        }
        double Bare()
        {
            var start = Stopwatch.StartNew();
            for (int s = 0; s < rows; s += 64)
            {
                var bid = rowData.Skip(s).Take(64).SelectMany(r => r.TokenIds).ToArray();
                var bmask = rowData.Skip(s).Take(64).SelectMany(r => r.AttentionMask).ToArray();
                using var r = session.Run(new[]
                {
                    NamedOnnxValue.CreateFromTensor("input_ids", new DenseTensor<long>(bid, new[] { 64, t })),
                    NamedOnnxValue.CreateFromTensor("attention_mask", new DenseTensor<long>(bmask, new[] { 64, t })),
                }, new[] { "logits" });
                _ = r.First().AsTensor<float>().ToArray();
            }
            return rows * t / start.Elapsed.TotalSeconds;
        }
        Pipeline(); Bare(); // warm-up
        double pipeline = 0, bare = 0;
        for (int i = 0; i < 2; i++) { pipeline += Pipeline(); bare += Bare(); } // interleaved: drift hits both alike
        pipeline /= 2; bare /= 2;
        transformer.Dispose();
        return new JsonObject
        {
            ["managed_infer_tokens_per_s"] = Math.Round(managed),
            ["onnxruntime_infer_tokens_per_s"] = Math.Round(ort),
            ["managed_vs_onnxruntime"] = Math.Round(managed / ort, 2),
            ["managed_int8_infer_tokens_per_s"] = Math.Round(quantized),
            ["int8_vs_fp32_managed"] = Math.Round(quantized / managed, 2),
            ["onnxruntime_int8_export_tokens_per_s"] = Math.Round(ort8),
            ["managed_int8_vs_onnxruntime_int8"] = Math.Round(quantized / ort8, 2),
            ["mlnet_pipeline_onnxruntime_tokens_per_s"] = Math.Round(pipeline),
            ["bare_session_same_batches_tokens_per_s"] = Math.Round(bare),
            ["pipeline_vs_bare_session"] = Math.Round(pipeline / bare, 2),
            ["onnxruntime_version"] = typeof(InferenceSession).Assembly.GetName().Version?.ToString(),
        };
    }

    private sealed class Row
    {
        public long[] TokenIds { get; set; } = [];
        public long[] AttentionMask { get; set; } = [];
    }
}
