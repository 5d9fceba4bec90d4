using Google.Protobuf;
using MLNetTransformers.Onnx.Proto;
using Xunit;
using Xunit.Abstractions;

namespace MLNetTransformers.Onnx.Tests;

/// <summary>
/// Graphs as ONNX Runtime's transformer optimizer writes them (<see cref="OptimizerFusion"/>: EmbedLayerNormalization,
/// one Attention per block with the query, key and value weights side by side, SkipLayerNormalization, BiasGelu or
/// FastGelu) of BERT, DistilBERT, ELECTRA and ALBERT exports and of all-MiniLM-L6-v2: read to the same config and weights as
/// the graphs they were made from, ONNX Runtime running the fused operators confirming the encoder (the reader's probe).
/// </summary>
public class FusedGraphTests(ITestOutputHelper output)
{
    [Theory]
    [InlineData("small-bert.onnx", "BERT")]
    [InlineData("small-distilbert.onnx", "DistilBERT")]
    [InlineData("small-electra.onnx", "ELECTRA")] // its embeddings projected between EmbedLayerNormalization and the first block
    [InlineData("small-albert.onnx", "ALBERT")] // each shared set of weights serving several Attention nodes
    public void AGraphFusedByTheTransformerOptimizer_ReadsToTheSameWeights(string fixture, string family)
    {
        var original = OnnxEncoderCheckpoint.Load(QuantizedGraphTests.PathOf("pretrained/" + fixture));
        var fused = OptimizerFusion.Write(original);
        Assert.Contains(ModelProto.Parser.ParseFrom(fused).Graph.Node, n => n.OpType == "Attention");
        var read = OnnxEncoderCheckpoint.Load(fused, "fused.onnx");
        Assert.Equal(family, read.Family.Name);
        Assert.Equal(original.Encoder.Config, read.Encoder.Config);
        Assert.Equal(original.Encoder.Parameters.Data, read.Encoder.Parameters.Data);
    }

    // A fused graph quantized by quantize_dynamic (optimum's optimization then its dynamic quantization): QAttention,
    // QEmbedLayerNormalization and MatMulInteger read as the fused graph of the dequantized weights, each within half a
    // step of the fused graph's, close to what ONNX Runtime's quantized operators compute.
    [Theory]
    [InlineData("small-bert.onnx", false)]
    [InlineData("small-bert.onnx", true)]
    [InlineData("small-distilbert.onnx", true)]
    [InlineData("small-electra.onnx", false)]
    [InlineData("small-albert.onnx", true)]
    public void AFusedGraphQuantizedDynamically_IsReadAsTheFloatGraphOfItsWeights(string fixture, bool perChannel)
    {
        var original = OnnxEncoderCheckpoint.Load(QuantizedGraphTests.PathOf("pretrained/" + fixture));
        var bytes = DynamicQuantization.Quantize(OptimizerFusion.Write(original), new(SignedWeights: perChannel, PerChannel: perChannel, Tables: false));
        var graph = ModelProto.Parser.ParseFrom(bytes).Graph;
        Assert.Contains(graph.Node, n => n.OpType == "QAttention");
        var read = OnnxEncoderCheckpoint.Load(bytes, "fused-quantized.onnx");
        Assert.Equal(original.Encoder.Config, read.Encoder.Config);
        int quantized = QuantizedGraphTests.CountQuantized(read, original, largest => largest / 120f); // half a 7-bit step, with rounding to spare
        output.WriteLine($"{fixture} {(perChannel ? "int8 per column" : "uint8")}: {string.Join(", ", graph.Node.Where(n => n.Domain == "com.microsoft").Select(n => n.OpType).Distinct())}; {quantized} of {read.Encoder.Parameters.Tensors.Count} tensors quantized");
        Assert.True(quantized >= read.Encoder.Config.ParameterLayers * 4, $"{quantized} tensors quantized"); // at least each block's query, key, value and output weights
        QuantizedGraphTests.AssertCloseToOnnxRuntime(output, read, bytes, leastMean: 0.99);
    }

    [Fact]
    public void AllMiniLmL6V2_FusedByTheTransformerOptimizer_ReadsToTheSameWeights()
    {
        // (Mean pooling, as sentence-transformers pool it: the graph written holds no pooler.)
        var original = OnnxEncoderCheckpoint.Load(MLNetTransformers.Pretrained.MiniLM.ReadResources().Onnx, "all-MiniLM-L6-v2", Core.Models.Pooling.Mean);
        var read = OnnxEncoderCheckpoint.Load(OptimizerFusion.Write(original), "all-MiniLM-L6-v2 optimized", Core.Models.Pooling.Mean);
        Assert.Equal(original.Encoder.Config, read.Encoder.Config);
        Assert.Equal(original.Encoder.Parameters.Data, read.Encoder.Parameters.Data);
    }

    // Fused attention that is not a BERT block's, or not followed by a layer's named output projection, is refused by node.
    [Fact]
    public void FusedAttentionThatIsNotABertBlocks_IsRefusedNamingTheNode()
    {
        var fused = OptimizerFusion.Write(OnnxEncoderCheckpoint.Load(QuantizedGraphTests.PathOf("pretrained/small-bert.onnx")));
        string Refused(Action<GraphProto> edit)
        {
            var m = ModelProto.Parser.ParseFrom(fused);
            edit(m.Graph);
            return Assert.Throws<InvalidDataException>(() => OnnxEncoderCheckpoint.Load(m.ToByteArray(), "edited.onnx")).Message;
        }
        Assert.Contains("is causal", Refused(g => g.Node.First(n => n.OpType == "Attention").Attribute.Add(new AttributeProto { Name = "unidirectional", Type = AttributeProto.Types.AttributeType.Int, I = 1 })));
        Assert.Contains("not followed by an output projection", Refused(g =>
        {
            var skip = g.Node.First(n => n.OpType == "SkipLayerNormalization");
            var bias = g.Initializer.First(t => t.Name == skip.Input[4]);
            bias.Name = skip.Input[4] = "renamed_bias";
        }));
        Assert.Contains("does not divide the width", Refused(g => g.Node.First(n => n.OpType == "Attention").Attribute.First(a => a.Name == "num_heads").I = 3));
        // Another head count that divides the width is another model, which the graph then computes: read as that one.
        var oneHead = ModelProto.Parser.ParseFrom(fused);
        foreach (var n in oneHead.Graph.Node.Where(n => n.OpType == "Attention")) n.Attribute.First(a => a.Name == "num_heads").I = 1;
        Assert.Equal(1, OnnxEncoderCheckpoint.Load(oneHead.ToByteArray(), "one-head.onnx").Encoder.Config.Heads);
    }
}
