using System.Text.Json;
using System.Text.Json.Nodes;
using MLNetTransformers.Core.Layers;
using MLNetTransformers.Core.Models;
using MLNetTransformers.Core.Pretrained;
using Xunit;

namespace MLNetTransformers.Core.Tests;

/// <summary>
/// A sentence-transformers folder with a Dense module after the pooling (Fixtures/pretrained/st-dense, written by
/// make_pretrained.py as distiluse-base-multilingual-cased and LaBSE are saved: [CLS] pooling, Dense 16 → 12 with tanh,
/// Normalize): its sentence embeddings PyTorch's, CosineSimilarityLoss and every gradient through the Dense module
/// PyTorch's, written back as the same modules; Dense modules the engine does not reproduce refused by name.
/// </summary>
public class SentenceTransformersDenseTests
{
    private static readonly string Fixture = PretrainedCheckpointTests.Folder("st-dense");

    private static (TokenBatch Batch, JsonElement Root, JsonDocument Doc) Expected()
    {
        var doc = JsonDocument.Parse(File.ReadAllText(Path.Combine(Fixture, "expected.json")));
        var root = doc.RootElement;
        int[][] Rows(string name) => root.GetProperty(name).EnumerateArray().Select(r => r.EnumerateArray().Select(v => v.GetInt32()).ToArray()).ToArray();
        var ids = Rows("input_ids");
        var batch = new TokenBatch(ids.Length, ids[0].Length, ids.SelectMany(r => r).ToArray(), Rows("attention_mask").SelectMany(r => r).ToArray())
        {
            TokenTypeIds = new int[ids.Length * ids[0].Length],
            Targets = root.GetProperty("targets").EnumerateArray().Select(v => (float)v.GetDouble()).ToArray(),
        };
        return (batch, root, doc);
    }

    private static double[] Flat(JsonElement e) => e.EnumerateArray().Select(v => v.GetDouble()).ToArray();

    [Fact]
    public void TheDenseModule_IsReadAfterThePooling_AndEmbedsAsPyTorch()
    {
        var loaded = PretrainedCheckpoint.LoadFolder(Fixture);
        var c = loaded.Encoder.Config;
        Assert.Equal((Pooling.Cls, false, true), (c.Pooling, c.Pooler, c.NormalizeEmbeddings));
        Assert.Equal((12, PoolerActivation.Tanh, true, 12), (c.SentenceDense, c.SentenceDenseActivation, c.SentenceDenseBias, c.SentenceDim));
        Assert.Contains("pooler.dense.weight", loaded.Unused); // sentence-transformers leave BERT's pooler out
        var (batch, root, doc) = Expected();
        using (doc)
        {
            var embeddings = loaded.Encoder.Embed(batch);
            var expected = Flat(root.GetProperty("embeddings"));
            Assert.Equal(batch.BatchSize * 12, expected.Length);
            for (int i = 0; i < expected.Length; i++) Assert.True(Math.Abs(expected[i] - embeddings[i]) <= 1e-5, $"embedding value {i}: {embeddings[i]} against PyTorch's {expected[i]}");
        }
    }

    // The bi-encoder (CosineSimilarityLoss) trains through the Dense module: loss and every gradient PyTorch's.
    [Fact]
    public void CosineSimilarityLoss_ThroughTheDenseModule_MatchesPyTorch_EveryGradient()
    {
        var loaded = PretrainedCheckpoint.LoadFolder(Fixture);
        var model = new BiEncoder(loaded.Encoder);
        var (batch, root, doc) = Expected();
        using (doc)
        {
            model.Parameters.ZeroGrad();
            float loss = model.ForwardBackward(batch);
            Assert.Equal(root.GetProperty("loss").GetDouble(), loss, 5);
            var grads = root.GetProperty("grads");
            int compared = 0;
            foreach (var p in model.Parameters.Tensors)
            {
                string[] names = p.Name.StartsWith(TransformerEncoder.SentenceDensePrefix, StringComparison.Ordinal)
                    ? ["linear." + p.Name[(TransformerEncoder.SentenceDensePrefix + "dense.").Length..]] : loaded.Family.SourceNames(p.Name)!;
                var reference = names.SelectMany(n => Flat(grads.GetProperty(n))).ToArray();
                Assert.Equal(p.Length, reference.Length);
                double scale = Math.Max(reference.Max(Math.Abs), 1e-6), worst = 0;
                for (int i = 0; i < p.Length; i++) worst = Math.Max(worst, Math.Abs(p.Grad[i] - reference[i]));
                Assert.True(worst <= 1e-4 * scale, $"gradient of {p.Name} differs from PyTorch by {worst:G3} (largest {scale:G3})");
                compared++;
            }
            Assert.Equal(model.Parameters.Tensors.Count, compared);
            Assert.Contains(model.Parameters.Tensors, p => p.Name == "sentence_dense.dense.weight");
        }
    }

    // Written back: modules.json with the Dense module between the Pooling and the Normalize module, its config and weights
    // in 2_Dense; read again to the same embeddings.
    [Fact]
    public void SaveFolder_WritesTheDenseModule_AndReadsBackToTheSameEmbeddings()
    {
        var loaded = PretrainedCheckpoint.LoadFolder(Fixture);
        string dir = Directory.CreateTempSubdirectory("st-dense-out").FullName;
        try
        {
            PretrainedCheckpoint.SaveFolder(loaded.Encoder, dir);
            var modules = JsonNode.Parse(File.ReadAllText(Path.Combine(dir, "modules.json")))!.AsArray().Select(m => (m!["path"]!.GetValue<string>(), m["type"]!.GetValue<string>())).ToArray();
            Assert.Equal([("", "sentence_transformers.models.Transformer"), ("1_Pooling", "sentence_transformers.models.Pooling"),
                ("2_Dense", "sentence_transformers.models.Dense"), ("3_Normalize", "sentence_transformers.models.Normalize")], modules);
            var dense = JsonNode.Parse(File.ReadAllText(Path.Combine(dir, "2_Dense", "config.json")))!;
            Assert.Equal((16, 12, true, "torch.nn.modules.activation.Tanh"),
                (dense["in_features"]!.GetValue<int>(), dense["out_features"]!.GetValue<int>(), dense["bias"]!.GetValue<bool>(), dense["activation_function"]!.GetValue<string>()));
            var again = PretrainedCheckpoint.LoadFolder(dir);
            Assert.Equal(loaded.Encoder.Config, again.Encoder.Config);
            Assert.Equal(loaded.Encoder.Parameters.Data, again.Encoder.Parameters.Data);
        }
        finally { Directory.Delete(dir, recursive: true); }
    }

    // A Dense module the engine does not reproduce, or one that does not fit, is refused naming the file and the problem.
    [Theory]
    [InlineData("activation_function", "\"torch.nn.modules.activation.ReLU\"", "has the activation torch.nn.modules.activation.ReLU")]
    [InlineData("in_features", "24", "has in_features 24; the encoder's sentence vectors are 16 wide")]
    [InlineData("out_features", "0", "out_features is 0, not a width")]
    [InlineData("bias", "false", "has the tensor 'linear.bias', which a Dense module of linear.weight (no bias) does not hold")]
    [InlineData("out_features", "10", "tensor 'linear.weight' has shape [12, 16], expected [10, 16]")]
    public void ADenseModuleThatDoesNotFit_IsRefusedNamingIt(string key, string value, string message)
    {
        string dir = CopyFixture();
        try
        {
            var config = JsonNode.Parse(File.ReadAllText(Path.Combine(dir, "2_Dense", "config.json")))!.AsObject();
            config[key] = JsonNode.Parse(value);
            File.WriteAllText(Path.Combine(dir, "2_Dense", "config.json"), config.ToJsonString());
            var e = Assert.ThrowsAny<Exception>(() => PretrainedCheckpoint.LoadFolder(dir));
            Assert.True(e is InvalidDataException or NotSupportedException, e.ToString());
            Assert.Contains(message, e.Message);
            Assert.Contains("2_Dense", e.Message);
        }
        finally { Directory.Delete(dir, recursive: true); }
    }

    // Modules in an order sentence-transformers' Dense models do not have are refused rather than embedded otherwise.
    [Theory]
    [InlineData(new[] { 0, 2, 1, 3 }, "before its Pooling module")]
    [InlineData(new[] { 0, 1, 2, 2, 3 }, "after another")]
    [InlineData(new[] { 0, 1, 3, 2 }, "after its Normalize module")]
    public void DenseModulesOutOfPlace_AreRefused(int[] order, string message)
    {
        string dir = CopyFixture();
        try
        {
            var modules = JsonNode.Parse(File.ReadAllText(Path.Combine(dir, "modules.json")))!.AsArray();
            var reordered = new JsonArray(order.Select(i => modules[i]!.DeepClone()).ToArray());
            File.WriteAllText(Path.Combine(dir, "modules.json"), reordered.ToJsonString());
            Assert.Contains(message, Assert.Throws<NotSupportedException>(() => PretrainedCheckpoint.LoadFolder(dir)).Message);
        }
        finally { Directory.Delete(dir, recursive: true); }
    }

    private static string CopyFixture()
    {
        string dir = Directory.CreateTempSubdirectory("st-dense").FullName;
        foreach (var f in Directory.GetFiles(Fixture, "*", SearchOption.AllDirectories))
        {
            string target = Path.Combine(dir, Path.GetRelativePath(Fixture, f));
            Directory.CreateDirectory(Path.GetDirectoryName(target)!);
            File.Copy(f, target);
        }
        return dir;
    }
}
