using System.Text.Json.Nodes;
using MLNetTransformers.Core.Layers;
using MLNetTransformers.Core.Models;
using MLNetTransformers.Core.Pretrained;
using Xunit;

namespace MLNetTransformers.Core.Tests;

/// <summary>
/// RoFormer (model_type roformer): its rotary layout against its definition, its shape end to end (finite differences,
/// padded = packed = tiled), its config.json read and refused by name. The folders make_pretrained.py writes from a
/// PyTorch module with its names: PretrainedCheckpointTests (outputs, every gradient), SequenceClassifierCheckpointTests
/// (logits, written back), HuggingFaceExportTests (tensors written back).
/// </summary>
public class RoFormerTests
{
    // apply_rotary_position_embeddings on one head: components 2i and 2i + 1 turned by p / 10000^(2i/hd), the angles of its
    // table (numpy's doubles, stored as float32); the inverse turns them back.
    [Fact]
    public void InterleavedRotation_TurnsAdjacentPairs_ByRoFormersAngles()
    {
        const int hd = 8, heads = 1, t = 5;
        var rotary = new RotaryPositions(hd, 10_000f, interleaved: true);
        var rng = new Random(3);
        var qkv = Enumerable.Range(0, t * 3 * hd).Select(_ => (float)(rng.NextDouble() * 2 - 1)).ToArray();
        var before = qkv.ToArray();
        rotary.Rotate(qkv, 3 * hd, heads * hd, 1, t, null, inverse: false);
        for (int p = 0; p < t; p++)
            for (int part = 0; part < 2; part++) // queries, keys
                for (int i = 0; i < hd / 2; i++)
                {
                    double angle = p / Math.Pow(10_000, 2.0 * i / hd);
                    float cos = (float)Math.Cos(angle), sin = (float)Math.Sin(angle);
                    int at = p * 3 * hd + part * hd + 2 * i;
                    Assert.Equal(before[at] * cos - before[at + 1] * sin, qkv[at], 5);
                    Assert.Equal(before[at + 1] * cos + before[at] * sin, qkv[at + 1], 5);
                }
        Assert.Equal(before.AsSpan(2 * hd, hd).ToArray(), qkv.AsSpan(2 * hd, hd).ToArray()); // values untouched
        rotary.Rotate(qkv, 3 * hd, heads * hd, 1, t, null, inverse: true);
        for (int i = 0; i < qkv.Length; i++) Assert.Equal(before[i], qkv[i], 5);
        Assert.Throws<ArgumentException>(() => new RotaryPositions(hd, 10_000f, 2f, interleaved: true));
    }

    internal static ClassifierConfig Config(int maxLength = 9) => new()
    {
        VocabSize = 40, ModelDim = 8, Heads = 2, Layers = 2, FeedForwardDim = 12, MaxLength = maxLength, Dropout = 0f, NumClasses = 3, TypeVocabSize = 2,
        Norm = NormPlacement.PostNorm, EmbeddingNorm = true, PositionalEncoding = PositionalEncodingKind.None, RotaryTheta = 10_000f, RotaryInterleaved = true,
        EmbeddingDim = 4, Pooling = Pooling.Cls, Pooler = true, PoolerActivation = PoolerActivation.Gelu, LayerNormEps = 1e-12f,
    };

    // RoFormer's whole shape in a classifier: every parameter against finite differences, then packed = padded = tiled; on
    // sequences of 300 the tiled inference gives the materialized attention's states. The one place that decides a
    // model's family calls it RoFormer.
    [Fact]
    public void Classifier_OfRoFormersShape_EndToEnd()
    {
        var model = new TransformerClassifier(Config(), 3);
        Assert.True(model.Encoder.Blocks[1].SelfAttention.Rotary!.Interleaved);
        Assert.Same(EncoderFamily.RoFormer, EncoderFamily.For(model.Config));
        EncoderRunsAgree.GradientsOnTwoPaddedSentences_ThenPackedPaddedAndTiled(model);
        var encoder = new TransformerEncoder(Config(maxLength: 300).Shape(), 5);
        GradCheck.Scramble(encoder.Parameters, 6, 0.3f);
        EncoderRunsAgree.TiledAndMaterializedOnLongSequences(encoder);
        Assert.Contains("RotaryInterleaved", Assert.Throws<ArgumentException>(() => (Config() with { RotaryTheta = 0f, PositionalEncoding = PositionalEncodingKind.Learned }).Validate()).Message);
        Assert.Contains("RotaryInterleaved", Assert.Throws<ArgumentException>(() => (Config() with { RotaryScaling = 2f }).Validate()).Message);
    }

    // The sinusoidal table a checkpoint stores is checked against the one its config computes: a table of another base is
    // refused naming the tensor; one of other rows, naming both shapes; without one, the checkpoint reads the same.
    [Fact]
    public void StoredSinusoidalTable_IsCheckedAgainstTheConfigs()
    {
        string folder = PretrainedCheckpointTests.Folder("roformer");
        var original = PretrainedCheckpoint.LoadFolder(folder);
        var tensors = new Dictionary<string, (int[] Shape, float[] Values)>();
        using (var file = SafeTensorsFile.Open(Path.Combine(folder, "model.safetensors")))
            foreach (var (name, shape) in file.Shapes)
            {
                var values = new float[shape.Aggregate(1, (a, d) => a * d)];
                file.Read(name, values);
                tensors[name] = (shape, values);
            }
        const string table = "roformer.encoder.embed_positions.weight";
        LoadedEncoder With(Func<Dictionary<string, (int[], float[])>, Dictionary<string, (int[], float[])>> change)
        {
            string dir = Directory.CreateTempSubdirectory("roformer-table").FullName;
            try
            {
                foreach (var f in new[] { "config.json", "vocab.txt" }) File.Copy(Path.Combine(folder, f), Path.Combine(dir, f));
                SafeTensorsFile.Write(Path.Combine(dir, "model.safetensors"), change(new(tensors)).Select(t => (t.Key, t.Value.Item1, (ReadOnlyMemory<float>)t.Value.Item2)).ToList());
                return PretrainedCheckpoint.LoadFolder(dir);
            }
            finally { Directory.Delete(dir, recursive: true); }
        }
        var without = With(t => { t.Remove(table); return t; });
        Assert.Equal(original.Encoder.Parameters.Data, without.Encoder.Parameters.Data);
        var otherBase = Assert.Throws<InvalidDataException>(() => With(t =>
        {
            var (shape, values) = t[table];
            var changed = values.ToArray();
            changed[5 * shape[1] + shape[1] / 2 - 1] += 0.5f; // position 5's slowest sine
            t[table] = (shape, changed);
            return t;
        }));
        Assert.Contains(table, otherBase.Message);
        Assert.Contains("differs from the table", otherBase.Message);
        var otherRows = Assert.Throws<InvalidDataException>(() => With(t =>
        {
            var (shape, values) = t[table];
            t[table] = ([shape[0] - 1, shape[1]], values[..((shape[0] - 1) * shape[1])]);
            return t;
        }));
        Assert.Contains($"[{tensors[table].Shape[0] - 1}, {tensors[table].Shape[1]}]", otherRows.Message);
    }

    [Theory]
    [InlineData("rotary_value", true, "rotary_value")]
    [InlineData("hidden_act", "relu", "hidden_act 'relu'")]
    [InlineData("position_embedding_type", "relative_key", "position_embedding_type 'relative_key'")]
    public void UnsupportedSettings_AreRefusedByName(string key, object value, string message) =>
        PretrainedCheckpointTests.AssertSettingRefused(EncoderFamily.RoFormer, "roformer", key, value, message);

    // The config read: rotary positions over max_position_embeddings, projected embeddings; written back, the same shape.
    [Fact]
    public void Config_IsReadAndWrittenBack()
    {
        var config = JsonNode.Parse(File.ReadAllText(Path.Combine(PretrainedCheckpointTests.Folder("roformer"), "config.json")))!.AsObject();
        using var doc = System.Text.Json.JsonDocument.Parse(config.ToJsonString());
        var read = EncoderFamily.RoFormer.ReadConfig(doc.RootElement, "config.json");
        Assert.Equal((10_000f, true, 8, PositionalEncodingKind.None, 24), (read.RotaryTheta, read.RotaryInterleaved, read.EmbeddingWidth, read.PositionalEncoding, read.MaxLength));
        var written = EncoderFamily.RoFormer.WriteConfig(read);
        Assert.Equal("roformer", written["model_type"]!.GetValue<string>());
        using var back = System.Text.Json.JsonDocument.Parse(written.ToJsonString());
        Assert.Equal(read, EncoderFamily.RoFormer.ReadConfig(back.RootElement, "written"));
    }
}
