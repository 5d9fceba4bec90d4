using Google.Protobuf;
using Microsoft.ML.OnnxRuntime;
using Microsoft.ML.OnnxRuntime.Tensors;
using MLNetTransformers.Core.Pretrained;
using MLNetTransformers.Pretrained;
using MLNetTransformers.Onnx.Proto;
using Xunit;
using Xunit.Abstractions;

namespace MLNetTransformers.Onnx.Tests;

/// <summary>
/// The PyTorch-exported BERT reader on a small graph of its own (Fixtures/pretrained/small-bert.onnx, written by
/// make_small_bert_onnx.py from a module that follows Hugging Face's modeling_bert.py): the same hidden states as ONNX
/// Runtime, and 500+ mutated graphs (bytes, truncations, dimensions, operators, inputs, constants, attributes, removed
/// nodes and initializers) each refused with a message naming the file, or loaded computing exactly what ONNX Runtime
/// computes with the same graph: 0 crashes, 0 hangs, 0 silently different models.
/// </summary>
public sealed class OnnxEncoderFuzzTests(ITestOutputHelper output)
{
    private static readonly string SmallBert = Path.Combine(AppContext.BaseDirectory, "Fixtures", "pretrained", "small-bert.onnx");

    // Two sequences of 7 and 5 real tokens (the second padded), token types 0 and 1.
    private static readonly int[] Ids = [2, 8, 9, 12, 10, 11, 3, 2, 15, 20, 7, 3, 0, 0];
    private static readonly int[] Types = [0, 0, 0, 0, 1, 1, 1, 0, 0, 0, 1, 1, 0, 0];
    private static readonly bool[] Padding = Ids.Select((id, i) => i >= 7 && id == 0).ToArray();

    private static float[] RunOnnxRuntime(byte[] onnx)
    {
        using var session = new InferenceSession(onnx);
        int[] shape = [2, 7];
        var feeds = new List<NamedOnnxValue>
        {
            NamedOnnxValue.CreateFromTensor("input_ids", new DenseTensor<long>(Ids.Select(v => (long)v).ToArray(), shape)),
            NamedOnnxValue.CreateFromTensor("attention_mask", new DenseTensor<long>(Padding.Select(p => p ? 0L : 1L).ToArray(), shape)),
            NamedOnnxValue.CreateFromTensor("token_type_ids", new DenseTensor<long>(Types.Select(v => (long)v).ToArray(), shape)),
        };
        using var results = session.Run(feeds.Where(f => session.InputMetadata.ContainsKey(f.Name)).ToList(), [session.OutputMetadata.Keys.First()]);
        return results.First().AsTensor<float>().ToArray();
    }

    // Token types only for an encoder with a second type (RoBERTa's one-row table takes none, as its graph).
    private static float[] RunEngine(LoadedEncoder loaded) =>
        loaded.Encoder.Forward(Ids, loaded.Encoder.Config.TypeVocabSize > 1 ? Types : null, 2, 7, Padding, training: false).AsSpan(0, 2 * 7 * loaded.Encoder.Config.ModelDim).ToArray();

    // Largest difference on real tokens (of the probe batch unless other padding is given), relative to the largest value there.
    private static double Difference(float[] a, float[] b, int d, bool[]? padding = null)
    {
        padding ??= Padding;
        double worst = 0, scale = 1e-6;
        for (int i = 0; i < b.Length; i++) if (!padding[i / d]) scale = Math.Max(scale, Math.Abs(b[i]));
        for (int i = 0; i < b.Length; i++) if (!padding[i / d]) worst = Math.Max(worst, Math.Abs(a[i] - b[i]));
        return worst / scale;
    }

    // The least cosine between two batches' hidden states over the probe's real tokens.
    private static double LeastCosine(float[] a, float[] b, int d) => Enumerable.Range(0, a.Length / d).Where(i => !Padding[i])
        .Min(i => (double)System.Numerics.Tensors.TensorPrimitives.CosineSimilarity(a.AsSpan(i * d, d), b.AsSpan(i * d, d)));

    // LoadPretrained on a copy of the graph with the tokenizer files that writeFiles puts beside it.
    private static PretrainedEncoder LoadedBeside(string graph, Action<string> writeFiles)
    {
        string dir = Directory.CreateTempSubdirectory("onnx-beside").FullName;
        try
        {
            File.Copy(graph, Path.Combine(dir, "model.onnx"));
            writeFiles(dir);
            return OnnxEncoderCheckpoint.LoadPretrained(Path.Combine(dir, "model.onnx"), maxTokens: 8);
        }
        finally { Directory.Delete(dir, recursive: true); }
    }

    // A PyTorch-exported fixture graph read as family's encoder, its hidden states equal to ONNX Runtime's on the graph.
    private static (string Path, LoadedEncoder Loaded) ReadAndMatch(string fixture, string family)
    {
        string path = Path.Combine(AppContext.BaseDirectory, "Fixtures", "pretrained", fixture);
        var loaded = OnnxEncoderCheckpoint.Load(path);
        Assert.Equal(family, loaded.Family.Name);
        Assert.True(Difference(RunEngine(loaded), RunOnnxRuntime(File.ReadAllBytes(path)), loaded.Encoder.Config.ModelDim) <= 1e-4);
        return (path, loaded);
    }

    private static void CopyFixture(string dir, string folder, string file) =>
        File.Copy(Path.Combine(AppContext.BaseDirectory, "Fixtures", "pretrained", folder, file), Path.Combine(dir, file));

    // A graph ONNX Runtime optimized and saved (extended level: FusedMatMul for the scaled scores, BiasGelu, LayerNormalization)
    // is read to the same weights and shape as the PyTorch export it came from, and computes what ONNX Runtime computes.
    [Theory]
    [InlineData("small-bert.onnx", "BERT")]
    [InlineData("small-roberta.onnx", "RoBERTa")]
    [InlineData("small-distilbert.onnx", "DistilBERT")]
    [InlineData("small-electra.onnx", "ELECTRA")]
    [InlineData("small-mpnet.onnx", "MPNet")]
    [InlineData("small-albert.onnx", "ALBERT")]
    public void AGraphOptimizedByOnnxRuntime_ReadsAsItsExport(string fixture, string family)
    {
        string path = Path.Combine(AppContext.BaseDirectory, "Fixtures", "pretrained", fixture);
        string optimized = Path.Combine(Path.GetTempPath(), $"optimized-{Guid.NewGuid():N}.onnx");
        try
        {
            using (var options = new SessionOptions { GraphOptimizationLevel = GraphOptimizationLevel.ORT_ENABLE_EXTENDED, OptimizedModelFilePath = optimized })
            using (new InferenceSession(path, options)) { }
            var ops = ModelProto.Parser.ParseFrom(File.ReadAllBytes(optimized)).Graph.Node.Where(n => n.Domain == "com.microsoft").Select(n => n.OpType).ToHashSet();
            output.WriteLine($"{fixture}: {string.Join(", ", ops)}");
            var loaded = OnnxEncoderCheckpoint.Load(optimized);
            var original = OnnxEncoderCheckpoint.Load(path);
            Assert.Equal(family, loaded.Family.Name);
            Assert.Equal(original.Encoder.Config, loaded.Encoder.Config);
            Assert.Equal(original.Encoder.Parameters.Data, loaded.Encoder.Parameters.Data);
            Assert.True(Difference(RunEngine(loaded), RunOnnxRuntime(File.ReadAllBytes(optimized)), loaded.Encoder.Config.ModelDim) <= 1e-4);
        }
        finally { File.Delete(optimized); }
    }

    // ONNX Runtime folds DeBERTa's relative positions with their LayerNorm into one constant: refused, saying so.
    [Fact]
    public void ADebertaGraphOptimizedByOnnxRuntime_IsRefusedSayingWhy()
    {
        string optimized = Path.Combine(Path.GetTempPath(), $"optimized-{Guid.NewGuid():N}.onnx");
        try
        {
            using (var options = new SessionOptions { GraphOptimizationLevel = GraphOptimizationLevel.ORT_ENABLE_EXTENDED, OptimizedModelFilePath = optimized })
            using (new InferenceSession(Path.Combine(AppContext.BaseDirectory, "Fixtures", "pretrained", "small-deberta.onnx"), options)) { }
            Assert.Contains("folded its relative positions into a constant", Assert.Throws<InvalidDataException>(() => OnnxEncoderCheckpoint.Load(optimized)).Message);
        }
        finally { File.Delete(optimized); }
    }

    [Fact]
    public void SmallExportedBert_IsReadWithItsShape_AndMatchesOnnxRuntime()
    {
        var onnx = File.ReadAllBytes(SmallBert);
        var loaded = OnnxEncoderCheckpoint.Load(SmallBert);
        var c = loaded.Encoder.Config;
        Assert.Equal((40, 16, 2, 2, 32, 24, 2), (c.VocabSize, c.ModelDim, c.Layers, c.Heads, c.FeedForwardDim, c.MaxLength, c.TypeVocabSize));
        Assert.Equal(1e-12f, c.LayerNormEps);
        Assert.True(Difference(RunEngine(loaded), RunOnnxRuntime(onnx), c.ModelDim) <= 1e-4);
    }

    // MPNet as sentence-transformers export all-mpnet-base-v2 (make_small_mpnet_onnx.py, modeling_mpnet.py line by line):
    // its relative position bias table found by name, positions from 2, and the same hidden states as ONNX Runtime; with
    // the vocab.txt beside it, MPNet's tokenizer.
    [Fact]
    public void SmallExportedMpnet_IsReadWithItsRelativeBias_AndMatchesOnnxRuntime()
    {
        var (path, loaded) = ReadAndMatch("small-mpnet.onnx", "MPNet");
        var c = loaded.Encoder.Config;
        Assert.Equal((40, 16, 2, 2, 32, 24, 2, 32, 0), (c.VocabSize, c.ModelDim, c.Layers, c.Heads, c.FeedForwardDim, c.MaxLength, c.PositionOffset, c.RelativeAttentionBuckets, c.TypeVocabSize));
        var tokenizer = LoadedBeside(path, dir => File.WriteAllLines(Path.Combine(dir, "vocab.txt"), ["<s>", "<pad>", "</s>", "<unk>", "[UNK]", "<mask>", .. Enumerable.Range(6, 34).Select(i => $"w{i}")])).Tokenizer;
        Assert.Equal((0, 2, 1, 5, true), (tokenizer.ClsId, tokenizer.SepId, tokenizer.PadId, tokenizer.MaskId, tokenizer.RobertaPairs));
    }

    // DistilBERT as its classifiers' encoders are exported (make_small_distilbert_onnx.py, modeling_distilbert.py line by
    // line: the query scaled before the product, masked_fill, no token types): read by its transformer.layer names;
    // RoBERTa (make_small_bert_onnx.py's variant: positions counted from the ids after padding_idx 1, one token type) by its CumSum.
    // ELECTRA (make_small_bert_onnx.py's variant: embeddings 8 wide, embeddings_project to 16, no pooler) by its projection.
    [Theory]
    [InlineData("small-distilbert.onnx", "DistilBERT", 0, 0, 16)]
    [InlineData("small-roberta.onnx", "RoBERTa", 2, 1, 16)]
    [InlineData("small-electra.onnx", "ELECTRA", 0, 2, 8)]
    public void SmallExportedDistilBertRobertaAndElectra_AreReadWithTheirNames_AndMatchOnnxRuntime(string fixture, string family, int offset, int types, int embeddingWidth)
    {
        var c = ReadAndMatch(fixture, family).Loaded.Encoder.Config;
        Assert.Equal((40, 16, 2, 2, 32, 24, offset, types, embeddingWidth), (c.VocabSize, c.ModelDim, c.Layers, c.Heads, c.FeedForwardDim, c.MaxLength, c.PositionOffset, c.TypeVocabSize, c.EmbeddingWidth));
    }

    // ALBERT (make_small_albert_onnx.py, modeling_albert.py: embeddings 8 wide through embedding_hidden_mapping_in, three
    // layers on one group of weights, each initializer used three times): its layers counted from the query projections
    // the graph computes, one shared set of weights; with spiece.model beside it, ALBERT's tokenizer.
    [Fact]
    public void SmallExportedAlbert_IsReadWithItsSharedLayers_AndMatchesOnnxRuntime()
    {
        var (path, loaded) = ReadAndMatch("small-albert.onnx", "ALBERT");
        var c = loaded.Encoder.Config;
        Assert.Equal((90, 16, 3, 1, 2, 32, 24, 2, 8, Core.Kernels.Activation.GeluTanh), (c.VocabSize, c.ModelDim, c.Layers, c.LayerGroups, c.Heads, c.FeedForwardDim, c.MaxLength, c.TypeVocabSize, c.EmbeddingWidth, c.Activation));
        var pretrained = LoadedBeside(path, dir => CopyFixture(dir, "albert-tokenizer", "spiece.model"));
        var t = pretrained.Tokenizer;
        Assert.Equal((Tokenization.TokenizerKind.SentencePiece, 2, 3, 0, 4, false), (t.Kind, t.ClsId, t.SepId, t.PadId, t.MaskId, t.RobertaPairs));
        Assert.Equal("ALBERT", EncoderFamily.For(pretrained.Encoder.Config).Name);
    }

    // DeBERTa-v3's shape (make_small_deberta_onnx.py, modeling_deberta_v2.py: no absolute positions, disentangled attention
    // over encoder.rel_embeddings with 6 buckets out to 12, the query and key projections used again on the positions): the
    // table's span from its rows, the log buckets' reach from the constant they divide by, the scale √(3·hd) checked;
    // equal to ONNX Runtime on the probe (sequences of 12 reach the log buckets); spm.model beside it.
    [Fact]
    public void SmallExportedDeberta_IsReadWithItsDisentangledAttention_AndMatchesOnnxRuntime()
    {
        string path = Path.Combine(AppContext.BaseDirectory, "Fixtures", "pretrained", "small-deberta.onnx");
        var loaded = OnnxEncoderCheckpoint.Load(path);
        var c = loaded.Encoder.Config;
        Assert.Equal("DeBERTa-v2", loaded.Family.Name);
        Assert.Equal((101, 16, 2, 2, 32, 0, 6, 12, Core.Layers.PositionalEncodingKind.None, 1e-7f),
            (c.VocabSize, c.ModelDim, c.Layers, c.Heads, c.FeedForwardDim, c.TypeVocabSize, c.DisentangledSpan, c.DisentangledMaxDistance, c.PositionalEncoding, c.LayerNormEps));
        int[] ids = [1, 15, 14, 5, 22, 6, 8, 16, 18, 12, 31, 2, 1, 40, 41, 60, 2, 0, 0, 0, 0, 0, 0, 0];
        var padding = ids.Select((id, i) => i >= 12 && id == 0).ToArray();
        using var session = new InferenceSession(File.ReadAllBytes(path));
        var feeds = new List<NamedOnnxValue>
        {
            NamedOnnxValue.CreateFromTensor("input_ids", new DenseTensor<long>(ids.Select(v => (long)v).ToArray(), [2, 12])),
            NamedOnnxValue.CreateFromTensor("attention_mask", new DenseTensor<long>(padding.Select(p => p ? 0L : 1L).ToArray(), [2, 12])),
        };
        using var results = session.Run(feeds, [session.OutputMetadata.Keys.First()]);
        var reference = results.First().AsTensor<float>().ToArray();
        var engine = loaded.Encoder.Forward(ids, null, 2, 12, padding, training: false);
        Assert.True(Difference(engine, reference, c.ModelDim, padding) <= 1e-4);
        var t = LoadedBeside(path, dir => CopyFixture(dir, "deberta-tokenizer", "spm.model")).Tokenizer;
        Assert.Equal((Tokenization.TokenizerKind.SentencePiece, 1, 2, 0, 100), (t.Kind, t.ClsId, t.SepId, t.PadId, t.MaskId));
    }

    // A RoBERTa graph takes the byte-level BPE files beside it (vocab.json + merges.txt), with RoBERTa's own special ids.
    [Fact]
    public void LoadPretrained_GivesARobertaGraphTheBpeFilesBesideIt()
    {
        string[] tokens = ["<s>", "<pad>", "</s>", "<unk>", .. Enumerable.Range(0, 26).Select(i => ((char)('a' + i)).ToString()), "\u0120", "h", "e2", "l2", "o2", "w2", "r2", "d2", "x2", "<mask>"];
        var pretrained = LoadedBeside(Path.Combine(AppContext.BaseDirectory, "Fixtures", "pretrained", "small-roberta.onnx"), dir =>
        {
            File.WriteAllText(Path.Combine(dir, "vocab.json"), "{" + string.Join(", ", tokens.Select((t, i) => $"\"{t}\": {i}")) + "}");
            File.WriteAllText(Path.Combine(dir, "merges.txt"), "#version: 0.2\n");
        });
        var t = pretrained.Tokenizer;
        Assert.Equal((Tokenization.TokenizerKind.ByteLevelBpe, 0, 2, 1, 39), (t.Kind, t.ClsId, t.SepId, t.PadId, t.MaskId));
        Assert.Equal("RoBERTa", EncoderFamily.For(pretrained.Encoder.Config).Name);
    }

    [Fact]
    public void LoadPretrained_PairsTheVocabularyBesideTheGraph_AndItsCasing()
    {
        string dir = Directory.CreateTempSubdirectory("onnx-pretrained").FullName;
        try
        {
            string model = Path.Combine(dir, "model.onnx");
            File.Copy(SmallBert, model);
            Assert.Contains("vocab.txt", Assert.Throws<FileNotFoundException>(() => OnnxEncoderCheckpoint.LoadPretrained(model)).Message);
            string[] vocab = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", "hello", .. Enumerable.Range(6, 34).Select(i => $"w{i}")];
            File.WriteAllLines(Path.Combine(dir, "vocab.txt"), vocab);
            int[] Ids(PretrainedEncoder p) { var ids = new int[8]; int n = p.Tokenizer.Encode("Hello", ids, new int[8]); return ids[..n]; }
            var uncased = OnnxEncoderCheckpoint.LoadPretrained(model, maxTokens: 8);
            Assert.Equal([2, 5, 3], Ids(uncased));                       // no tokenizer_config.json: lower-cased, as BERT's tokenizer
            File.WriteAllText(Path.Combine(dir, "tokenizer_config.json"), "{\"do_lower_case\": false}");
            Assert.Equal([2, 1, 3], Ids(OnnxEncoderCheckpoint.LoadPretrained(model, maxTokens: 8))); // cased: "Hello" is [UNK]
            Assert.Equal(16, uncased.Encoder.Config.ModelDim);
        }
        finally { Directory.Delete(dir, recursive: true); }
    }

    internal enum Mutation { Bytes, Truncate, Dims, DropInitializer, OpType, Rewire, DropNode, Constant, Attribute }

    private static readonly string[] Operators = ["Add", "Sub", "Mul", "Div", "MatMul", "Softmax", "Erf", "Tanh", "Sqrt", "Pow", "ReduceMean", "Relu", "Transpose", "Reshape", "Gather", "Cast", "Identity", "Where", "Equal"];

    [Theory]
    [InlineData("small-bert.onnx", 20261203)]
    [InlineData("small-mpnet.onnx", 20261211)] // MPNet's graph: its relative position buckets among the nodes
    [InlineData("small-distilbert.onnx", 20261212)]
    [InlineData("small-roberta.onnx", 20261213)]
    [InlineData("small-electra.onnx", 20261214)]
    [InlineData("small-albert.onnx", 20261215)] // ALBERT's graph: each shared weight used by three layers
    [InlineData("small-deberta.onnx", 20261217)] // DeBERTa's graph: log buckets, gathers of c2p and p2c
    [InlineData("../families/nomic/model.onnx", 20261220)] // NomicBERT's, read with its config.json: rotary positions, scoped bias-free weights
    [InlineData("../families/deberta-v1/model.onnx", 20261230)] // DeBERTa v1's, read with its config.json: scoped in_proj, per-head q_bias and v_bias constants
    [InlineData("../families/esm/model.onnx", 20261233)] // ESM's, read with its config.json: pre-norm, rotary positions, token dropout in the graph
    [InlineData("../families/megatron/model.onnx", 20261234)] // MegatronBERT's, read with its config.json: pre-norm BERT with token types
    [InlineData("../families/roberta-prelayernorm/model.onnx", 20261235)] // RoBERTa-PreLayerNorm's, read with its config.json
    [InlineData("../families/deberta-conv/model.onnx", 20261237)] // DeBERTa-v2-xlarge's shape: its Conv node after the first layer
    [InlineData("../families/roformer/model.onnx", 20261236)] // RoFormer's, read with its config.json: its sinusoidal table gathered in the graph
    [InlineData("small-bert.onnx", 20261221, "quantized")] // as quantize_dynamic writes it (uint8 tables, int8 per-column products), read dequantized
    [InlineData("small-roberta.onnx", 20261222, "half")] // as onnxconverter-common writes it, read widened
    [InlineData("small-bert.onnx", 20261224, "fused")] // as ONNX Runtime's transformer optimizer writes it (EmbedLayerNormalization, Attention)
    [InlineData("small-bert.onnx", 20261225, "q4")] // as MatMul4BitsQuantizer writes it (MatMulNBits, asymmetric: packed zero points), read dequantized
    [InlineData("small-roberta.onnx", 20261226, "bnb4")] // as MatMulBnb4Quantizer writes it (NF4), read dequantized
    [InlineData("small-electra.onnx", 20261229, "q4-tables")] // MatMulNBits with GatherBlockQuantized tables (uint4, zero points)
    [InlineData("small-bert.onnx", 20261227, "fused-quantized")] // fused, then quantize_dynamic (QAttention, QEmbedLayerNormalization, MatMulInteger)
    [InlineData("small-bert.onnx", 20261231, "qdq-optimized")] // the QDQ form optimized and saved by ONNX Runtime (MatMulIntegerToFloat, QuantizeLinear moved ahead of Reshape and Transpose)
    public async Task MutatedGraphs_AreRefusedNamingTheFile_OrComputeWhatOnnxRuntimeComputes(string fixture, int seed, string form = "float")
    {
        string path = Path.Combine(AppContext.BaseDirectory, "Fixtures", "pretrained", fixture), config = Path.Combine(Path.GetDirectoryName(path)!, "config.json");
        var original = File.ReadAllBytes(path);
        original = form switch
        {
            "quantized" => DynamicQuantization.Quantize(original, new(SignedWeights: true, PerChannel: true, Tables: true)),
            "half" => HalfPrecision.Convert(original),
            "q4" => BlockQuantization.Quantize(original, new(Symmetric: false, BlockSize: 16)),
            "bnb4" => BlockQuantization.Quantize(original, new(BlockSize: 64, Bnb4: 1)),
            "q4-tables" => BlockQuantization.Quantize(original, new(Symmetric: false, BlockSize: 16, Tables: true)),
            "fused-quantized" => DynamicQuantization.Quantize(OptimizerFusion.Write(OnnxEncoderCheckpoint.Load(original, fixture)), new(SignedWeights: true, PerChannel: true, Tables: false)),
            "fused" => OptimizerFusion.Write(OnnxEncoderCheckpoint.Load(original, fixture)),
            "qdq-optimized" => OptimizedByOnnxRuntime(DynamicQuantization.Quantize(original, new(SignedWeights: true, PerChannel: true, Tables: false, Qdq: true))),
            _ => original,
        };
        // A graph with a config.json beside it is written beside a copy of that config and read from the file.
        string? dir = File.Exists(config) ? Directory.CreateTempSubdirectory("fuzz-configured").FullName : null;
        if (dir is not null) File.Copy(config, Path.Combine(dir, "config.json"));
        LoadedEncoder Load(byte[] bytes, string source)
        {
            if (dir is null) return OnnxEncoderCheckpoint.Load(bytes, source);
            File.WriteAllBytes(Path.Combine(dir, source), bytes);
            return OnnxEncoderCheckpoint.Load(Path.Combine(dir, source));
        }
        var proto = ModelProto.Parser.ParseFrom(original);
        var rng = new Random(seed);
        int cases = 0, refused = 0, loaded = 0;
        var failures = new List<string>();
        foreach (var (kind, n) in Counts)
            for (int c = 0; c < n; c++, cases++)
            {
                byte[] bytes = Mutate(kind, original, proto, rng);
                string source = $"fuzz-{kind}-{c}.onnx";
                if (await LoadedOrRefused(() => Load(bytes, source), source, failures) is not { } read)
                {
                    refused++;
                    continue;
                }
                loaded++;
                float[] reference;
                try { reference = RunOnnxRuntime(bytes); }
                catch (OnnxRuntimeException ortError) { failures.Add($"{source}: loaded, but ONNX Runtime cannot run it: {ortError.Message}"); continue; }
                var engine = RunEngine(read);
                // A quantized or half-precision graph computes its widened weights' model up to its own rounding.
                if (reference.Length != engine.Length || (form is "quantized" or "half" or "q4" or "bnb4" or "fused-quantized" or "q4-tables" or "qdq-optimized" ? LeastCosine(engine, reference, 16) < OnnxEncoderCheckpoint.QuantizedCosine : Difference(engine, reference, 16) > 1e-3))
                    failures.Add($"{source}: loaded as a model that computes something other than the graph");
            }
        output.WriteLine($"{cases} cases: {refused} refused, {loaded} loaded, {failures.Count} failures");
        if (dir is not null) Directory.Delete(dir, recursive: true);
        Assert.True(cases >= 500);
        Assert.True(failures.Count == 0, string.Join("\n", failures.Take(20)));
    }

    /// <summary>How many graphs of each mutation a fuzz run reads (520 in all).</summary>
    internal static readonly IReadOnlyDictionary<Mutation, int> Counts = new Dictionary<Mutation, int>
    {
        [Mutation.Bytes] = 150, [Mutation.Truncate] = 40, [Mutation.Dims] = 50, [Mutation.DropInitializer] = 40, [Mutation.OpType] = 60,
        [Mutation.Rewire] = 60, [Mutation.DropNode] = 40, [Mutation.Constant] = 40, [Mutation.Attribute] = 40,
    };

    /// <summary>
    /// What <paramref name="load"/> read within 30 s, or null when it refused the graph; a hang, a refusal other than
    /// <see cref="InvalidDataException"/> or <see cref="NotSupportedException"/>, or one not naming <paramref name="source"/> is a failure.
    /// </summary>
    internal static async Task<T?> LoadedOrRefused<T>(Func<T> load, string source, List<string> failures) where T : class
    {
        var task = Task.Run(load);
        if (await Task.WhenAny(task, Task.Delay(TimeSpan.FromSeconds(30))) != task)
        {
            failures.Add($"{source}: hung");
            return null;
        }
        if (task.Exception?.InnerException is not { } e) return await task;
        if (e is not (InvalidDataException or NotSupportedException)) failures.Add($"{source}: {e.GetType().Name}: {e.Message} {string.Join(" | ", (e.StackTrace ?? "").Split('\n').Take(3).Select(l => l.Trim()))}");
        else if (!e.Message.Contains(source, StringComparison.Ordinal)) failures.Add($"{source}: the message does not name the file: {e.Message}");
        return null;
    }

    internal static byte[] Mutate(Mutation kind, byte[] original, ModelProto proto, Random rng)
    {
        if (kind == Mutation.Bytes)
        {
            var b = (byte[])original.Clone();
            for (int k = rng.Next(1, 4); k > 0; k--) b[rng.Next(b.Length)] = (byte)rng.Next(256);
            return b;
        }
        if (kind == Mutation.Truncate) return original[..rng.Next(original.Length)];
        var m = proto.Clone();
        var g = m.Graph;
        var names = g.Node.SelectMany(x => x.Output).Concat(g.Initializer.Select(i => i.Name)).Concat(g.Input.Select(i => i.Name)).ToList();
        switch (kind)
        {
            case Mutation.Dims:
                {
                    var t = g.Initializer[rng.Next(g.Initializer.Count)];
                    if (t.Dims.Count == 0) t.Dims.Add(2);
                    else t.Dims[rng.Next(t.Dims.Count)] = rng.Next(4) switch { 0 => 0, 1 => -1, 2 => t.Dims[0] + 1, _ => 1L << 40 };
                    break;
                }
            case Mutation.DropInitializer:
                g.Initializer.RemoveAt(rng.Next(g.Initializer.Count));
                break;
            case Mutation.OpType:
                g.Node[rng.Next(g.Node.Count)].OpType = Operators[rng.Next(Operators.Length)];
                break;
            case Mutation.Rewire:
                {
                    var node = g.Node[rng.Next(g.Node.Count)];
                    if (node.Input.Count > 0) node.Input[rng.Next(node.Input.Count)] = names[rng.Next(names.Count)];
                    break;
                }
            case Mutation.DropNode:
                g.Node.RemoveAt(rng.Next(g.Node.Count));
                break;
            case Mutation.Constant:
                {
                    // Small float tensors are the graph's constants (the score scale, epsilons, the mask's fill value).
                    var small = g.Initializer.Where(t => t.DataType == (int)TensorProto.Types.DataType.Float && t.Dims.Aggregate(1L, (a, d) => a * d) <= 4).ToList();
                    var constants = g.Node.Where(x => x.OpType == "Constant").ToList();
                    var value = small.Count > 0 && (constants.Count == 0 || rng.Next(2) == 0) ? small[rng.Next(small.Count)]
                        : constants.Count > 0 ? constants[rng.Next(constants.Count)].Attribute.FirstOrDefault(a => a.T is not null)?.T : null;
                    if (value is null) break;
                    var raw = value.RawData.ToByteArray();
                    if (raw.Length >= 4)
                    {
                        int at = rng.Next(raw.Length / 4) * 4;
                        BitConverter.GetBytes(BitConverter.ToSingle(raw, at) * (float)(rng.NextDouble() * 4 - 1) + (rng.Next(3) == 0 ? 1f : 0f)).CopyTo(raw, at);
                        value.RawData = ByteString.CopyFrom(raw);
                    }
                    else if (value.FloatData.Count > 0) value.FloatData[0] *= 3;
                    else if (value.Int64Data.Count > 0) value.Int64Data[0] += 1;
                    break;
                }
            case Mutation.Attribute:
                {
                    var attrs = g.Node.SelectMany(x => x.Attribute).Where(a => a.Ints.Count > 0 || a.Type == AttributeProto.Types.AttributeType.Int || a.Type == AttributeProto.Types.AttributeType.Float).ToList();
                    var a = attrs[rng.Next(attrs.Count)];
                    if (a.Ints.Count > 0) a.Ints[rng.Next(a.Ints.Count)] = rng.Next(-2, 4);
                    else if (a.Type == AttributeProto.Types.AttributeType.Int) a.I = rng.Next(-2, 4);
                    else a.F = (float)(rng.NextDouble() * 2);
                    break;
                }
        }
        return m.ToByteArray();
    }

    // A graph as ONNX Runtime saves it after its extended optimizations.
    private static byte[] OptimizedByOnnxRuntime(byte[] graph)
    {
        string dir = Directory.CreateTempSubdirectory("fuzz-optimized").FullName;
        try
        {
            File.WriteAllBytes(Path.Combine(dir, "model.onnx"), graph);
            using (var so = new Microsoft.ML.OnnxRuntime.SessionOptions { GraphOptimizationLevel = Microsoft.ML.OnnxRuntime.GraphOptimizationLevel.ORT_ENABLE_EXTENDED, OptimizedModelFilePath = Path.Combine(dir, "optimized.onnx") })
            using (new Microsoft.ML.OnnxRuntime.InferenceSession(Path.Combine(dir, "model.onnx"), so)) { }
            return File.ReadAllBytes(Path.Combine(dir, "optimized.onnx"));
        }
        finally { Directory.Delete(dir, recursive: true); }
    }
}
