using Xunit;
using Xunit.Abstractions;

namespace MLNetTransformers.Onnx.Tests;

/// <summary>
/// Half-precision graphs as onnxconverter-common writes them (<see cref="HalfPrecision"/>) of every family's PyTorch
/// export: read as the float graph of their float16 weights, each weight the float export's rounded to half exactly, and
/// computing what ONNX Runtime computes on the half-precision graph; ModernBERT's, whose rotary base the converter clamps, refused.
/// </summary>
public sealed class HalfPrecisionGraphTests(ITestOutputHelper output)
{
    public static IEnumerable<object[]> Fixtures() => new[]
    {
        "pretrained/small-bert.onnx", "pretrained/small-roberta.onnx", "pretrained/small-distilbert.onnx", "pretrained/small-electra.onnx",
        "pretrained/small-mpnet.onnx", "pretrained/small-albert.onnx", "pretrained/small-deberta.onnx",
        "families/nomic/model.onnx", "families/jina/model.onnx", "families/gte/model.onnx",
    }.Select(f => new object[] { f });

    [Theory]
    [MemberData(nameof(Fixtures))]
    public void AHalfPrecisionGraph_IsReadAsTheFloatGraphOfItsWeights(string fixture)
    {
        var original = OnnxEncoderCheckpoint.Load(QuantizedGraphTests.PathOf(fixture));
        var bytes = HalfPrecision.Convert(File.ReadAllBytes(QuantizedGraphTests.PathOf(fixture)));
        var read = QuantizedGraphTests.LoadBeside(fixture, bytes);
        Assert.Equal(original.Family.Name, read.Family.Name);
        // A LayerNorm epsilon the graph adds as a constant was clamped into half's range, as the converter clamps it.
        float eps = original.Encoder.Config.LayerNormEps;
        Assert.True(read.Encoder.Config.LayerNormEps == eps || read.Encoder.Config.LayerNormEps == (float)(Half)Math.Max(eps, 1e-7f), $"epsilon {read.Encoder.Config.LayerNormEps}");
        Assert.Equal(original.Encoder.Config with { LayerNormEps = read.Encoder.Config.LayerNormEps }, read.Encoder.Config);
        // Every weight is the float export's rounded to half, exactly.
        foreach (var t in read.Encoder.Parameters.Tensors)
            Assert.Equal(original.Encoder.Parameters[t.Name].Value.ToArray().Select(v => (float)(Half)v), t.Value.ToArray());
        output.WriteLine($"{fixture}: epsilon {eps} read as {read.Encoder.Config.LayerNormEps}");
        QuantizedGraphTests.AssertCloseToOnnxRuntime(output, read, bytes, leastMean: 0.995);
    }

    // ModernBERT's graph computes its rotary base of 160,000 from a constant, which the converter clamps to 10⁴: the graph
    // then computes another model than its config.json describes, and is refused saying what may have happened.
    [Fact]
    public void AHalfPrecisionGraphWhoseConstantsWereClamped_IsRefusedSayingSo()
    {
        var bytes = HalfPrecision.Convert(File.ReadAllBytes(QuantizedGraphTests.PathOf("families/modernbert/model.onnx")));
        string path = QuantizedGraphTests.WriteBeside("families/modernbert/model.onnx", bytes);
        try
        {
            var e = Assert.Throws<InvalidDataException>(() => OnnxEncoderCheckpoint.Load(path));
            Assert.Contains("computes something else", e.Message);
            Assert.Contains("such as a rotary base above 10,000", e.Message);
            // Its float export is read.
            Assert.Equal("ModernBERT", OnnxEncoderCheckpoint.Load(QuantizedGraphTests.PathOf("families/modernbert/model.onnx")).Family.Name);
        }
        finally { Directory.Delete(Path.GetDirectoryName(path)!, recursive: true); }
    }

    // all-MiniLM-L6-v2 in half precision: read, close to what ONNX Runtime computes on the half-precision graph.
    [Fact]
    public void AllMiniLmL6V2_InHalfPrecision_IsReadCloseToWhatOnnxRuntimeComputes()
    {
        var bytes = HalfPrecision.Convert(MLNetTransformers.Pretrained.MiniLM.ReadResources().Onnx);
        var loaded = OnnxEncoderCheckpoint.Load(bytes, "all-MiniLM-L6-v2 fp16", Core.Models.Pooling.Mean, normalize: true);
        QuantizedGraphTests.AssertCloseToOnnxRuntime(output, loaded, bytes, leastMean: 0.999);
    }
}
