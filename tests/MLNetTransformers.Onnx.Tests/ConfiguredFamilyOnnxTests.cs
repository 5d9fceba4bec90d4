using Google.Protobuf;
using MLNetTransformers.Core.Pretrained;
using MLNetTransformers.Onnx.Proto;
using Xunit;

namespace MLNetTransformers.Onnx.Tests;

/// <summary>
/// ModernBERT, NomicBERT, JinaBERT, MosaicBERT and GTE graphs exported by PyTorch 1.13 from make_pretrained.py's reference modules
/// (Fixtures/families/*/model.onnx, beside the fixture's config.json, vocab.txt and model.safetensors): read with their
/// config.json, every weight equal to the safetensors checkpoint's, and ONNX Runtime's hidden states equal to the engine's
/// (the reader's own probe); a bias-free projection named by its module scope, whole or by its own name in layer order.
/// </summary>
public class ConfiguredFamilyOnnxTests
{
    private static string Folder(string fixture) => Path.Combine(AppContext.BaseDirectory, "Fixtures", "families", fixture);

    [Theory]
    [InlineData("modernbert", "ModernBERT")]
    [InlineData("nomic", "NomicBERT")]
    [InlineData("jina", "JinaBERT")]
    [InlineData("mosaic", "MosaicBERT")] // one packed Wqkv with its bias
    [InlineData("gte", "GTE")]
    [InlineData("deberta-v1", "DeBERTa")] // in_proj and pos_proj without biases, q_bias and v_bias folded into per-head constants
    [InlineData("esm", "ESM")] // pre-norm, rotary positions, the token dropout's counts and scale computed in the graph
    [InlineData("megatron", "MegatronBERT")] // pre-norm BERT: no LayerNorm after the embeddings, one before each sublayer, a final one
    [InlineData("roberta-prelayernorm", "RoBERTa-PreLayerNorm")] // pre-norm RoBERTa: its embeddings' LayerNorm, one before each sublayer, a final one
    [InlineData("xlmr-xl", "XLM-RoBERTa-XL")] // pre-norm RoBERTa without the embeddings' LayerNorm
    [InlineData("roformer", "RoFormer")] // RoFormer's rotary positions from the graph's sinusoidal table, projected embeddings
    public void ExportedGraph_IsReadWithItsConfig_WeightsEqualToTheCheckpoints(string fixture, string family)
    {
        var fromOnnx = OnnxEncoderCheckpoint.Load(Path.Combine(Folder(fixture), "model.onnx"));
        Assert.Equal(family, fromOnnx.Family.Name);
        var fromWeights = PretrainedCheckpoint.LoadFolder(Folder(fixture)).Encoder;
        // The graph holds the encoder without the pooler (the export returns the hidden states); every block weight is equal.
        int compared = 0;
        foreach (var t in fromOnnx.Encoder.Parameters.Tensors)
        {
            Assert.Equal(fromWeights.Parameters[t.Name].Value.ToArray(), t.Value.ToArray());
            compared++;
        }
        Assert.Equal(fromWeights.Parameters.Tensors.Count(t => !t.Name.StartsWith("pooler.", StringComparison.Ordinal)), compared);
        Assert.Equal(fromWeights.Config with { Pooler = false, Pooling = fromOnnx.Encoder.Config.Pooling }, fromOnnx.Encoder.Config);
    }

    // DeBERTa-v2-xlarge's shape exported by PyTorch (make_pretrained.py's deberta-conv/model.onnx): read from the graph's
    // shapes, its convolution's kernel from encoder.conv.conv.weight and its activation (GELU) from the nodes after the Conv;
    // every weight the checkpoint's, bit for bit, and ONNX Runtime's outputs the engine's (the probe). The graph with the
    // activation after its Conv node replaced by another operator is refused naming that node.
    [Fact]
    public void DebertaWithConvolution_ExportedByPyTorch_ReadsToTheCheckpointsWeights()
    {
        string graph = Path.Combine(Folder("deberta-conv"), "model.onnx");
        var fromOnnx = OnnxEncoderCheckpoint.Load(File.ReadAllBytes(graph), "deberta-conv.onnx");
        Assert.Equal(("DeBERTa-v2", 3, Core.Layers.PoolerActivation.Gelu), (fromOnnx.Family.Name, fromOnnx.Encoder.Config.ConvKernel, fromOnnx.Encoder.Config.ConvActivation));
        var fromWeights = PretrainedCheckpoint.LoadFolder(Folder("deberta-conv")).Encoder;
        foreach (var t in fromOnnx.Encoder.Parameters.Tensors) Assert.Equal(fromWeights.Parameters[t.Name].Value.ToArray(), t.Value.ToArray());
        Assert.Equal(fromWeights.Parameters.Tensors.Count, fromOnnx.Encoder.Parameters.Tensors.Count);
        var model = ModelProto.Parser.ParseFrom(File.ReadAllBytes(graph));
        var conv = model.Graph.Node.Single(n => n.OpType == "Conv");
        model.Graph.Node.Skip(model.Graph.Node.IndexOf(conv)).First(n => n.OpType == "Erf").OpType = "Sigmoid"; // the convolution's GELU
        var e = Assert.Throws<InvalidDataException>(() => OnnxEncoderCheckpoint.Load(model.ToByteArray(), "edited.onnx"));
        Assert.Contains("edited.onnx", e.Message);
    }

    // The same graphs optimized and saved by ONNX Runtime (extended level: its fused products, GELU and norms) beside their
    // config.json: the same weights.
    [Theory]
    [InlineData("modernbert")]
    [InlineData("nomic")]
    [InlineData("jina")]
    [InlineData("mosaic")]
    [InlineData("gte")]
    [InlineData("esm")]
    [InlineData("megatron")]
    [InlineData("roberta-prelayernorm")]
    [InlineData("xlmr-xl")]
    public void ExportedGraph_OptimizedByOnnxRuntime_ReadsToTheSameWeights(string fixture)
    {
        string dir = Directory.CreateTempSubdirectory("optimized-family").FullName;
        try
        {
            File.Copy(Path.Combine(Folder(fixture), "config.json"), Path.Combine(dir, "config.json"));
            using (var options = new Microsoft.ML.OnnxRuntime.SessionOptions { GraphOptimizationLevel = Microsoft.ML.OnnxRuntime.GraphOptimizationLevel.ORT_ENABLE_EXTENDED, OptimizedModelFilePath = Path.Combine(dir, "model.onnx") })
            using (new Microsoft.ML.OnnxRuntime.InferenceSession(Path.Combine(Folder(fixture), "model.onnx"), options)) { }
            var optimized = OnnxEncoderCheckpoint.Load(Path.Combine(dir, "model.onnx"));
            Assert.Equal(OnnxEncoderCheckpoint.Load(Path.Combine(Folder(fixture), "model.onnx")).Encoder.Parameters.Data, optimized.Encoder.Parameters.Data);
        }
        finally { Directory.Delete(dir, recursive: true); }
    }

    // DeBERTa v1's export optimized by ONNX Runtime: the projections of the relative positions (constants times constant
    // weights) are folded into products of their own, from which no weight can be read back: refused naming the node.
    [Fact]
    public void DebertaV1sGraph_OptimizedByOnnxRuntime_IsRefusedNamingANode()
    {
        string dir = Directory.CreateTempSubdirectory("optimized-deberta-v1").FullName;
        try
        {
            File.Copy(Path.Combine(Folder("deberta-v1"), "config.json"), Path.Combine(dir, "config.json"));
            using (var options = new Microsoft.ML.OnnxRuntime.SessionOptions { GraphOptimizationLevel = Microsoft.ML.OnnxRuntime.GraphOptimizationLevel.ORT_ENABLE_EXTENDED, OptimizedModelFilePath = Path.Combine(dir, "model.onnx") })
            using (new Microsoft.ML.OnnxRuntime.InferenceSession(Path.Combine(Folder("deberta-v1"), "model.onnx"), options)) { }
            var e = Assert.Throws<InvalidDataException>(() => OnnxEncoderCheckpoint.Load(Path.Combine(dir, "model.onnx")));
            Assert.Contains("node '", e.Message);
            Assert.Contains(dir, e.Message);
        }
        finally { Directory.Delete(dir, recursive: true); }
    }

    // Hugging Face keeps the export as onnx/model.onnx under the model's folder: config.json and the tokenizer one folder up.
    [Fact]
    public void AHuggingFaceFoldersOnnxSubfolder_IsReadWithTheConfigAndTokenizerAbove()
    {
        string dir = Directory.CreateTempSubdirectory("onnx-layout").FullName;
        try
        {
            Directory.CreateDirectory(Path.Combine(dir, "onnx"));
            File.Copy(Path.Combine(Folder("jina"), "config.json"), Path.Combine(dir, "config.json"));
            File.Copy(Path.Combine(Folder("jina"), "vocab.txt"), Path.Combine(dir, "vocab.txt"));
            File.Copy(Path.Combine(Folder("jina"), "model.onnx"), Path.Combine(dir, "onnx", "model.onnx"));
            var encoder = OnnxEncoderCheckpoint.LoadPretrained(Path.Combine(dir, "onnx", "model.onnx"), maxTokens: 12);
            Assert.True(encoder.Encoder.Config.Alibi);
            Assert.Equal([6, 8, 17], encoder.Tokenizer.EncodeAll("the film was")); // the fixture vocab.txt's ids, from the folder above
            // The folder itself, holding no weights, is read through its export (as transformers.js repositories are).
            Assert.Equal(Path.Combine(dir, "onnx", "model.onnx"), PretrainedCheckpoint.OnnxExportIn(dir));
            var folder = OnnxEncoderCheckpoint.LoadFolder(dir, maxTokens: 12);
            Assert.Equal(encoder.Encoder.Parameters.Data, folder.Encoder.Parameters.Data);
            Assert.False(folder.Encoder.Config.Pooler); // the export's encoder: no pooler
            // With weights beside the export, the weights are read (the fixture's checkpoint carries the pooler).
            Assert.True(OnnxEncoderCheckpoint.LoadFolder(Folder("jina")).Encoder.Config.Pooler);
        }
        finally { Directory.Delete(dir, recursive: true); }
    }

    // Without its config.json the graph is refused, saying what it needs.
    [Fact]
    public void WithoutItsConfig_TheGraphIsRefusedNamingWhatItNeeds()
    {
        var e = Assert.Throws<InvalidDataException>(() => OnnxEncoderCheckpoint.Load(File.ReadAllBytes(Path.Combine(Folder("nomic"), "model.onnx")), "nomic.onnx"));
        Assert.Contains("read with its config.json beside it", e.Message);
    }

    // A config.json of another model beside a BERT graph (or one that is no model's) leaves the graph read from its own
    // shapes; a configured family's config.json with a setting the engine does not run is refused naming it.
    [Fact]
    public void TheConfigBesideAGraph_IsReadOnlyForTheFamiliesThatNeedIt()
    {
        string dir = Directory.CreateTempSubdirectory("onnx-config").FullName;
        try
        {
            File.Copy(Path.Combine(AppContext.BaseDirectory, "Fixtures", "pretrained", "small-bert.onnx"), Path.Combine(dir, "model.onnx"));
            foreach (var other in new[] { "{\"model_type\": \"t5\"}", "[1, 2]", "not json" })
            {
                File.WriteAllText(Path.Combine(dir, "config.json"), other);
                Assert.Equal("BERT", OnnxEncoderCheckpoint.Load(Path.Combine(dir, "model.onnx")).Family.Name);
            }
            File.Copy(Path.Combine(Folder("nomic"), "model.onnx"), Path.Combine(dir, "model.onnx"), overwrite: true);
            var config = System.Text.Json.Nodes.JsonNode.Parse(File.ReadAllText(Path.Combine(Folder("nomic"), "config.json")))!.AsObject();
            config["rotary_scaling_factor"] = 2.0;
            File.WriteAllText(Path.Combine(dir, "config.json"), config.ToJsonString());
            Assert.Contains("rotary_scaling_factor", Assert.Throws<NotSupportedException>(() => OnnxEncoderCheckpoint.Load(Path.Combine(dir, "model.onnx"))).Message);
        }
        finally { Directory.Delete(dir, recursive: true); }
    }

    // An exporter that keeps the whole module path in node names (/encoder/layers.0/attn/Wqkv/MatMul, as Hugging Face
    // models' nested forwards give) names each weight outright: with the true paths the graph reads; with two layers' query-
    // key-value projections given each other's paths (the order of the nodes unchanged, so matching by order would still be
    // right) the weights are read swapped and the probe refuses the graph.
    [Fact]
    public void WholeModulePathsInNodeNames_NameTheWeights()
    {
        string folder = Folder("nomic");
        var model = ModelProto.Parser.ParseFrom(File.ReadAllBytes(Path.Combine(folder, "model.onnx")));
        var initializers = model.Graph.Initializer.Select(i => i.Name).ToHashSet();
        var seen = new Dictionary<string, int>();
        foreach (var n in model.Graph.Node.Where(n => n.OpType == "MatMul" && initializers.Contains(n.Input[1])))
        {
            string module = System.Text.RegularExpressions.Regex.Replace(n.Name.Split('/')[^2], "_[0-9]+$", ""); // /Wqkv_1/ for the second call
            int layer = seen[module] = seen.GetValueOrDefault(module, -1) + 1;
            string parent = module is "Wqkv" or "out_proj" ? "attn" : "mlp";
            n.Name = $"/encoder/layers.{layer}/{parent}/{module}/MatMul";
        }
        Assert.Equal(5, seen.Count);
        string Write(ModelProto m)
        {
            string dir = Directory.CreateTempSubdirectory("nomic-scopes").FullName;
            foreach (var f in new[] { "config.json", "vocab.txt" }) File.Copy(Path.Combine(folder, f), Path.Combine(dir, f));
            File.WriteAllBytes(Path.Combine(dir, "model.onnx"), m.ToByteArray());
            return dir;
        }
        string named = Write(model);
        try { Assert.Equal("NomicBERT", OnnxEncoderCheckpoint.Load(Path.Combine(named, "model.onnx")).Family.Name); }
        finally { Directory.Delete(named, recursive: true); }

        var wqkv = model.Graph.Node.Where(n => n.Name.EndsWith("/Wqkv/MatMul", StringComparison.Ordinal)).ToArray();
        (wqkv[0].Name, wqkv[1].Name) = (wqkv[1].Name, wqkv[0].Name);
        string swapped = Write(model);
        try
        {
            var e = Assert.Throws<InvalidDataException>(() => OnnxEncoderCheckpoint.Load(Path.Combine(swapped, "model.onnx")));
            Assert.Contains("the graph computes something else", e.Message);
        }
        finally { Directory.Delete(swapped, recursive: true); }
    }
}
