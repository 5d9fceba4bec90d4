using System.Text.Json.Nodes;
using MLNetTransformers.Core.Layers;
using MLNetTransformers.Core.Models;
using MLNetTransformers.Core.Pretrained;
using Xunit;

namespace MLNetTransformers.Core.Tests;

/// <summary>
/// An encoder written as a Hugging Face folder reads back to the same encoder, and its tensors are the ones PyTorch's
/// reference module wrote under the same names; shapes a family's config cannot say are refused before anything is written.
/// </summary>
public class HuggingFaceExportTests
{
    private static T InTemporaryFolder<T>(Func<string, T> use)
    {
        string dir = Directory.CreateTempSubdirectory("hf-export").FullName;
        try { return use(dir); }
        finally { Directory.Delete(dir, recursive: true); }
    }

    [Theory]
    [InlineData("bert", "BERT")]
    [InlineData("distilbert", "DistilBERT")]
    [InlineData("roberta", "RoBERTa")]
    [InlineData("electra", "ELECTRA")]
    [InlineData("roformer", "RoFormer")]
    [InlineData("mpnet", "MPNet")]
    [InlineData("albert", "ALBERT")]
    [InlineData("deberta", "DeBERTa-v2")]
    [InlineData("deberta-conv", "DeBERTa-v2")] // the convolution after the first layer written back as encoder.conv
    [InlineData("jina", "JinaBERT")]
    [InlineData("gte", "GTE")]
    [InlineData("esm", "ESM")]
    [InlineData("esm1b", "ESM")]
    [InlineData("megatron", "MegatronBERT")]
    [InlineData("roberta-prelayernorm", "RoBERTa-PreLayerNorm")]
    [InlineData("xlmr-xl", "XLM-RoBERTa-XL")]
    public void EachFamily_ReadsBackToTheSameEncoder(string fixture, string family)
    {
        var original = PretrainedCheckpoint.LoadFolder(PretrainedCheckpointTests.Folder(fixture)).Encoder;
        var back = InTemporaryFolder(dir =>
        {
            Assert.Equal(family, PretrainedCheckpoint.SaveFolder(original, dir).Name);
            Assert.False(File.Exists(Path.Combine(dir, "modules.json")) && original.Config.Pooler);
            return PretrainedCheckpoint.LoadFolder(dir);
        });
        Assert.Equal(family, back.Family.Name);
        Assert.Equal(original.Config, back.Encoder.Config);
        Assert.Equal(original.Parameters.Data, back.Encoder.Parameters.Data);
        Assert.Empty(back.Unused);
    }

    // The fixtures were written by PyTorch with Hugging Face's names (BERT's: a bert. prefix, old gamma/beta names in the
    // embeddings): every tensor written holds exactly the values of the tensor of the same name there (q, k and v separately
    // for BERT; the packed and gated projections as they are for the others), and no other tensor is written.
    [Theory]
    [InlineData("bert", "bert.", "encoder.layer.1.attention.self.key.weight")]
    [InlineData("nomic", "", "encoder.layers.1.mlp.fc11.weight")]
    [InlineData("jina", "", "encoder.layer.1.mlp.gated_layers.weight")]
    [InlineData("gte", "", "encoder.layer.1.mlp.up_gate_proj.weight")]
    [InlineData("megatron", "bert.", "encoder.layer.1.attention.ln.weight")]
    [InlineData("esm1b", "esm.", "encoder.emb_layer_norm_after.weight")]
    [InlineData("roberta-prelayernorm", "roberta_prelayernorm.", "LayerNorm.weight")]
    [InlineData("xlmr-xl", "roberta.", "encoder.layer.1.attention.self_attn_layer_norm.weight")]
    public void TensorsWritten_AreThePyTorchCheckpointsOwn_NameByName(string fixtureName, string prefix, string oneOfThem)
    {
        string fixture = PretrainedCheckpointTests.Folder(fixtureName);
        var encoder = PretrainedCheckpoint.LoadFolder(fixture).Encoder;
        InTemporaryFolder(dir =>
        {
            PretrainedCheckpoint.SaveFolder(encoder, dir);
            using var written = SafeTensorsFile.Open(Path.Combine(dir, "model.safetensors"));
            using var source = SafeTensorsFile.Open(Path.Combine(fixture, "model.safetensors"));
            Assert.Contains(oneOfThem, written.Shapes.Keys);
            SameTensors(written, source, name => prefix + name);
            Assert.Equal(source.Shapes.Keys.Count(k => k.StartsWith(prefix, StringComparison.Ordinal) && !k.EndsWith("position_ids", StringComparison.Ordinal)), written.Shapes.Count);
            return 0;
        });
    }

    /// <summary>The config.json <see cref="PretrainedCheckpoint.SaveFolder"/> writes for <paramref name="encoder"/>.</summary>
    internal static JsonNode WrittenConfig(TransformerEncoder encoder) => InTemporaryFolder(dir =>
    {
        PretrainedCheckpoint.SaveFolder(encoder, dir);
        return JsonNode.Parse(File.ReadAllText(Path.Combine(dir, "config.json")))!;
    });

    /// <summary>
    /// Every tensor of <paramref name="written"/> holds, bit for bit, the values of the tensor <paramref name="there"/>
    /// names in <paramref name="source"/> (the embeddings' LayerNorm by its old gamma/beta names when the source uses them).
    /// </summary>
    internal static void SameTensors(SafeTensorsFile written, SafeTensorsFile source, Func<string, string> there)
    {
        foreach (var (name, shape) in written.Shapes)
        {
            string other = there(name);
            if (!source.Shapes.ContainsKey(other)) other = other.Replace("LayerNorm.weight", "LayerNorm.gamma").Replace("LayerNorm.bias", "LayerNorm.beta");
            Assert.Equal(source.Shapes[other], shape);
            int n = shape.Aggregate(1, (a, d) => a * d);
            float[] a = new float[n], b = new float[n];
            written.Read(name, a);
            source.Read(other, b);
            Assert.True(a.AsSpan().SequenceEqual(b), name);
        }
    }

    [Fact]
    public void AnEmbeddingModel_GetsSentenceTransformersModules_ThatReadBackToItsPooling()
    {
        var meanUnit = PretrainedCheckpoint.LoadFolder(PretrainedCheckpointTests.Folder("bert"), Pooling.Mean, normalize: true).Encoder;
        Assert.False(meanUnit.Config.Pooler);
        var back = InTemporaryFolder(dir =>
        {
            PretrainedCheckpoint.SaveFolder(meanUnit, dir);
            Assert.True(File.Exists(Path.Combine(dir, "modules.json")) && File.Exists(Path.Combine(dir, "1_Pooling", "config.json")) && Directory.Exists(Path.Combine(dir, "2_Normalize")));
            using (var written = SafeTensorsFile.Open(Path.Combine(dir, "model.safetensors"))) Assert.DoesNotContain("pooler.dense.weight", written.Shapes.Keys);
            return PretrainedCheckpoint.LoadFolder(dir).Encoder;
        });
        Assert.Equal(meanUnit.Config, back.Config);
        Assert.Equal(meanUnit.Parameters.Data, back.Parameters.Data);
    }

    // The library's own pre-norm shape (learned positions, no LayerNorm on the embeddings, a final norm) with token types,
    // as a sentence-pair model trained from scratch has it, is MegatronBERT's: written as one and read back the same.
    // data2vec-text's encoder is RoBERTa's: written back as a RoBERTa folder, its tensors the checkpoint's own under roberta.
    [Fact]
    public void Data2VecText_IsWrittenBackAsRoberta()
    {
        string fixture = PretrainedCheckpointTests.Folder("data2vec-text");
        var loaded = PretrainedCheckpoint.LoadFolder(fixture);
        Assert.Equal("data2vec-text", loaded.Family.Name);
        InTemporaryFolder(dir =>
        {
            Assert.Same(EncoderFamily.Roberta, PretrainedCheckpoint.SaveFolder(loaded.Encoder, dir));
            using var written = SafeTensorsFile.Open(Path.Combine(dir, "model.safetensors"));
            using var source = SafeTensorsFile.Open(Path.Combine(fixture, "model.safetensors"));
            SameTensors(written, source, name => "data2vec_text." + name);
            Assert.Equal(loaded.Encoder.Parameters.Data, PretrainedCheckpoint.LoadFolder(dir).Encoder.Parameters.Data);
            return 0;
        });
    }

    [Fact]
    public void TheLibrarysPreNormShapeWithTokenTypes_IsWrittenAsMegatronBert()
    {
        var own = new TransformerEncoder(new TransformerConfig { VocabSize = 40, ModelDim = 16, Layers = 2, Heads = 2, FeedForwardDim = 32, MaxLength = 24, TypeVocabSize = 2 });
        Assert.Equal((NormPlacement.PreNorm, false), (own.Config.Norm, own.Config.EmbeddingNorm));
        var back = InTemporaryFolder(dir =>
        {
            Assert.Same(EncoderFamily.MegatronBert, PretrainedCheckpoint.SaveFolder(own, dir));
            Assert.Equal("megatron-bert", JsonNode.Parse(File.ReadAllText(Path.Combine(dir, "config.json")))!["model_type"]!.GetValue<string>());
            return PretrainedCheckpoint.LoadFolder(dir).Encoder;
        });
        Assert.Equal(own.Parameters.Data, back.Parameters.Data);
        Assert.Equal((own.Config.Norm, own.Config.EmbeddingNorm, own.Config.TypeVocabSize, own.Config.LayerNormEps), (back.Config.Norm, back.Config.EmbeddingNorm, back.Config.TypeVocabSize, back.Config.LayerNormEps));
    }

    [Fact]
    public void AShapeNoFamilyConfigCanSay_IsRefusedBeforeAnythingIsWritten()
    {
        var preNorm = new TransformerEncoder(new TransformerConfig
        {
            VocabSize = 40, ModelDim = 16, Layers = 1, Heads = 2, FeedForwardDim = 32, MaxLength = 24, TypeVocabSize = 2,
            Norm = NormPlacement.PreNorm, PositionalEncoding = PositionalEncodingKind.Learned, EmbeddingNorm = true,
        });
        InTemporaryFolder(dir =>
        {
            string target = Path.Combine(dir, "model");
            var e = Assert.Throws<NotSupportedException>(() => PretrainedCheckpoint.SaveFolder(preNorm, target));
            Assert.Contains("A BERT config.json cannot describe this encoder: its Norm is PreNorm", e.Message);
            Assert.False(Directory.Exists(target));
            return 0;
        });
    }
}
