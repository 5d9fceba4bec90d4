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
        int b = ReferenceModel.Batch, t = ReferenceModel.SeqLen;
        var (managed, ort, quantized, ort8) = Compare(model, batch, steps);
        // The same model at sequence 512 (batch 8: the same tokens per call).
        var model512 = new TransformerClassifier(ReferenceModel.Config with { MaxLength = 512 }, 1);
        var rng = new Random(0);
        var batch512 = new TokenBatch(8, 512, Enumerable.Range(0, 8 * 512).Select(_ => rng.Next(8000)).ToArray());
        var (managed512, ort512, quantized512, ort8x512) = Compare(model512, batch512, steps);
        var ids = batch.Ids.Select(x => (long)x).ToArray();
        var mask = Enumerable.Repeat(1L, ids.Length).ToArray();
        var onnx = OnnxExporter.Export(model);
        using var session = OnnxSessionFactory.Create(onnx);

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
            ["seq"] = t, ["batch"] = b,
            ["managed_infer_tokens_per_s"] = Math.Round(managed),
            ["onnxruntime_infer_tokens_per_s"] = Math.Round(ort),
            ["managed_vs_onnxruntime"] = Math.Round(managed / ort, 2),
            ["managed_int8_infer_tokens_per_s"] = Math.Round(quantized),
            ["int8_vs_fp32_managed"] = Math.Round(quantized / managed, 2),
            ["onnxruntime_int8_export_tokens_per_s"] = Math.Round(ort8),
            ["managed_int8_vs_onnxruntime_int8"] = Math.Round(quantized / ort8, 2),
            ["seq512"] = new JsonObject
            {
                ["batch"] = 8,
                ["managed_infer_tokens_per_s"] = Math.Round(managed512), ["onnxruntime_infer_tokens_per_s"] = Math.Round(ort512),
                ["managed_vs_onnxruntime"] = Math.Round(managed512 / ort512, 2),
                ["managed_int8_infer_tokens_per_s"] = Math.Round(quantized512), ["int8_vs_fp32_managed"] = Math.Round(quantized512 / managed512, 2),
                ["onnxruntime_int8_export_tokens_per_s"] = Math.Round(ort8x512),
            },
            ["mlnet_pipeline_onnxruntime_tokens_per_s"] = Math.Round(pipeline),
            ["bare_session_same_batches_tokens_per_s"] = Math.Round(bare),
            ["pipeline_vs_bare_session"] = Math.Round(pipeline / bare, 2),
            ["onnxruntime_version"] = typeof(InferenceSession).Assembly.GetName().Version?.ToString(),
        };
    }

    /// <summary>
    /// The encoder shapes of nomic-embed-text-v1.5 (NomicBERT: 12 × 768, SwiGLU 3072, rotary positions, post-norm),
    /// ModernBERT-base (22 × 768, GeGLU 1152, rotary positions, a sliding window of 64 in two layers of three, pre-norm),
    /// jina-embeddings-v2-base-en (JinaBERT: 12 × 768, GeGLU 3072, ALiBi, post-norm) and gte-base-en-v1.5 (GTE: 12 × 768,
    /// GeGLU 3072 with the gate second, NTK-scaled rotary positions, post-norm),
    /// random weights, as classifiers: inference tokens/s in the managed engine and in ONNX Runtime on the library's own
    /// ONNX export of the same model, float and int8, on one batch of <paramref name="batch"/> × <paramref name="seq"/>.
    /// </summary>
    public static JsonObject MeasureFamilies(int steps, int batch, int seq)
    {
        var shapes = new (string Name, TransformerConfig Config)[]
        {
            ("nomic-embed-text-v1.5", new TransformerConfig
            {
                VocabSize = 30528, ModelDim = 768, Heads = 12, Layers = 12, FeedForwardDim = 3072, MaxLength = 8192, TypeVocabSize = 2, Dropout = 0f,
                Norm = NormPlacement.PostNorm, EmbeddingNorm = true, PositionalEncoding = Core.Layers.PositionalEncodingKind.None, LayerNormEps = 1e-12f,
                RotaryTheta = 1000f, GatedFeedForward = true, Activation = Core.Kernels.Activation.Silu, Biases = false, Pooling = Pooling.Mean,
            }),
            ("ModernBERT-base", new TransformerConfig
            {
                VocabSize = 50368, ModelDim = 768, Heads = 12, Layers = 22, FeedForwardDim = 1152, MaxLength = 8192, Dropout = 0f,
                Norm = NormPlacement.PreNorm, EmbeddingNorm = true, PositionalEncoding = Core.Layers.PositionalEncodingKind.None, Biases = false, NormBiases = false,
                GatedFeedForward = true, RotaryTheta = 160_000f, LocalRotaryTheta = 10_000f, SlidingWindow = 64, GlobalAttentionEvery = 3,
                FirstBlockAttentionNorm = false, Pooling = Pooling.Mean,
            }),
            ("jina-embeddings-v2-base-en", new TransformerConfig
            {
                VocabSize = 30528, ModelDim = 768, Heads = 12, Layers = 12, FeedForwardDim = 3072, MaxLength = 8192, TypeVocabSize = 2, Dropout = 0f,
                Norm = NormPlacement.PostNorm, EmbeddingNorm = true, PositionalEncoding = Core.Layers.PositionalEncodingKind.None, LayerNormEps = 1e-12f,
                Alibi = true, GatedFeedForward = true, ExpansionBias = false, Pooling = Pooling.Mean,
            }),
            ("gte-base-en-v1.5", new TransformerConfig
            {
                VocabSize = 30528, ModelDim = 768, Heads = 12, Layers = 12, FeedForwardDim = 3072, MaxLength = 8192, Dropout = 0f,
                Norm = NormPlacement.PostNorm, EmbeddingNorm = true, PositionalEncoding = Core.Layers.PositionalEncodingKind.None, LayerNormEps = 1e-12f,
                RotaryTheta = 500_000f, RotaryScaling = 2f, GatedFeedForward = true, ExpansionBias = false, ActivatedHalfFirst = false, Pooling = Pooling.Cls,
            }),
        };
        var rng = new Random(0);
        var result = new JsonObject { ["batch"] = batch, ["seq"] = seq, ["machine"] = Throughput.Machine(), ["onnxruntime_version"] = typeof(InferenceSession).Assembly.GetName().Version?.ToString() };
        foreach (var (name, config) in shapes)
        {
            var model = new TransformerClassifier(new ClassifierConfig(config) { NumClasses = 2 }, 1);
            var tokens = new TokenBatch(batch, seq, Enumerable.Range(0, batch * seq).Select(_ => rng.Next(config.VocabSize)).ToArray());
            var (managed, ort, quantized, ort8) = Compare(model, tokens, steps);
            result[name] = new JsonObject
            {
                ["managed_infer_tokens_per_s"] = Math.Round(managed), ["onnxruntime_infer_tokens_per_s"] = Math.Round(ort),
                ["managed_vs_onnxruntime"] = Math.Round(managed / ort, 2),
                ["managed_int8_infer_tokens_per_s"] = Math.Round(quantized), ["onnxruntime_int8_export_tokens_per_s"] = Math.Round(ort8),
                ["managed_int8_vs_onnxruntime_int8"] = Math.Round(quantized / ort8, 2),
            };
        }
        return result;
    }

    /// <summary>
    /// Inference tokens/s of the model in the managed engine (float and int8) and in ONNX Runtime on its float and int8
    /// exports, on the same batch: all four warmed up, then three alternated rounds keeping each side's best, so a slow
    /// spell of the VM does not land on one side only.
    /// </summary>
    private static (double Managed, double Ort, double Int8, double Ort8) Compare(TransformerClassifier model, TokenBatch batch, int steps)
    {
        int b = batch.BatchSize, t = batch.SeqLen, tokens = b * t;
        using var session = OnnxSessionFactory.Create(OnnxExporter.Export(model));
        using var session8 = OnnxSessionFactory.Create(OnnxExporter.Export(model, quantize: true));
        var feeds = new List<NamedOnnxValue>
        {
            NamedOnnxValue.CreateFromTensor("input_ids", new DenseTensor<long>(batch.Ids.Select(x => (long)x).ToArray(), new[] { b, t })),
            NamedOnnxValue.CreateFromTensor("attention_mask", new DenseTensor<long>(Enumerable.Repeat(1L, tokens).ToArray(), new[] { b, t })),
        };
        if (model.Config.TypeVocabSize > 0) feeds.Add(NamedOnnxValue.CreateFromTensor("token_type_ids", new DenseTensor<long>(new long[tokens], new[] { b, t })));
        var int8 = model.Copy();
        Int8Quantization.Quantize(int8);
        // The float engine as a serving replica runs it, weights laid out once (ONNX Runtime pre-packs its session's too).
        var served = model.Copy();
        InferencePanels.AttachForGood(served.Encoder);
        double Rate(Action run) { var sw = Stopwatch.StartNew(); for (int i = 0; i < steps; i++) run(); return steps * tokens / sw.Elapsed.TotalSeconds; }
        Action managed = () => served.Forward(batch), quantized = () => int8.Forward(batch);
        Action ort = () => session.Run(feeds).Dispose(), ort8 = () => session8.Run(feeds).Dispose();
        var warm = Stopwatch.StartNew();
        while (warm.Elapsed.TotalSeconds < 2) { managed(); quantized(); ort(); ort8(); }
        double m = 0, o = 0, q = 0, o8 = 0;
        for (int round = 0; round < 3; round++)
        {
            m = Math.Max(m, Rate(managed)); o = Math.Max(o, Rate(ort));
            q = Math.Max(q, Rate(quantized)); o8 = Math.Max(o8, Rate(ort8));
        }
        return (m, o, q, o8);
    }

    private sealed class Row
    {
        public long[] TokenIds { get; set; } = [];
        public long[] AttentionMask { get; set; } = [];
    }
}
