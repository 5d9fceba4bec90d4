using Microsoft.ML.OnnxRuntime;
using Microsoft.ML.OnnxRuntime.Tensors;
using MLNetTransformers.Core.Layers;
using MLNetTransformers.Core.Models;
using Xunit;

namespace MLNetTransformers.Onnx.Tests;

/// <summary>The encoder-decoder's two ONNX graphs: the decoding loops over ONNX Runtime give what the managed engine gives.</summary>
public class Seq2SeqExportTests
{
    private static TransformerSeq2Seq Model(NormPlacement norm, bool tied, PositionalEncodingKind pe = PositionalEncodingKind.Learned, int sourceVocab = 0)
    {
        var config = new Seq2SeqConfig(new TransformerConfig
        {
            VocabSize = 23, ModelDim = 16, Heads = 4, Layers = 2, FeedForwardDim = 32, MaxLength = 14, Dropout = 0f, Norm = norm, PositionalEncoding = pe,
        }) { TiedEmbeddings = tied, SourceVocabSize = sourceVocab };
        var model = new TransformerSeq2Seq(config, 5);
        Weights.Scramble(model.Parameters, 6);
        model.Head.Bias!.Value[2] += 1.5f; // the end token comes often enough that searches end at different steps
        return model;
    }

    private static int[][] Sources(int vocab, int seed)
    {
        var rng = new Random(seed);
        return Enumerable.Range(0, 7).Select(_ => Enumerable.Range(0, 1 + rng.Next(9)).Select(_ => 3 + rng.Next(vocab - 3)).ToArray()).ToArray();
    }

    [Theory]
    [InlineData(NormPlacement.PreNorm, false, PositionalEncodingKind.Learned, 0)]
    [InlineData(NormPlacement.PostNorm, true, PositionalEncodingKind.Sinusoidal, 0)]
    [InlineData(NormPlacement.PreNorm, false, PositionalEncodingKind.Learned, 31)]
    public void GreedyBeamAndSamplingLoops_OverOnnxRuntime_GiveTheManagedTranslations(NormPlacement norm, bool tied, PositionalEncodingKind pe, int sourceVocab)
    {
        var model = Model(norm, tied, pe, sourceVocab);
        string dir = Path.Combine(Directory.CreateTempSubdirectory().FullName, "export");
        OnnxExporter.Export(model).Save(dir);
        Assert.True(File.Exists(Path.Combine(dir, Seq2SeqOnnxGraphs.EncoderFileName)) && File.Exists(Path.Combine(dir, Seq2SeqOnnxGraphs.DecoderFileName)));
        using var onnx = OnnxSeq2SeqModel.Load(dir);
        Assert.Equal(model.Config, onnx.Config);
        var managed = new Seq2SeqDecoder(model);
        var runtime = new Seq2SeqDecoder(onnx.CreateIncrementalDecoder());
        var sources = Sources(sourceVocab == 0 ? 23 : sourceVocab, 3);
        foreach (var options in new[]
        {
            new Seq2SeqDecodingOptions { BeamWidth = 1 },
            new Seq2SeqDecodingOptions { BeamWidth = 4, NBest = 3, BatchSize = 3 },
            new Seq2SeqDecodingOptions { BeamWidth = 1, Sample = true, TopK = 5, Seed = 9 },
        })
        {
            var expected = managed.Decode(sources, 1, 2, options);
            var actual = runtime.Decode(sources, 1, 2, options);
            for (int i = 0; i < sources.Length; i++)
            {
                Assert.Equal(expected[i].Select(h => h.Tokens), actual[i].Select(h => h.Tokens));
                for (int k = 0; k < expected[i].Count; k++) Assert.Equal(expected[i][k].LogProbability, actual[i][k].LogProbability, 3);
            }
        }
        Assert.Contains(managed.Decode(sources, 1, 2, new() { BeamWidth = 1 }), r => r[0].Tokens.Length < 14 - 1); // some end early
    }

    [Theory]
    [InlineData(Seq2SeqArchitecture.Gru, RnnAttentionKind.Additive)]
    [InlineData(Seq2SeqArchitecture.GruAttention, RnnAttentionKind.Additive)]
    [InlineData(Seq2SeqArchitecture.GruAttention, RnnAttentionKind.Dot)]
    [InlineData(Seq2SeqArchitecture.GruAttention, RnnAttentionKind.General)]
    public void GruModels_OverOnnxRuntime_GiveTheManagedTranslations(Seq2SeqArchitecture arch, RnnAttentionKind attention)
    {
        var config = new Seq2SeqConfig(new TransformerConfig { VocabSize = 23, ModelDim = 12, Heads = 1, Layers = 1, FeedForwardDim = 1, MaxLength = 14, Dropout = 0f })
        {
            Architecture = arch, Attention = attention, EmbeddingDim = 7, EncoderHiddenSize = attention == RnnAttentionKind.Dot ? 6 : 5, SourceVocabSize = 29,
        };
        var model = new RnnSeq2Seq(config, 5);
        Weights.Scramble(model.Parameters, 6);
        model.Output.Bias!.Value[2] += 1.5f;
        string dir = Path.Combine(Directory.CreateTempSubdirectory().FullName, "gru");
        OnnxExporter.Export(model).Save(dir);
        using var onnx = OnnxSeq2SeqModel.Load(dir);
        Assert.Equal(model.Config, onnx.Config);
        var managed = new Seq2SeqDecoder(model.CreateIncrementalDecoder());
        var runtime = new Seq2SeqDecoder(onnx.CreateIncrementalDecoder());
        var sources = Sources(29, 4); // uneven lengths: the GRU operator's sequence_lens and the masks matter
        foreach (var options in new[] { new Seq2SeqDecodingOptions { BeamWidth = 1 }, new Seq2SeqDecodingOptions { BeamWidth = 3, NBest = 2, BatchSize = 4 } })
        {
            var expected = managed.Decode(sources, 1, 2, options);
            var actual = runtime.Decode(sources, 1, 2, options);
            for (int i = 0; i < sources.Length; i++)
            {
                Assert.Equal(expected[i].Select(h => h.Tokens), actual[i].Select(h => h.Tokens));
                for (int k = 0; k < expected[i].Count; k++) Assert.Equal(expected[i][k].LogProbability, actual[i][k].LogProbability, 3);
            }
        }
    }

    [Fact]
    public void DecoderStepGraph_TakesManyNewTokensAtOnce_AndMatchesTheFullForwardPass()
    {
        // The plain InferenceSession contract of onnx/README.md: a prefix of 4 target tokens fed at once (past length 0)
        // gives the same logits as the managed forward pass, and present keys/values of 4 positions.
        var model = Model(NormPlacement.PreNorm, tied: false);
        var graphs = OnnxExporter.Export(model);
        using var encoder = new InferenceSession(graphs.Encoder);
        using var decoder = new InferenceSession(graphs.Decoder);
        int[] source = { 5, 6, 7, 8, 9 }, target = { 1, 10, 11, 12 };
        var enc = encoder.Run(new[]
        {
            NamedOnnxValue.CreateFromTensor("input_ids", new DenseTensor<long>(source.Select(x => (long)x).ToArray(), new[] { 1, 5 })),
            NamedOnnxValue.CreateFromTensor("attention_mask", new DenseTensor<long>(Enumerable.Repeat(1L, 5).ToArray(), new[] { 1, 5 })),
        }).ToDictionary(r => r.Name, r => r.AsTensor<float>().ToDenseTensor());
        var inputs = new List<NamedOnnxValue>
        {
            NamedOnnxValue.CreateFromTensor("input_ids", new DenseTensor<long>(target.Select(x => (long)x).ToArray(), new[] { 1, 4 })),
            NamedOnnxValue.CreateFromTensor("encoder_attention_mask", new DenseTensor<long>(Enumerable.Repeat(1L, 5).ToArray(), new[] { 1, 5 })),
        };
        for (int i = 0; i < 2; i++)
        {
            foreach (var kv in new[] { "key", "value" })
            {
                inputs.Add(NamedOnnxValue.CreateFromTensor($"past_key_values.{i}.decoder.{kv}", new DenseTensor<float>(new[] { 1, 4, 0, 4 })));
                inputs.Add(NamedOnnxValue.CreateFromTensor($"past_key_values.{i}.encoder.{kv}", enc[$"present.{i}.encoder.{kv}"]));
            }
        }
        using var results = decoder.Run(inputs);
        var logits = results.Single(r => r.Name == "logits").AsTensor<float>().ToArray();
        Assert.Equal(new[] { 1, 4, 4, 4 }, results.Single(r => r.Name == "present.1.decoder.key").AsTensor<float>().Dimensions.ToArray());
        var expected = model.Forward(new TokenBatch(1, 4, target) { Source = new TokenBatch(1, 5, source) }).AsSpan(0, 4 * 23).ToArray();
        for (int i = 0; i < expected.Length; i++) Assert.Equal(expected[i], logits[i], 4);
    }

    [Fact]
    public void BadExports_AreRefusedNamingTheFile()
    {
        var graphs = OnnxExporter.Export(Model(NormPlacement.PreNorm, tied: false));
        string dir = Directory.CreateTempSubdirectory().FullName;
        Assert.Contains("decoder_model.onnx", Assert.Throws<FileNotFoundException>(() => OnnxSeq2SeqModel.Load(dir)).Message);
        // The graphs swapped: each is refused as the wrong kind.
        Assert.Contains("Seq2SeqEncoder graph", Assert.Throws<InvalidDataException>(() => OnnxSeq2SeqModel.Load(new Seq2SeqOnnxGraphs(graphs.Decoder, graphs.Encoder))).Message);
        // A decoder of another model.
        var other = OnnxExporter.Export(new TransformerSeq2Seq(new TransformerConfig { VocabSize = 23, ModelDim = 8, Heads = 2, Layers = 1, FeedForwardDim = 8, MaxLength = 14 }));
        Assert.Contains("different models", Assert.Throws<InvalidDataException>(() => OnnxSeq2SeqModel.Load(new Seq2SeqOnnxGraphs(graphs.Encoder, other.Decoder))).Message);
        // A flipped byte in a weight: the checksum refuses it.
        var corrupt = (byte[])graphs.Decoder.Clone();
        corrupt[^100] ^= 0x40;
        Assert.Contains("corrupt", Assert.Throws<InvalidDataException>(() => OnnxSeq2SeqModel.Load(new Seq2SeqOnnxGraphs(graphs.Encoder, corrupt))).Message);
        // The weight importer does not mistake a graph of an encoder-decoder for a classifier.
        Assert.Throws<NotSupportedException>(() => OnnxImporter.Import(graphs.Decoder));
        Assert.Contains("is a file", Assert.Throws<IOException>(() => graphs.Save(Path.Combine(dir, "x").Also(p => File.WriteAllText(p, "")))).Message);
    }
}

internal static class StringExtensions
{
    public static string Also(this string s, Action<string> act) { act(s); return s; }
}
