using MLNetTransformers.Core.Layers;
using MLNetTransformers.Core.Kernels;
using MLNetTransformers.Core.Pretrained;
using Xunit;

namespace MLNetTransformers.Core.Tests;

/// <summary>
/// MosaicBERT (mosaicml's bert_layers.py, DNABERT-2's code): its config.json read by alibi_starting_size and refused by
/// name, and its folder written back in JinaBERT's layout (outputs, gradients: PretrainedCheckpointTests; classifier logits:
/// SequenceClassifierCheckpointTests; both on make_pretrained.py's MosaicBert module, whose Wqkv packs q, k, v).
/// </summary>
public class MosaicBertTests
{
    // model_type bert with alibi_starting_size is MosaicBERT even though its position_embedding_type says absolute (its
    // code ignores the key); the same config without it is BERT's; a hidden_act other than gelu is refused by name.
    [Fact]
    public void Config_IsMosaicBertByItsAlibiStartingSize()
    {
        var config = PretrainedCheckpointTests.FixtureConfig("mosaic");
        Assert.Equal("absolute", config["position_embedding_type"]!.GetValue<string>());
        var (family, c) = PretrainedCheckpointTests.ReadConfig(config);
        Assert.Same(EncoderFamily.MosaicBert, family);
        Assert.Equal((true, PositionalEncodingKind.None, true, false, Activation.Gelu, 64), (c.Alibi, c.PositionalEncoding, c.GatedFeedForward, c.ExpansionBias, c.Activation, c.VocabularyMultiple));
        config.Remove("alibi_starting_size");
        Assert.Same(EncoderFamily.Bert, PretrainedCheckpointTests.ReadConfig(config).Item1);
        var relu = PretrainedCheckpointTests.FixtureConfig("mosaic");
        relu["hidden_act"] = "relu";
        var refused = Assert.Throws<NotSupportedException>(() => PretrainedCheckpointTests.ReadConfig(relu));
        Assert.Contains("hidden_act 'relu'", refused.Message);
    }

    // Written back, a MosaicBERT encoder is a JinaBERT folder (query, key and value apart, position_embedding_type alibi),
    // which reads to the same weights and hidden states.
    [Fact]
    public void WrittenBack_IsJinaBertsLayout_OfTheSameModel()
    {
        var loaded = PretrainedCheckpoint.LoadFolder(PretrainedCheckpointTests.Folder("mosaic"));
        string dir = Directory.CreateTempSubdirectory("mosaic-written").FullName;
        try
        {
            Assert.Same(EncoderFamily.JinaBert, PretrainedCheckpoint.SaveFolder(loaded.Encoder, dir));
            File.Copy(Path.Combine(PretrainedCheckpointTests.Folder("mosaic"), "vocab.txt"), Path.Combine(dir, "vocab.txt"));
            using (var written = SafeTensorsFile.Open(Path.Combine(dir, "model.safetensors")))
                Assert.Contains("encoder.layer.0.attention.self.query.weight", written.Shapes.Keys);
            var read = PretrainedCheckpoint.LoadFolder(dir);
            Assert.Same(EncoderFamily.JinaBert, read.Family);
            Assert.Equal(loaded.Encoder.Config, read.Encoder.Config);
            Assert.Equal(loaded.Encoder.Parameters.Data, read.Encoder.Parameters.Data);
            int[] ids = [2, 8, 9, 12, 10, 3, 0, 0];
            var padding = ids.Select(i => i == 0).ToArray();
            Assert.Equal(loaded.Encoder.Forward(ids, null, 1, ids.Length, padding, training: false), read.Encoder.Forward(ids, null, 1, ids.Length, padding, training: false));
        }
        finally { Directory.Delete(dir, recursive: true); }
    }
}
