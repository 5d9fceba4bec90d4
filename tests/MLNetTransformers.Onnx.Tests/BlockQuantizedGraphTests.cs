using Google.Protobuf;
using MLNetTransformers.Core.Models;
using MLNetTransformers.Core.Pretrained;
using MLNetTransformers.Onnx.Proto;
using MLNetTransformers.Pretrained;
using Xunit;
using Xunit.Abstractions;

namespace MLNetTransformers.Onnx.Tests;

/// <summary>
/// Block-wise 4-bit (and 8-bit) graphs as <c>MatMul4BitsQuantizer</c> writes them (<see cref="BlockQuantization"/>) of every
/// family's PyTorch export: read as the float graph of their dequantized weights (each within half a step of its block's
/// grid, everything else bit for bit), computing what ONNX Runtime's MatMulNBits and block-wise DequantizeLinear compute on
/// the graph as given; the half-precision form of it (transformers.js's model_q4f16.onnx) alike; refusals by node.
/// </summary>
public sealed class BlockQuantizedGraphTests(ITestOutputHelper output)
{
    private static readonly BlockQuantization.Options[] Variants =
    [
        new(Symmetric: true, BlockSize: 32),                // transformers.js's model_q4.onnx
        new(Symmetric: false, BlockSize: 128),              // the quantizer's defaults (asymmetric: packed zero points)
        new(Symmetric: false, BlockSize: 16, Bits: 8),      // 8-bit codes
        new(Symmetric: true, BlockSize: 32, Qdq: true),     // the QDQ form: int4 weights, DequantizeLinear by blocks
        new(Symmetric: false, BlockSize: 64, Qdq: true),    // uint4 weights with zero points
        new(BlockSize: 64, Bnb4: 1),                        // MatMulBnb4, NF4: transformers.js's model_bnb4.onnx
        new(BlockSize: 16, Bnb4: 0),                        // MatMulBnb4, FP4
        new(Symmetric: true, BlockSize: 16, Tables: true),  // with the embedding tables: GatherBlockQuantized over int4
        new(Symmetric: false, BlockSize: 16, Tables: true), // and over uint4 with zero points
    ];

    public static IEnumerable<object[]> Cases() => QuantizedGraphTests.Fixtures.SelectMany(f => Enumerable.Range(0, Variants.Length).Select(v => new object[] { f, v }));

    [Theory]
    [MemberData(nameof(Cases))]
    public void ABlockQuantizedGraph_IsReadAsTheFloatGraphOfItsWeights(string fixture, int variant)
    {
        var options = Variants[variant];
        byte[] floatBytes = File.ReadAllBytes(QuantizedGraphTests.PathOf(fixture));
        var original = OnnxEncoderCheckpoint.Load(QuantizedGraphTests.PathOf(fixture));
        var bytes = BlockQuantization.Quantize(floatBytes, options);
        Assert.Contains(ModelProto.Parser.ParseFrom(bytes).Graph.Node, n => n.OpType == (options.Bnb4 is not null ? "MatMulBnb4" : options.Qdq ? "DequantizeLinear" : "MatMulNBits"));
        if (options.Tables) Assert.Contains(ModelProto.Parser.ParseFrom(bytes).Graph.Node, n => n.OpType == "GatherBlockQuantized");
        var read = QuantizedGraphTests.LoadBeside(fixture, bytes);
        Assert.Equal(original.Family.Name, read.Family.Name);
        Assert.Equal(original.Encoder.Config, read.Encoder.Config);
        // Half a step of the coarsest grid (4-bit asymmetric over a block's [min, max] ∋ 0: at most 2·max|w|/15 a step);
        // symmetric, a whole step (max|w|/8) where a value opposite the largest one is clamped to code 15 (7 steps); NF4
        // and FP4, half their widest gap (NF4's 0.723 to 1, FP4's 2/3 to 1: at most max|w|/6).
        int quantized = QuantizedGraphTests.CountQuantized(read, original, largest => options.Bnb4 is not null ? largest / 5.9f : largest / (options.Symmetric ? 7.9f : 14f));
        // Every product's stored weight, and nothing else, came from quantized codes (ALBERT's shared ones and DeBERTa's
        // relative-position projections reach their MatMuls through Identity nodes, which the quantizer leaves float).
        var floatGraph = ModelProto.Parser.ParseFrom(floatBytes).Graph;
        var stored = floatGraph.Initializer.Where(t => t.Dims.Count == 2).Select(t => t.Name).ToHashSet();
        int products = floatGraph.Node.Where(n => n.OpType == "MatMul" && stored.Contains(n.Input[1]) || options.Tables && n.OpType == "Gather" && stored.Contains(n.Input[0]))
            .Select(n => n.OpType == "Gather" ? n.Input[0] : n.Input[1]).Distinct().Count();
        output.WriteLine($"{fixture} {options}: {quantized} of {read.Encoder.Parameters.Tensors.Count} tensors quantized, {products} stored product weights");
        Assert.True(quantized > 0 && quantized <= products, $"{quantized} quantized tensors for {products} product weights");
        // The same weights but for summation order, where every product was quantized: ONNX Runtime's MatMulNBits dequantizes
        // to float. Its QDQ fusion (DequantizeLinear → MatMul into MatMulNBits) computes with 8-bit activations by default;
        // and the weights ALBERT and DeBERTa share with a float reader are read float, where the graph's products use codes.
        bool shared = read.Family == EncoderFamily.Albert || read.Family == EncoderFamily.DebertaV2;
        QuantizedGraphTests.AssertCloseToOnnxRuntime(output, read, bytes, leastMean: shared ? 0.99 : options.Qdq ? 0.998 : 0.9999);
    }

    // transformers.js's model_q4f16.onnx: the 4-bit graph converted to half precision (its scales float16 too).
    [Theory]
    [InlineData("pretrained/small-bert.onnx")]
    [InlineData("families/gte/model.onnx")]
    public void AFourBitGraphInHalfPrecision_IsReadAsTheFloatGraphOfItsWeights(string fixture)
    {
        var q4 = BlockQuantization.Quantize(File.ReadAllBytes(QuantizedGraphTests.PathOf(fixture)), Variants[0]);
        var bytes = HalfPrecision.Convert(q4);
        Assert.Contains(ModelProto.Parser.ParseFrom(bytes).Graph.Initializer, t => t.Name.EndsWith("_scales", StringComparison.Ordinal) && t.DataType == (int)TensorProto.Types.DataType.Float16);
        var read = QuantizedGraphTests.LoadBeside(fixture, bytes);
        var fromQ4 = QuantizedGraphTests.LoadBeside(fixture, q4);
        Assert.Equal(fromQ4.Encoder.Config with { LayerNormEps = read.Encoder.Config.LayerNormEps }, read.Encoder.Config); // (the converter clamps 1e-12 to 1e-7)
        // Each product weight is its codes times the scale rounded to half: within a half-precision rounding of the 4-bit graph's.
        foreach (var t in read.Encoder.Parameters.Tensors)
        {
            float[] a = t.Value.ToArray(), b = fromQ4.Encoder.Parameters[t.Name].Value.ToArray();
            Assert.True(a.Zip(b, (x, y) => Math.Abs(x - y) <= Math.Abs(y) / 1000f + 1e-7f).All(ok => ok), $"{t.Name} is not the 4-bit graph's rounded to half");
        }
        QuantizedGraphTests.AssertCloseToOnnxRuntime(output, read, bytes, leastMean: 0.999); // half-precision activations
    }

    // all-MiniLM-L6-v2 as transformers.js quantizes it to 4 bits (model_q4.onnx: symmetric blocks of 32; model_bnb4.onnx: NF4
    // blocks of 64): the engine against ONNX Runtime on the 4-bit graph, and how far 4-bit weights moved the sentence
    // embeddings from the float model's.
    [Theory]
    [InlineData(0)]
    [InlineData(5)]
    public void AllMiniLmL6V2_InFourBits_IsReadAsOnnxRuntimeComputesIt(int variant)
    {
        var floatModel = MiniLM.Load();
        var sentences = File.ReadAllLines(QuantizedGraphTests.PathOf("pretrained/sentences.txt"));
        var reference = QuantizedGraphTests.Embed(floatModel, sentences);
        var bytes = BlockQuantization.Quantize(MiniLM.ReadResources().Onnx, Variants[variant]);
        var loaded = OnnxEncoderCheckpoint.Load(bytes, "all-MiniLM-L6-v2 4-bit", Pooling.Mean, normalize: true);
        QuantizedGraphTests.AssertCloseToOnnxRuntime(output, loaded, bytes, leastMean: 0.9999);
        var embeddings = QuantizedGraphTests.Embed(new PretrainedEncoder(loaded.Encoder, floatModel.Tokenizer, "4-bit"), sentences);
        var cosines = Enumerable.Range(0, sentences.Length).Select(i => (double)System.Numerics.Tensors.TensorPrimitives.CosineSimilarity(embeddings[i], reference[i])).ToList();
        output.WriteLine($"{Variants[variant]}: sentence embeddings' cosine with the float model's: least {cosines.Min():F4}, mean {cosines.Average():F4}");
        Assert.True(cosines.Min() >= 0.8, $"least cosine {cosines.Min():F4}");
    }

    // What the reader does not undo, or a block-quantized product stored otherwise, is refused naming the node.
    [Fact]
    public void BlockQuantizedGraphsStoredOtherwise_AreRefusedNamingTheNode()
    {
        var bytes = BlockQuantization.Quantize(File.ReadAllBytes(QuantizedGraphTests.PathOf("pretrained/small-bert.onnx")), Variants[1]);
        string Refused(Action<GraphProto> edit, byte[]? from = null)
        {
            var m = ModelProto.Parser.ParseFrom(from ?? bytes);
            edit(m.Graph);
            string refusal = Assert.Throws<InvalidDataException>(() => OnnxEncoderCheckpoint.Load(m.ToByteArray(), "edited.onnx")).Message;
            output.WriteLine(refusal);
            Assert.Contains("edited.onnx", refusal);
            return refusal;
        }
        NodeProto First(GraphProto g, string op) => g.Node.First(n => n.OpType == op);
        Assert.Contains("of 3 bits", Refused(g => First(g, "MatMulNBits").Attribute.First(a => a.Name == "bits").I = 3));
        Assert.Contains("block size of 48", Refused(g => First(g, "MatMulNBits").Attribute.First(a => a.Name == "block_size").I = 48));
        Assert.Contains("g_idx", Refused(g =>
        {
            var n = First(g, "MatMulNBits");
            n.Input.Add("g_idx");
            g.Initializer.Add(new TensorProto { Name = "g_idx", DataType = (int)TensorProto.Types.DataType.Int32, Dims = { 4 }, Int32Data = { 0, 0, 0, 0 } });
        }));
        // A weight whose K × N overflows: refused before anything is allocated.
        Assert.Contains("has a weight of K = 1099511627776", Refused(g =>
        {
            var n = First(g, "MatMulNBits");
            n.Attribute.First(a => a.Name == "K").I = 1L << 40;
            n.Attribute.First(a => a.Name == "N").I = 1L << 40;
        }));
        // K that does not match the packed weight's blocks.
        Assert.Contains("not uint8 [", Refused(g => First(g, "MatMulNBits").Attribute.First(a => a.Name == "K").I += 128));
        // Scales for fewer blocks than the weight has.
        Assert.Contains("scales in", Refused(g =>
        {
            var scales = g.Initializer.First(t => t.Name == First(g, "MatMulNBits").Input[2]);
            scales.RawData = ByteString.CopyFrom(scales.RawData.Span[..^4]);
            scales.Dims[0]--;
        }));
        // Zero points packed for another number of blocks.
        Assert.Contains("zero point", Refused(g =>
        {
            var zeros = g.Initializer.First(t => t.Name == First(g, "MatMulNBits").Input[3]);
            zeros.RawData = ByteString.CopyFrom(zeros.RawData.Span[..^1]);
            zeros.Dims[0]--;
        }));
        // A block-quantized table stored other than as int4 or uint4, and a uint4 one without zero points.
        Assert.Contains("(read are int4 and uint4)", Refused(g =>
        {
            var gather = g.Node.First(n => n.OpType == "Gather" && g.Initializer.Any(t => t.Name == n.Input[0]));
            (gather.OpType, gather.Domain) = ("GatherBlockQuantized", "com.microsoft");
            gather.Input.Add(gather.Input[0]);
        }));
        var tables = BlockQuantization.Quantize(File.ReadAllBytes(QuantizedGraphTests.PathOf("pretrained/small-bert.onnx")), Variants[8]);
        Assert.Contains("without zero points", Refused(g => First(g, "GatherBlockQuantized").Input.RemoveAt(3), tables));
        // MatMulBnb4 with a quant_type that names no table, and block maxima for fewer blocks.
        var bnb4 = BlockQuantization.Quantize(File.ReadAllBytes(QuantizedGraphTests.PathOf("pretrained/small-bert.onnx")), Variants[5]);
        Assert.Contains("quant_type 2", Refused(g => First(g, "MatMulBnb4").Attribute.First(a => a.Name == "quant_type").I = 2, bnb4));
        Assert.Contains("block maxima", Refused(g =>
        {
            var maxima = g.Initializer.First(t => t.Name == First(g, "MatMulBnb4").Input[2]);
            maxima.RawData = ByteString.CopyFrom(maxima.RawData.Span[..^4]);
            maxima.Dims[0]--;
        }, bnb4));
        // The QDQ form with scales of another block count.
        var qdq = BlockQuantization.Quantize(File.ReadAllBytes(QuantizedGraphTests.PathOf("pretrained/small-bert.onnx")), Variants[3]);
        Assert.Contains("by blocks of 8", Refused(g => First(g, "DequantizeLinear").Attribute.First(a => a.Name == "block_size").I = 8, qdq));
    }

    // A folder that holds only onnx/model_q4.onnx, or only model_q4f16.onnx, is read through it.
    [Theory]
    [InlineData("model_q4.onnx")]
    [InlineData("model_q4f16.onnx")]
    [InlineData("model_bnb4.onnx")]
    public void AFolderWithOnlyAFourBitExport_IsReadThroughIt(string name)
    {
        string dir = Directory.CreateTempSubdirectory("q4-folder").FullName;
        try
        {
            Directory.CreateDirectory(Path.Combine(dir, "onnx"));
            foreach (var f in new[] { "config.json", "vocab.txt" }) File.Copy(Path.Combine(QuantizedGraphTests.PathOf("families/gte"), f), Path.Combine(dir, f));
            var q4 = BlockQuantization.Quantize(File.ReadAllBytes(QuantizedGraphTests.PathOf("families/gte/model.onnx")), Variants[name.Contains("bnb4", StringComparison.Ordinal) ? 5 : 0]);
            File.WriteAllBytes(Path.Combine(dir, "onnx", name), name.Contains("f16", StringComparison.Ordinal) ? HalfPrecision.Convert(q4) : q4);
            Assert.Equal(Path.Combine(dir, "onnx", name), PretrainedCheckpoint.OnnxExportIn(dir));
            var encoder = OnnxEncoderCheckpoint.LoadFolder(dir, maxTokens: 12);
            Assert.Equal(OnnxEncoderCheckpoint.Load(QuantizedGraphTests.PathOf("families/gte/model.onnx")).Encoder.Config, encoder.Encoder.Config);
            // An 8-bit export, where there is one, is read before it.
            File.WriteAllBytes(Path.Combine(dir, "onnx", "model_quantized.onnx"), DynamicQuantization.Quantize(File.ReadAllBytes(QuantizedGraphTests.PathOf("families/gte/model.onnx")), new()));
            Assert.Equal(Path.Combine(dir, "onnx", "model_quantized.onnx"), PretrainedCheckpoint.OnnxExportIn(dir));
        }
        finally { Directory.Delete(dir, recursive: true); }
    }
}
