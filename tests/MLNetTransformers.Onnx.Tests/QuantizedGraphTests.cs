using Google.Protobuf;
using Microsoft.ML.OnnxRuntime;
using Microsoft.ML.OnnxRuntime.Tensors;
using MLNetTransformers.Core.Models;
using MLNetTransformers.Core.Pretrained;
using MLNetTransformers.Onnx.Proto;
using MLNetTransformers.Pretrained;
using Xunit;
using Xunit.Abstractions;

namespace MLNetTransformers.Onnx.Tests;

/// <summary>
/// int8/uint8 graphs as <c>quantize_dynamic</c> writes them (<see cref="DynamicQuantization"/>), of every family's PyTorch
/// export: read as the float graph of their dequantized weights (each within half a quantization step of the float
/// export's, the unquantized ones bit for bit), computing what ONNX Runtime computes on the quantized graph to within its
/// 8-bit activations; ONNX Runtime's own fusions of them read alike; quantized graphs wired otherwise refused by node.
/// </summary>
public sealed class QuantizedGraphTests(ITestOutputHelper output)
{
    private static readonly DynamicQuantization.Options[] Variants =
    [
        new(SignedWeights: false, PerChannel: false, ReduceRange: false, Tables: true),  // uint8 weights and tables (transformers.js's model_quantized)
        new(SignedWeights: true, PerChannel: true, ReduceRange: true, Tables: false),    // int8 per column, 7 bits (optimum's avx512_vnni-style)
        new(SignedWeights: true, PerChannel: true, Tables: false, Qdq: true),            // quantize_static's QDQ format
    ];

    // Exports of every family: the BERT-named ones read from their shapes, the configured ones with their config.json.
    internal static readonly string[] Fixtures =
    [
        "pretrained/small-bert.onnx", "pretrained/small-roberta.onnx", "pretrained/small-distilbert.onnx", "pretrained/small-electra.onnx",
        "pretrained/small-mpnet.onnx", "pretrained/small-albert.onnx", "pretrained/small-deberta.onnx",
        "families/modernbert/model.onnx", "families/nomic/model.onnx", "families/jina/model.onnx", "families/gte/model.onnx",
    ];

    public static IEnumerable<object[]> Cases() => Fixtures.SelectMany(f => Enumerable.Range(0, Variants.Length).Select(v => new object[] { f, v }));

    internal static string PathOf(string fixture) => Path.Combine(AppContext.BaseDirectory, "Fixtures", fixture);

    // The graph written as model.onnx into a fresh folder, with the fixture's config.json when it has one.
    internal static string WriteBeside(string fixture, byte[] graph)
    {
        string dir = Directory.CreateTempSubdirectory("quantized").FullName, config = Path.Combine(Path.GetDirectoryName(PathOf(fixture))!, "config.json");
        if (File.Exists(config)) File.Copy(config, Path.Combine(dir, "config.json"));
        File.WriteAllBytes(Path.Combine(dir, "model.onnx"), graph);
        return Path.Combine(dir, "model.onnx");
    }

    internal static LoadedEncoder LoadBeside(string fixture, byte[] graph)
    {
        string path = WriteBeside(fixture, graph);
        try { return OnnxEncoderCheckpoint.Load(path); }
        finally { Directory.Delete(Path.GetDirectoryName(path)!, recursive: true); }
    }

    [Theory]
    [MemberData(nameof(Cases))]
    public void AQuantizedGraph_IsReadAsTheFloatGraphOfItsWeights(string fixture, int variant)
    {
        var options = Variants[variant];
        var original = OnnxEncoderCheckpoint.Load(PathOf(fixture));
        var bytes = DynamicQuantization.Quantize(File.ReadAllBytes(PathOf(fixture)), options);
        Assert.Contains(ModelProto.Parser.ParseFrom(bytes).Graph.Node, n => n.OpType == (options.Qdq ? "DequantizeLinear" : "MatMulInteger"));
        var read = LoadBeside(fixture, bytes);
        Assert.Equal(original.Family.Name, read.Family.Name);
        Assert.Equal(original.Encoder.Config, read.Encoder.Config);
        // Half a step of the coarsest grid written (7-bit int8 over ±max|w|: max|w|/128), with rounding to spare.
        int quantized = CountQuantized(read, original, largest => largest / 120f);
        // The products' weights (and the tables, with them) came from the quantized tensors; norms and biases bit for bit.
        var floatGraph = ModelProto.Parser.ParseFrom(File.ReadAllBytes(PathOf(fixture))).Graph;
        int tables = floatGraph.Node.Where(n => n.OpType == "Gather").Select(n => n.Input[0]).Distinct().Count(i => floatGraph.Initializer.Any(t => t.Name == i && t.Dims.Count == 2));
        int expected = read.Encoder.Parameters.Tensors.Count(t => t.Shape.Length == 2) - (options.Tables ? 0 : tables);
        output.WriteLine($"{fixture} {options}: {quantized} of {read.Encoder.Parameters.Tensors.Count} tensors quantized, {expected} two-dimensional");
        // (DeBERTa's relative position table is no product's weight and no gathered table: it stays float.)
        Assert.Equal(expected - (read.Family == EncoderFamily.DebertaV2 ? 1 : 0), quantized);
        AssertCloseToOnnxRuntime(read, bytes, leastMean: options.Qdq ? 0.98 : 0.995); // QDQ: activations on a fixed grid of 0.1
    }

    // How many of the read encoder's tensors differ from the float original's, each by at most bound(its largest magnitude).
    internal static int CountQuantized(LoadedEncoder read, LoadedEncoder original, Func<float, float> bound)
    {
        int quantized = 0;
        foreach (var t in read.Encoder.Parameters.Tensors)
        {
            float[] a = t.Value.ToArray(), b = original.Encoder.Parameters[t.Name].Value.ToArray();
            float largest = b.Max(Math.Abs), worst = a.Zip(b, (x, y) => Math.Abs(x - y)).Max();
            Assert.True(worst <= bound(largest), $"{t.Name}: {worst} off with values up to {largest}");
            if (worst > 0) quantized++;
        }
        return quantized;
    }

    // Hidden states of a padded batch of both token types under ONNX Runtime on the quantized graph: every real token's
    // cosine with the engine's at least the reader's bound, and the mean well above it.
    private void AssertCloseToOnnxRuntime(LoadedEncoder loaded, byte[] graph, double leastMean = 0.995) => AssertCloseToOnnxRuntime(output, loaded, graph, leastMean);

    internal static void AssertCloseToOnnxRuntime(ITestOutputHelper output, LoadedEncoder loaded, byte[] graph, double leastMean)
    {
        var c = loaded.Encoder.Config;
        int b = 2, t = Math.Min(9, c.MaxLength), vocab = Math.Min(c.VocabSize, 500);
        var ids = Enumerable.Range(0, b * t).Select(i => i >= t && i % t >= t - 2 ? 0 : 2 + (i * 7919 % (vocab - 2))).ToArray();
        var padding = ids.Select(v => v == 0).ToArray();
        var types = Enumerable.Range(0, b * t).Select(i => c.TypeVocabSize > 1 && i % t >= t / 2 ? 1 : 0).ToArray();
        using var session = new InferenceSession(graph);
        var feeds = new List<NamedOnnxValue>();
        foreach (var input in session.InputMetadata.Keys)
            feeds.Add(NamedOnnxValue.CreateFromTensor(input, new DenseTensor<long>((input switch
            {
                "input_ids" => ids, "attention_mask" => padding.Select(p => p ? 0 : 1).ToArray(), _ => types,
            }).Select(v => (long)v).ToArray(), [b, t])));
        using var results = session.Run(feeds, [session.OutputMetadata.Keys.First()]);
        var reference = results[0].AsTensor<float>().ToArray();
        var hidden = loaded.Encoder.Forward(ids, c.TypeVocabSize > 1 ? types : null, b, t, padding, training: false);
        var cosines = Enumerable.Range(0, b * t).Where(i => !padding[i])
            .Select(i => (double)System.Numerics.Tensors.TensorPrimitives.CosineSimilarity(hidden.AsSpan(i * c.ModelDim, c.ModelDim), reference.AsSpan(i * c.ModelDim, c.ModelDim))).ToList();
        output.WriteLine($"cosine with ONNX Runtime on the graph as given: least {cosines.Min():F5}, mean {cosines.Average():F5}");
        Assert.True(cosines.Min() >= OnnxEncoderCheckpoint.QuantizedCosine && cosines.Average() >= OnnxEncoderCheckpoint.QuantizedMeanCosine);
        Assert.True(cosines.Average() >= leastMean, $"mean cosine {cosines.Average():F5}, at least {leastMean} expected");
    }

    // ONNX Runtime saves a quantized graph it optimized with its own fusions (DynamicQuantizeMatMul, MatMulIntegerToFloat; for
    // the QDQ form, MatMulIntegerToFloat over QuantizeLinear, some of which it moves ahead of Reshape and Transpose): read to
    // the same weights as the graph it came from.
    [Theory]
    [InlineData("pretrained/small-bert.onnx")]
    [InlineData("pretrained/small-albert.onnx")]
    [InlineData("families/gte/model.onnx")]
    public void AQuantizedGraphOptimizedByOnnxRuntime_ReadsToTheSameWeights(string fixture)
    {
        foreach (var options in Variants)
        {
            var bytes = DynamicQuantization.Quantize(File.ReadAllBytes(PathOf(fixture)), options);
            string path = WriteBeside(fixture, bytes), optimized = Path.Combine(Path.GetDirectoryName(path)!, "optimized.onnx");
            try
            {
                using (var so = new SessionOptions { GraphOptimizationLevel = GraphOptimizationLevel.ORT_ENABLE_EXTENDED, OptimizedModelFilePath = optimized })
                using (new InferenceSession(path, so)) { }
                var ops = ModelProto.Parser.ParseFrom(File.ReadAllBytes(optimized)).Graph.Node.Where(n => n.Domain == "com.microsoft").Select(n => n.OpType).Distinct();
                output.WriteLine($"{fixture} {options}: {string.Join(", ", ops)}");
                var read = OnnxEncoderCheckpoint.Load(optimized);
                Assert.Equal(OnnxEncoderCheckpoint.Load(path).Encoder.Parameters.Data, read.Encoder.Parameters.Data);
            }
            finally { Directory.Delete(Path.GetDirectoryName(path)!, recursive: true); }
        }
    }

    // all-MiniLM-L6-v2 quantized both ways: the engine on its dequantized weights against ONNX Runtime on the quantized graph
    // (50+ sentences, padded batches), and how far quantizing moved the sentence embeddings from the float model's.
    [Fact]
    public void AllMiniLmL6V2_Quantized_IsReadCloseToWhatOnnxRuntimeComputes()
    {
        var floatModel = MiniLM.Load();
        var sentences = File.ReadAllLines(PathOf("pretrained/sentences.txt"));
        var reference = Embed(floatModel, sentences);
        foreach (var options in Variants.Where(v => !v.Qdq)) // (the test's QDQ grid is not calibrated to the model: its figures would say nothing)
        {
            var bytes = DynamicQuantization.Quantize(MiniLM.ReadResources().Onnx, options);
            var loaded = OnnxEncoderCheckpoint.Load(bytes, "all-MiniLM-L6-v2 quantized", Pooling.Mean, normalize: true);
            AssertCloseToOnnxRuntime(loaded, bytes, leastMean: 0.98);
            var embeddings = Embed(new PretrainedEncoder(loaded.Encoder, floatModel.Tokenizer, "quantized"), sentences);
            var cosines = Enumerable.Range(0, sentences.Length).Select(i => (double)System.Numerics.Tensors.TensorPrimitives.CosineSimilarity(embeddings[i], reference[i])).ToList();
            output.WriteLine($"{options}: sentence embeddings' cosine with the float model's: least {cosines.Min():F4}, mean {cosines.Average():F4}");
            Assert.True(cosines.Min() >= 0.9);
        }
    }

    internal static float[][] Embed(PretrainedEncoder model, string[] sentences) => sentences.Select(s =>
    {
        var ids = new int[model.Tokenizer.MaxTokens];
        int n = model.Tokenizer.Encode(s, ids, new int[ids.Length]);
        return model.Encoder.Embed(TokenBatch.Padded([ids[..n]], model.Tokenizer.MaxTokens)).AsSpan(0, model.Encoder.Config.ModelDim).ToArray();
    }).ToArray();

    // What the reader cannot undo, or a pattern wired otherwise, is refused naming the node.
    [Fact]
    public void QuantizedGraphsWiredOtherwise_AreRefusedNamingTheNode()
    {
        var bytes = DynamicQuantization.Quantize(File.ReadAllBytes(PathOf("pretrained/small-bert.onnx")), Variants[0]);
        string Refused(Action<GraphProto> edit)
        {
            var m = ModelProto.Parser.ParseFrom(bytes);
            edit(m.Graph);
            string refusal = Assert.Throws<InvalidDataException>(() => OnnxEncoderCheckpoint.Load(m.ToByteArray(), "edited.onnx")).Message;
            output.WriteLine(refusal);
            return refusal;
        }
        // The product scaled by the weight's scale twice, not by its input's.
        string message = Refused(g =>
        {
            var scales = g.Node.First(n => n.OpType == "Mul" && n.Name.EndsWith("_scales_mul", StringComparison.Ordinal));
            scales.Input[0] = scales.Input[1];
        });
        Assert.Contains("edited.onnx", message);
        Assert.Contains("_quant' (MatMulInteger)", message);
        // A zero point of another type than its weight's.
        message = Refused(g =>
        {
            var zero = g.Initializer.First(t => t.Name.EndsWith("_zero_point", StringComparison.Ordinal) && t.Name.StartsWith("onnx::", StringComparison.Ordinal));
            zero.DataType = (int)TensorProto.Types.DataType.Int8;
        });
        Assert.Contains("zero point", message);
        // Per-column scales that do not fit the weight's columns.
        message = Refused(g =>
        {
            var scale = g.Initializer.First(t => t.Name.EndsWith("_scale", StringComparison.Ordinal) && t.Name.StartsWith("onnx::", StringComparison.Ordinal));
            var zero = g.Initializer.First(t => t.Name == scale.Name[..^"_scale".Length] + "_zero_point");
            scale.RawData = ByteString.CopyFrom(new byte[12]);
            zero.RawData = ByteString.CopyFrom(new byte[3]);
            scale.Dims.Add(3);
            zero.Dims.Add(3);
        });
        Assert.Contains("3 scales", message);
        // An operator quantized in a way not undone (a quantized product with its own output scale).
        message = Refused(g => g.Node.First(n => n.OpType == "MatMulInteger").OpType = "QLinearMatMul");
        Assert.Contains("is a QLinearMatMul", message);
        // A quantized table read by axis.
        message = Refused(g =>
        {
            var dq = g.Node.First(n => n.OpType == "DequantizeLinear");
            var scale = g.Initializer.First(t => t.Name == dq.Input[1]);
            var zero = g.Initializer.First(t => t.Name == dq.Input[2]);
            scale.RawData = ByteString.CopyFrom(new byte[8]);
            scale.Dims.Add(2);
            zero.RawData = ByteString.CopyFrom(new byte[2]);
            zero.Dims.Add(2);
        });
        Assert.Contains("by axis", message);
    }

    // A folder that holds only a quantized export (onnx/model_quantized.onnx) is read through it.
    [Fact]
    public void AFolderWithOnlyAQuantizedExport_IsReadThroughIt()
    {
        string dir = Directory.CreateTempSubdirectory("quantized-folder").FullName;
        try
        {
            Directory.CreateDirectory(Path.Combine(dir, "onnx"));
            foreach (var f in new[] { "config.json", "vocab.txt" }) File.Copy(Path.Combine(PathOf("families/gte"), f), Path.Combine(dir, f));
            File.WriteAllBytes(Path.Combine(dir, "onnx", "model_quantized.onnx"), DynamicQuantization.Quantize(File.ReadAllBytes(PathOf("families/gte/model.onnx")), Variants[0]));
            Assert.Equal(Path.Combine(dir, "onnx", "model_quantized.onnx"), PretrainedCheckpoint.OnnxExportIn(dir));
            var encoder = OnnxEncoderCheckpoint.LoadFolder(dir, maxTokens: 12);
            Assert.Equal("GTE", PretrainedCheckpoint.ReadConfig(Path.Combine(dir, "config.json")).Family.Name);
            Assert.Equal(OnnxEncoderCheckpoint.Load(PathOf("families/gte/model.onnx")).Encoder.Config, encoder.Encoder.Config);
            // The float export, where both are there, is the one read.
            File.Copy(PathOf("families/gte/model.onnx"), Path.Combine(dir, "onnx", "model.onnx"));
            Assert.Equal(Path.Combine(dir, "onnx", "model.onnx"), PretrainedCheckpoint.OnnxExportIn(dir));
        }
        finally { Directory.Delete(dir, recursive: true); }
    }
}
