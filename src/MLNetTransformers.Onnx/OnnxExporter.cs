using System.Text.Json;
using MLNetTransformers.Core.Training;

namespace MLNetTransformers.Onnx;

/// <summary>
/// Writes MLNetTransformers models as standard ONNX (opset 17, only ai.onnx operators). Inputs are
/// <c>input_ids</c> and <c>attention_mask</c> (int64, [batch, sequence], both axes dynamic); the model config,
/// tokenizer and class names travel in the metadata. The contract is documented in <c>onnx/README.md</c>.
/// Weights are stored in PyTorch layout under their parameter names, so <see cref="OnnxImporter"/> maps them back.
/// </summary>
public static partial class OnnxExporter
{
    /// <summary>Opset of the exported graphs.</summary>
    public const int Opset = 17;
    internal const string KindKey = "mlnettransformers.kind", ConfigKey = "mlnettransformers.config",
        TokenizerKey = "mlnettransformers.tokenizer", ClassesKey = "mlnettransformers.class_names", VersionKey = "mlnettransformers.format_version",
        ChecksumKey = "mlnettransformers.graph_sha256", ModelChecksumKey = "mlnettransformers.sha256",
        SourceTokenizerKey = "mlnettransformers.source_tokenizer";

    /// <summary>The encoder classifier (or, with <see cref="OnnxExportKind.Featurizer"/>, its pooled embeddings only).</summary>
    /// <param name="model">The model to export.</param>
    /// <param name="tokenizer">Tokenizer stored in the metadata, for consumers that tokenize (null = none).</param>
    /// <param name="classNames">Class names stored in the metadata (null = none).</param>
    /// <param name="kind">Classifier (logits and embeddings) or Featurizer (embeddings only).</param>
    /// <param name="quantize">
    /// Export the encoder's linear layers int8-quantized as the managed int8 inference runs them (<c>WithInt8Inference</c>):
    /// int8 weights per output channel, inputs quantized per row in the graph, <c>MatMulInteger</c>. The float weights
    /// of those layers are left out; such a file runs in ONNX Runtime but does not import back.
    /// </param>
    public static byte[] Export(TransformerClassifier model, TextTokenizer? tokenizer = null, IReadOnlyList<string>? classNames = null,
        OnnxExportKind kind = OnnxExportKind.Classifier, bool quantize = false)
    {
        if (kind == OnnxExportKind.LanguageModel) throw new ArgumentException("A classifier exports as Classifier or Featurizer.", nameof(kind));
        if (kind == OnnxExportKind.Featurizer) return Export(model.Encoder, tokenizer, quantize);
        var g = new OnnxGraphBuilder();
        var (ids, mask) = Inputs(g);
        var types = TokenTypes(g, model.Config);
        var maskF = g.Node("Cast", new[] { mask }, Int("to", (long)DataType.Float));
        // Each ensemble member: its stack, pooling and head; embeddings are member 0's, logits the members' mean.
        string? logits = null, embeddings = null;
        int members = model.Config.Members;
        for (int m = 0; m < members; m++)
        {
            string prefix = TransformerClassifier.MemberPrefix(m);
            var pooled = Pool(g, Stack(g, model.Parameters, model.Config, ids, maskF, causal: false, prefix, quantize, types), maskF, model.Config.Pooling);
            embeddings ??= SentenceVectors(g, model.Parameters, prefix, model.Config, pooled);
            if (model.Config.Pooler) pooled = PoolerHead(g, model.Parameters, prefix, model.Config, pooled); // BERT's pooler (tanh), DistilBERT's pre_classifier (ReLU), ELECTRA's classifier.dense (GELU)
            var head = Linear(g, model.Parameters, prefix + "head.", pooled);
            logits = logits is null ? head : g.Node("Add", new[] { logits, head });
        }
        g.Output(embeddings!, "embeddings", DataType.Float, "batch", model.Config.SentenceDim);
        if (members > 1) logits = g.Node("Mul", new[] { logits!, g.FloatScalar(1f / members) });
        if (model.NGrams is { } bag) logits = MixWithNGrams(g, bag, logits!, ids, maskF);
        g.Output(logits!, "logits", DataType.Float, "batch", model.Config.NumClasses);
        return Model(g, model, kind, tokenizer, classNames, int8: quantize);
    }

    /// <summary>x [.., d] → the encoder's pooler: its dense layer, activation and (ModernBERT's head) norm.</summary>
    private static string PoolerHead(OnnxGraphBuilder g, ParameterSet parameters, string prefix, TransformerConfig config, string x)
    {
        var dense = Linear(g, parameters, prefix + "pooler.dense.", x);
        x = config.PoolerActivation switch
        {
            PoolerActivation.Relu => g.Node("Relu", new[] { dense }),
            PoolerActivation.Gelu => Activation(g, Core.Kernels.Activation.Gelu, dense),
            _ => g.Node("Tanh", new[] { dense }),
        };
        return config.PoolerNorm ? LayerNorm(g, parameters, x, prefix + "pooler.norm.", config.LayerNormEps) : x;
    }

    /// <summary>A standalone encoder as a featurizer: <c>embeddings</c> [batch, d_model], the pooled sentence vectors.</summary>
    /// <param name="encoder">The encoder, standalone or part of a classifier or masked LM.</param>
    /// <param name="tokenizer">Tokenizer stored in the metadata, for consumers that tokenize.</param>
    /// <param name="quantize">Export the linear layers int8-quantized, as for the classifier.</param>
    public static byte[] Export(TransformerEncoder encoder, TextTokenizer? tokenizer = null, bool quantize = false)
    {
        if (!encoder.OwnsParameters) encoder = encoder.Copy(); // only the encoder's weights, not its owner's
        var g = new OnnxGraphBuilder();
        var (ids, mask) = Inputs(g);
        var types = TokenTypes(g, encoder.Config);
        var maskF = g.Node("Cast", new[] { mask }, Int("to", (long)DataType.Float));
        var pooled = Pool(g, Stack(g, encoder.Parameters, encoder.Config, ids, maskF, causal: false, int8: quantize, types: types), maskF, encoder.Config.Pooling);
        g.Output(SentenceVectors(g, encoder.Parameters, "", encoder.Config, pooled), "embeddings", DataType.Float, "batch", encoder.Config.SentenceDim);
        return Model(g, encoder, OnnxExportKind.Featurizer, tokenizer, null, int8: quantize);
    }

    /// <summary>pooled [B, d] → the sentence embeddings: through sentence-transformers' Dense module when there is one, then unit length if normalized.</summary>
    private static string SentenceVectors(OnnxGraphBuilder g, ParameterSet parameters, string prefix, TransformerConfig config, string pooled)
    {
        if (config.SentenceDense > 0)
        {
            pooled = Linear(g, parameters, prefix + TransformerEncoder.SentenceDensePrefix + "dense.", pooled);
            if (config.SentenceDenseActivation == PoolerActivation.Tanh) pooled = g.Node("Tanh", new[] { pooled });
        }
        return Normalized(g, config, pooled);
    }

    /// <summary>hidden [B, T, d] → [B, d]: the first token's state, or the mean over unmasked tokens.</summary>
    private static string Pool(OnnxGraphBuilder g, string hidden, string maskF, Pooling pooling)
    {
        if (pooling == Pooling.Cls) return g.Node("Gather", new[] { hidden, g.Int64Scalar(0) }, Int("axis", 1));
        var m3 = g.Node("Unsqueeze", new[] { maskF, g.Int64s(2) });
        var sum = g.Node("ReduceSum", new[] { g.Node("Mul", new[] { hidden, m3 }), g.Int64s(1) }, Int("keepdims", 0));
        var count = g.Node("ReduceSum", new[] { maskF, g.Int64s(1) }, Int("keepdims", 1));
        return g.Node("Div", new[] { sum, g.Node("Max", new[] { count, g.FloatScalar(1f) }) });
    }

    /// <summary>The causal language model: <c>logits</c> [batch, sequence, vocab].</summary>
    /// <param name="model">The model to export.</param>
    /// <param name="tokenizer">Tokenizer stored in the metadata, for consumers that tokenize (null = none).</param>
    public static byte[] Export(TransformerLanguageModel model, TextTokenizer? tokenizer = null)
    {
        var g = new OnnxGraphBuilder();
        var (ids, mask) = Inputs(g);
        var maskF = g.Node("Cast", new[] { mask }, Int("to", (long)DataType.Float));
        var hidden = Stack(g, model.Parameters, model.Config, ids, maskF, causal: true);
        var logits = Linear(g, model.Parameters, "head.", hidden);
        g.Output(logits, "logits", DataType.Float, "batch", "sequence", model.Config.VocabSize);
        return Model(g, model, OnnxExportKind.LanguageModel, tokenizer, null);
    }

    /// <summary>
    /// The token classifier: <c>logits</c> [batch, sequence, tags] at every token (a word's tag is read at its first token;
    /// the words' alignment, like tokenization, is the caller's).
    /// </summary>
    /// <param name="model">The model to export.</param>
    /// <param name="tokenizer">Tokenizer stored in the metadata, for consumers that tokenize (null = none).</param>
    /// <param name="tags">Tag names stored in the metadata, in output order (null = none).</param>
    /// <param name="quantize">Export the encoder's linear layers int8-quantized, as for the classifier (does not import back).</param>
    public static byte[] Export(TransformerTokenClassifier model, TextTokenizer? tokenizer = null, IReadOnlyList<string>? tags = null, bool quantize = false)
    {
        var g = new OnnxGraphBuilder();
        g.Output(PositionLogits(g, model, quantize), "logits", DataType.Float, "batch", "sequence", model.Outputs);
        return Model(g, model, OnnxExportKind.TokenClassifier, tokenizer, tags, int8: quantize);
    }

    // A model with an output layer at every position: the encoder (and, with Config.Pooler, ModernBERT's head at every
    // position), then the output layer; logits [batch, sequence, outputs].
    private static string PositionLogits(OnnxGraphBuilder g, PositionHeadModel model, bool quantize)
    {
        var (ids, mask) = Inputs(g);
        var types = TokenTypes(g, model.Config);
        var maskF = g.Node("Cast", new[] { mask }, Int("to", (long)DataType.Float));
        var hidden = Stack(g, model.Parameters, model.Config, ids, maskF, causal: false, int8: quantize, types: types);
        if (model.Config.Pooler) hidden = PoolerHead(g, model.Parameters, "", model.Config, hidden);
        return Linear(g, model.Parameters, "head.", hidden);
    }

    /// <summary>
    /// The extractive question answerer: <c>start_logits</c> and <c>end_logits</c> [batch, sequence] at every token, as
    /// transformers' exports name them (laying out question and context, and finding the answer span, are the caller's).
    /// </summary>
    /// <param name="model">The model to export.</param>
    /// <param name="tokenizer">Tokenizer stored in the metadata, for consumers that tokenize (null = none).</param>
    /// <param name="quantize">Export the encoder's linear layers int8-quantized, as for the classifier (does not import back).</param>
    public static byte[] Export(TransformerQuestionAnswerer model, TextTokenizer? tokenizer = null, bool quantize = false)
    {
        var g = new OnnxGraphBuilder();
        var logits = PositionLogits(g, model, quantize); // [batch, sequence, 2]
        g.Output(g.Node("Gather", new[] { logits, g.Int64Scalar(0) }, Int("axis", 2)), "start_logits", DataType.Float, "batch", "sequence");
        g.Output(g.Node("Gather", new[] { logits, g.Int64Scalar(1) }, Int("axis", 2)), "end_logits", DataType.Float, "batch", "sequence");
        return Model(g, model, OnnxExportKind.QuestionAnswerer, tokenizer, null, int8: quantize);
    }

    /// <summary>Writes <paramref name="onnx"/> to <paramref name="path"/> atomically.</summary>
    /// <param name="onnx">The ONNX model bytes.</param>
    /// <param name="path">The .onnx file to write (atomically).</param>
    public static void Save(byte[] onnx, string path) => Checkpoint.WriteAtomically(path, onnx);

    /// <summary>SHA-256 of the serialized model without its checksum metadata entries.</summary>
    internal static string ModelChecksum(ModelProto model)
    {
        var copy = model.Clone();
        for (int i = copy.MetadataProps.Count - 1; i >= 0; i--)
            if (copy.MetadataProps[i].Key is ChecksumKey or ModelChecksumKey) copy.MetadataProps.RemoveAt(i);
        return Convert.ToHexString(System.Security.Cryptography.SHA256.HashData(copy.ToByteArray()));
    }

    private static (string Ids, string Mask) Inputs(OnnxGraphBuilder g) =>
        (g.Input("input_ids", DataType.Int64, "batch", "sequence"), g.Input("attention_mask", DataType.Int64, "batch", "sequence"));

    /// <summary>The <c>token_type_ids</c> input [batch, sequence] of a model with a token-type embedding (BERT's segments), else null.</summary>
    private static string? TokenTypes(OnnxGraphBuilder g, TransformerConfig c) =>
        c.TypeVocabSize > 0 ? g.Input("token_type_ids", DataType.Int64, "batch", "sequence") : null;

    /// <summary>Sentence embeddings scaled to unit length when the config says so: x / max(‖x‖, 1e-12).</summary>
    private static string Normalized(OnnxGraphBuilder g, TransformerConfig c, string pooled)
    {
        if (!c.NormalizeEmbeddings) return pooled;
        var norm = g.Node("Sqrt", new[] { g.Node("ReduceSum", new[] { g.Node("Mul", new[] { pooled, pooled }), g.Int64s(1) }, Int("keepdims", 1)) });
        return g.Node("Div", new[] { pooled, g.Node("Max", new[] { norm, g.FloatScalar(1e-12f) }) });
    }

    private static byte[] Model(OnnxGraphBuilder g, ITransformerModel model, OnnxExportKind kind, TextTokenizer? tokenizer, IReadOnlyList<string>? classNames,
        bool usedWeightsOnly = false, TextTokenizer? sourceTokenizer = null, bool int8 = false)
    {
        var m = new ModelProto
        {
            IrVersion = 8, ProducerName = "MLNetTransformers", ProducerVersion = typeof(OnnxExporter).Assembly.GetName().Version?.ToString() ?? "0",
            Graph = g.Graph, DocString = $"MLNetTransformers {kind}: {model.Config.Layers} layers, d_model {model.Config.ModelDim}, {model.Config.Heads} heads.",
        };
        m.OpsetImport.Add(new OperatorSetIdProto { Domain = "", Version = Opset });
        void Meta(string k, string v) => m.MetadataProps.Add(new StringStringEntryProto { Key = k, Value = v });
        Meta(VersionKey, "1");
        Meta(KindKey, kind.ToString());
        Meta(ConfigKey, model.Config.ToJson());
        if (tokenizer is not null) Meta(TokenizerKey, System.Text.Encoding.UTF8.GetString(tokenizer.Serialize()));
        if (sourceTokenizer is not null) Meta(SourceTokenizerKey, System.Text.Encoding.UTF8.GetString(sourceTokenizer.Serialize()));
        if (classNames is not null) Meta(ClassesKey, JsonSerializer.Serialize(classNames));
        if (int8) Meta(Int8Key, "per-channel int8 weights, per-row uint8 activations");
        // Weights are added last so a reader can reject a model by its metadata without parsing them. The two graphs of
        // an encoder-decoder each hold only the weights they read.
        // An int8 export leaves out the float weights its quantized layers replaced.
        var used = usedWeightsOnly || int8 ? g.Graph.Node.SelectMany(n => n.Input).ToHashSet(StringComparer.Ordinal) : null;
        foreach (var t in model.Parameters.Tensors)
            if (used is null || used.Contains(t.Name)) g.Initializer(t.Name, t.Value, t.Shape.Select(d => (long)d).ToArray());
        // Checksums checked by OnnxImporter and onnx-run when present: of the whole model without its checksum entries
        // (graph, weights, opsets, metadata such as the tokenizer), and of the graph alone (what earlier readers check).
        string whole = ModelChecksum(m);
        Meta(ChecksumKey, Convert.ToHexString(System.Security.Cryptography.SHA256.HashData(m.Graph.ToByteArray())));
        Meta(ModelChecksumKey, whole);
        return m.ToByteArray();
    }

    /// <summary>Token + position embeddings and the blocks (and the final norm for pre-norm) → hidden [B, T, d].</summary>
    private static string Stack(OnnxGraphBuilder g, ParameterSet p, TransformerConfig c, string ids, string maskF, bool causal, string prefix = "", bool int8 = false,
        string? types = null)
    {
        int d = c.ModelDim, h = c.Heads, hd = d / h;
        // Layers without a key bias (DeBERTa v1's) hold that third of in_proj_bias at 0, as the engine's forward does.
        if (!c.AttentionKeyBias)
            for (int i = 0; i < c.ParameterLayers; i++)
                if (p.Contains($"{prefix}layers.{i}.self_attn.in_proj_bias")) p[$"{prefix}layers.{i}.self_attn.in_proj_bias"].Value.Slice(d, d).Clear();
        var x = g.Node("Gather", new[] { prefix + "tok.weight", ids });                                   // [B, T, d]
        if (c.MaskTokenDropout >= 0)
        {
            // ESM's token dropout: mask tokens zeroed, each sequence scaled by (1 − 0.12) / (1 − masks / its real tokens).
            var isMask = g.Node("Cast", new[] { g.Node("Equal", new[] { ids, g.Int64Scalar(c.MaskTokenDropout) }) }, Int("to", (long)DataType.Float));      // [B, T]
            var share = g.Node("Div", new[] { g.Node("ReduceSum", new[] { isMask, g.Int64s(1) }, Int("keepdims", 1)),
                g.Node("ReduceSum", new[] { maskF, g.Int64s(1) }, Int("keepdims", 1)) });                                                  // [B, 1]
            var sequenceScale = g.Node("Div", new[] { g.FloatScalar((float)(1 - TransformerConfig.MaskTokenDropoutTrainRatio)), g.Node("Sub", new[] { g.FloatScalar(1f), share }) });
            var rowScale = g.Node("Mul", new[] { g.Node("Sub", new[] { g.FloatScalar(1f), isMask }), sequenceScale });                               // [B, T]
            x = g.Node("Mul", new[] { x, g.Node("Unsqueeze", new[] { rowScale, g.Int64s(2) }) });
        }
        var seqLen = g.Node("Gather", new[] { g.Node("Shape", new[] { ids }), g.Int64Scalar(1) });   // scalar T
        // Positions 0..T − 1 [T] and the offsets i − j [T, T] of query i and key j, made once for whichever blocks use them.
        string? steps = null, offsets = null;
        string Steps() => steps ??= g.Node("Range", new[] { g.Int64Scalar(0), seqLen, g.Int64Scalar(1) });
        string Offsets() => offsets ??= g.Node("Sub", new[] { g.Node("Unsqueeze", new[] { Steps(), g.Int64s(1) }), g.Node("Unsqueeze", new[] { Steps(), g.Int64s(0) }) });
        var positions = c.PositionOffset == 0                                                       // [T]: offset .. offset + T − 1
            ? Steps()
            : g.Node("Range", new[] { g.Int64Scalar(c.PositionOffset), g.Node("Add", new[] { seqLen, g.Int64Scalar(c.PositionOffset) }), g.Int64Scalar(1) });
        if (c.PositionalEncoding != PositionalEncodingKind.None) // DeBERTa's positions are relative only
        {
            string table = c.PositionalEncoding == PositionalEncodingKind.Learned
                ? prefix + "pos.weight"
                : g.Initializer(prefix + "pos.sinusoidal", new SinusoidalPositionalEncoding(c.MaxLength, d).Vectors, c.MaxLength, d);
            x = g.Node("Add", new[] { x, g.Node("Gather", new[] { table, positions }) });
        }
        if (types is not null) x = g.Node("Add", new[] { x, g.Node("Gather", new[] { prefix + "tok_type.weight", types }) });
        string Norm(string input, string name) => LayerNorm(g, p, input, name, c.LayerNormEps);
        if (c.EmbeddingNorm) x = Norm(x, prefix + "emb_norm.");
        if (c.ProjectsEmbeddings) x = Linear(g, p, prefix + "emb_proj.", x);                          // [B, T, e] → [B, T, d]

        // Additive attention bias: 0 where attended, −1e9 where blocked (padded keys; future positions if causal).
        var keyBias = g.Node("Mul", new[] { g.Node("Sub", new[] { maskF, g.FloatScalar(1f) }), g.FloatScalar(1e9f) }); // [B, T]
        var bias = g.Node("Unsqueeze", new[] { keyBias, g.Int64s(1, 2) });                         // [B, 1, 1, T]
        if (causal)
        {
            var t1 = g.Node("Unsqueeze", new[] { seqLen, g.Int64s(0) });
            var one = new TensorProto { DataType = (int)DataType.Float, Dims = { 1 } };
            one.FloatData.Add(1f);
            var ones = g.Node("ConstantOfShape", new[] { g.Node("Concat", new[] { t1, t1 }, Int("axis", 0)) }, Tensor("value", one));
            var lower = g.Node("Trilu", new[] { ones }, Int("upper", 0));                         // 1 where j ≤ i
            var causalBias = g.Node("Mul", new[] { g.Node("Sub", new[] { lower, g.FloatScalar(1f) }), g.FloatScalar(1e9f) });
            bias = g.Node("Add", new[] { bias, causalBias });                                      // [B, 1, T, T]
        }
        if (c.RelativeAttentionBuckets > 0)
        {
            // MPNet's relative position bias: table[bucket(j − i), h] for every query i and key j, one [1, H, T, T] for all
            // layers. The buckets of offsets −(M − 1)..M − 1 are a constant; the graph gathers the T × T of this length.
            int m = c.MaxLength;
            var buckets = new long[2 * m - 1];
            for (int r = 0; r < buckets.Length; r++) buckets[r] = RelativePositionBias.Bucket(r - (m - 1), c.RelativeAttentionBuckets);
            string bucketTable = g.Initializer<long>(prefix + "rel_attn_bias.buckets", buckets, DataType.Int64, buckets.Length);
            var offset = g.Node("Neg", new[] { Offsets() });                                       // [T, T]: j − i
            var bucketIds = g.Node("Gather", new[] { bucketTable, g.Node("Add", new[] { offset, g.Int64Scalar(m - 1) }) });
            var perHead = g.Node("Transpose", new[] { g.Node("Gather", new[] { prefix + "rel_attn_bias.weight", bucketIds }) }, Ints("perm", 2, 0, 1)); // [H, T, T]
            bias = g.Node("Add", new[] { bias, g.Node("Unsqueeze", new[] { perHead, g.Int64s(0) }) }); // [B, H, T, T]
        }

        if (c.Alibi)
        {
            // ALiBi: −m_h·|i − j| for every query i and key j, one [1, H, T, T] for all layers, the slopes a constant.
            var negativeSlopes = new AttentionLinearBiases(h).HeadSlopes.ToArray().Select(m => -m).ToArray();
            string slopes = g.Initializer(prefix + "alibi.negative_slopes", negativeSlopes, h, 1, 1);
            var distance = g.Node("Cast", new[] { g.Node("Abs", new[] { Offsets() }) }, Int("to", (long)DataType.Float)); // [T, T]: |i − j|
            bias = g.Node("Add", new[] { bias, g.Node("Unsqueeze", new[] { g.Node("Mul", new[] { slopes, distance }), g.Int64s(0) }) }); // [B, H, T, T]
        }

        // DeBERTa's disentangled attention: the shared relative positions normalized once (R [2S, d]) and the table row of
        // every query-key distance (idx [T, T], a constant per distance gathered for this length); each layer adds
        // c2p[i, j] = q_i · Kr[idx[i, j]] and p2c[i, j] = k_j · Qr[idx[i, j]], Kr and Qr its projections of R.
        string? relRows = null, relIndex = null;
        if (c.DisentangledSpan > 0)
        {
            relRows = c.DisentangledNorm ? LayerNorm(g, p, prefix + "rel_embeddings.weight", prefix + "rel_embeddings.norm.", c.LayerNormEps) : prefix + "rel_embeddings.weight"; // [2S, d]
            int m = c.MaxLength;
            var rows = new long[2 * m - 1];
            for (int r = 0; r < rows.Length; r++) rows[r] = DisentangledPositions.Row(r - (m - 1), c.DisentangledSpan, c.DisentangledMaxDistance);
            string rowTable = g.Initializer<long>(prefix + "rel_embeddings.rows", rows, DataType.Int64, rows.Length);
            relIndex = g.Node("Gather", new[] { rowTable, g.Node("Add", new[] { Offsets(), g.Int64Scalar(m - 1) }) });
        }

        // Rotary positions (ModernBERT's): cos and sin of position · base^(−2i/hd) per base, [T, 1, hd] against [B, T, H, hd]
        // queries and keys; x·cos + rotate_half(x)·sin, rotate_half(x) = [−x₂, x₁].
        var rotations = new Dictionary<float, (string Cos, string Sin)>();
        (string Cos, string Sin) Rotation(float theta)
        {
            if (rotations.TryGetValue(theta, out var r)) return r;
            var inverse = new RotaryPositions(hd, theta, c.RotaryScaling).InverseFrequencies.ToArray();
            string freq = g.Initializer($"{prefix}rotary.{theta.ToString(System.Globalization.CultureInfo.InvariantCulture)}", inverse, 1, hd / 2);
            var time = g.Node("Cast", new[] { Steps() }, Int("to", (long)DataType.Float));
            var angles = g.Node("Mul", new[] { g.Node("Unsqueeze", new[] { time, g.Int64s(1) }), freq });                    // [T, hd/2]
            var both = g.Node("Unsqueeze", new[] { g.Node("Concat", new[] { angles, angles }, Int("axis", -1)), g.Int64s(1) }); // [T, 1, hd]
            return rotations[theta] = (g.Node("Cos", new[] { both }), g.Node("Sin", new[] { both }));
        }
        // RoFormer's layout: components 2i and 2i + 1 rotate together, by angles of its double-precision table (rows up to
        // the model's length, gathered for the positions 0..T-1): [T, 1, hd/2, 1] against pairs [B, T, H, hd/2, 2].
        (string Cos, string Sin)? pairTables = null;
        string RotatePairs(string heads)
        {
            if (pairTables is null)
            {
                int m = c.MaxLength;
                var (cosines, sines) = new RotaryPositions(hd, c.RotaryTheta, interleaved: true).Tables(m);
                string Rows(string name, float[] values) => g.Node("Unsqueeze", new[] { g.Node("Gather", new[] { g.Initializer(prefix + name, values, m, hd / 2), Steps() }), g.Int64s(1, 3) });
                pairTables = (Rows("rotary.pairs.cos", cosines), Rows("rotary.pairs.sin", sines));
            }
            var (cos, sin) = pairTables.Value;
            var pairs = g.Node("Reshape", new[] { heads, g.Int64s(0, 0, h, hd / 2, 2) });
            var parts = g.Nodes("Split", new[] { pairs, g.Int64s(1, 1) }, 2, Int("axis", -1)); // x₁ = even, x₂ = odd components
            var first = g.Node("Sub", new[] { g.Node("Mul", new[] { parts[0], cos }), g.Node("Mul", new[] { parts[1], sin }) });
            var second = g.Node("Add", new[] { g.Node("Mul", new[] { parts[1], cos }), g.Node("Mul", new[] { parts[0], sin }) });
            return g.Node("Reshape", new[] { g.Node("Concat", new[] { first, second }, Int("axis", -1)), g.Int64s(0, 0, h, hd) });
        }
        string Rotate(string heads, float theta) // [B, T, H, hd]
        {
            if (c.RotaryInterleaved) return RotatePairs(heads);
            var (cos, sin) = Rotation(theta);
            var halves = g.Nodes("Split", new[] { heads, g.Int64s(hd / 2, hd / 2) }, 2, Int("axis", -1));
            var rotated = g.Node("Concat", new[] { g.Node("Neg", new[] { halves[1] }), halves[0] }, Int("axis", -1));
            return g.Node("Add", new[] { g.Node("Mul", new[] { heads, cos }), g.Node("Mul", new[] { rotated, sin }) });
        }
        // The sliding window (ModernBERT's local layers): −1e9 where |i − j| > window, added to those layers' scores.
        string? windowBias = null;
        if (c.SlidingWindow > 0)
        {
            var outside = g.Node("Cast", new[] { g.Node("Greater", new[] { g.Node("Abs", new[] { Offsets() }), g.Int64Scalar(c.SlidingWindow) }) }, Int("to", (long)DataType.Float));
            windowBias = g.Node("Add", new[] { bias, g.Node("Mul", new[] { outside, g.FloatScalar(-1e9f) }) });               // [B, 1, T, T]
        }

        var headShape = g.Int64s(0, 0, h, hd);
        var mergedShape = g.Int64s(0, 0, d);
        var split = g.Int64s(d, d, d);
        var scale = g.FloatScalar(c.DisentangledSpan > 0 ? 1f / MathF.Sqrt(3f * hd) : 1f / MathF.Sqrt(hd));
        var embedded = x;
        for (int i = 0; i < c.Layers; i++)
        {
            string pre = $"{prefix}layers.{c.ParameterLayerOf(i)}.";                                    // blocks may share weights (ALBERT)
            string Attention(string input)
            {
                string? inBias = p.Contains(pre + "self_attn.in_proj_bias") ? pre + "self_attn.in_proj_bias" : null;
                var qkv = int8
                    ? QuantizedLinear(g, input, p[pre + "self_attn.in_proj_weight"].Value, 3 * d, d, pre + "self_attn.in_proj_weight", inBias)
                    : g.Node("MatMul", new[] { input, T(g, pre + "self_attn.in_proj_weight") });
                if (!int8 && inBias is not null) qkv = g.Node("Add", new[] { qkv, inBias });
                var parts = g.Nodes("Split", new[] { qkv, split }, 3, Int("axis", -1));
                string qHeads = g.Node("Reshape", new[] { parts[0], headShape }), kHeads = g.Node("Reshape", new[] { parts[1], headShape }); // [B, T, H, hd]
                if (c.RotaryTheta > 0f) (qHeads, kHeads) = (Rotate(qHeads, c.RotaryThetaOf(i)), Rotate(kHeads, c.RotaryThetaOf(i)));
                var q = g.Node("Transpose", new[] { qHeads }, Ints("perm", 0, 2, 1, 3));  // [B, H, T, hd]
                var kT = g.Node("Transpose", new[] { kHeads }, Ints("perm", 0, 2, 3, 1)); // [B, H, hd, T]
                var v = g.Node("Transpose", new[] { g.Node("Reshape", new[] { parts[2], headShape }) }, Ints("perm", 0, 2, 1, 3));
                var raw = g.Node("MatMul", new[] { q, kT });                                              // [B, H, T, T]
                if (relRows is not null)
                {
                    // Qr and Kr [2S, A]: the layer's own projections of the positions (DeBERTa v1's), or its query and key weights'.
                    string[] relParts;
                    if (c.DisentangledOwnProjections)
                        relParts = [Linear(g, p, pre + "self_attn.pos_query_proj.", relRows), Linear(g, p, pre + "self_attn.pos_key_proj.", relRows)];
                    else
                    {
                        var relQkv = g.Node("MatMul", new[] { relRows, T(g, pre + "self_attn.in_proj_weight") }); // [2S, 3A]
                        if (p.Contains(pre + "self_attn.in_proj_bias")) relQkv = g.Node("Add", new[] { relQkv, pre + "self_attn.in_proj_bias" });
                        relParts = g.Nodes("Split", new[] { relQkv, split }, 3, Int("axis", -1));
                    }
                    var relShape = g.Int64s(0, h, hd);
                    var qrT = g.Node("Transpose", new[] { g.Node("Reshape", new[] { relParts[0], relShape }) }, Ints("perm", 1, 2, 0)); // [H, hd, 2S]
                    var krT = g.Node("Transpose", new[] { g.Node("Reshape", new[] { relParts[1], relShape }) }, Ints("perm", 1, 2, 0));
                    var k = g.Node("Transpose", new[] { g.Node("Reshape", new[] { parts[1], headShape }) }, Ints("perm", 0, 2, 1, 3)); // [B, H, T, hd]
                    var full = g.Node("Shape", new[] { raw });
                    var c2p = g.Node("GatherElements", new[] { g.Node("MatMul", new[] { q, krT }), g.Node("Expand", new[] { relIndex!, full }) }, Int("axis", 3));
                    var p2c = g.Node("Transpose", new[] { g.Node("GatherElements", new[] { g.Node("MatMul", new[] { k, qrT }),
                        g.Node("Expand", new[] { g.Node("Transpose", new[] { relIndex! }, Ints("perm", 1, 0)), full }) }, Int("axis", 3)) }, Ints("perm", 0, 1, 3, 2));
                    raw = g.Node("Add", new[] { raw, g.Node("Add", new[] { c2p, p2c }) });
                }
                var scores = g.Node("Add", new[] { g.Node("Mul", new[] { raw, scale }), c.IsLocalLayer(i) ? windowBias! : bias });
                var probs = g.Node("Softmax", new[] { scores }, Int("axis", -1));
                var ctx = g.Node("Reshape", new[] { g.Node("Transpose", new[] { g.Node("MatMul", new[] { probs, v }) }, Ints("perm", 0, 2, 1, 3)), mergedShape });
                return Linear(g, p, pre + "self_attn.out_proj.", ctx, int8);
            }
            string FeedForward(string input)
            {
                var a = Linear(g, p, pre + "linear1.", input, int8);
                if (!c.GatedFeedForward) return Linear(g, p, pre + "linear2.", Activation(g, c.Activation, a), int8);
                var halves = g.Nodes("Split", new[] { a, g.Int64s(c.FeedForwardDim, c.FeedForwardDim) }, 2, Int("axis", -1));
                var (activated, gating) = c.ActivatedHalfFirst ? (halves[0], halves[1]) : (halves[1], halves[0]);
                return Linear(g, p, pre + "linear2.", g.Node("Mul", new[] { Activation(g, c.Activation, activated), gating }), int8);
            }

            if (c.Norm == NormPlacement.PreNorm)
            {
                x = g.Node("Add", new[] { x, Attention(i == 0 && !c.FirstBlockAttentionNorm ? x : Norm(x, pre + "norm1.")) });
                x = g.Node("Add", new[] { x, FeedForward(Norm(x, pre + "norm2.")) });
            }
            else
            {
                x = Norm(g.Node("Add", new[] { x, Attention(x) }), pre + "norm1.");
                x = Norm(g.Node("Add", new[] { x, FeedForward(x) }), pre + "norm2.");
            }
            if (i == 0 && c.ConvKernel > 0)
            {
                // DeBERTa-v2's ConvLayer: a Conv over [B, d, T] of the embeddings (zero at padding), zero at padding rows,
                // tanh or GELU, added to the first block's output, then its LayerNorm.
                var mask3 = g.Node("Unsqueeze", new[] { maskF, g.Int64s(2) });                                      // [B, T, 1]
                var input = g.Node("Transpose", new[] { g.Node("Mul", new[] { embedded, mask3 }) }, Ints("perm", 0, 2, 1));
                int pad = (c.ConvKernel - 1) / 2;
                var conv = g.Node("Conv", new[] { input, prefix + "conv.conv.weight", prefix + "conv.conv.bias" }, Ints("pads", pad, pad), Ints("kernel_shape", c.ConvKernel));
                var masked = g.Node("Mul", new[] { g.Node("Transpose", new[] { conv }, Ints("perm", 0, 2, 1)), mask3 });
                var activated = c.ConvActivation == PoolerActivation.Gelu ? Activation(g, Core.Kernels.Activation.Gelu, masked) : g.Node("Tanh", new[] { masked });
                x = LayerNorm(g, p, g.Node("Add", new[] { x, activated }), prefix + "conv.LayerNorm.", c.LayerNormEps);
            }
        }
        if (c.Norm == NormPlacement.PreNorm) x = Norm(x, prefix + "lnf.");
        return x;
    }

    /// <summary>
    /// The <see cref="BagOfNGrams"/> branch and the mixture: mix[0]·logits + mix[1]·scale/√(2·len − 1)·(Σ unigram rows +
    /// Σ bigram rows), bigram (a, b) reading row (a·vocab + b) mod buckets; a bigram counts when its second token is real.
    /// </summary>
    private static string MixWithNGrams(OnnxGraphBuilder g, BagOfNGrams bag, string logits, string ids, string maskF)
    {
        var m3 = g.Node("Unsqueeze", new[] { maskF, g.Int64s(2) });                                             // [B, T, 1]
        var uni = g.Node("ReduceSum", new[] { g.Node("Mul", new[] { g.Node("Gather", new[] { "ngram.unigram", ids }), m3 }), g.Int64s(1) },
            Int("keepdims", 0));                                                                                   // [B, C]
        var first = g.Node("Slice", new[] { ids, g.Int64s(0), g.Int64s(-1), g.Int64s(1) });                      // [B, T−1]
        var second = g.Node("Slice", new[] { ids, g.Int64s(1), g.Int64s(long.MaxValue), g.Int64s(1) });
        var rows = g.Node("Mod", new[] { g.Node("Add", new[] { g.Node("Mul", new[] { first, g.Int64Scalar(bag.Vocab) }), second }), g.Int64Scalar(bag.Buckets) });
        var m3b = g.Node("Slice", new[] { m3, g.Int64s(1), g.Int64s(long.MaxValue), g.Int64s(1) });              // [B, T−1, 1]
        var bi = g.Node("ReduceSum", new[] { g.Node("Mul", new[] { g.Node("Gather", new[] { "ngram.bigram", rows }), m3b }), g.Int64s(1) },
            Int("keepdims", 0));
        var len = g.Node("ReduceSum", new[] { maskF, g.Int64s(1) }, Int("keepdims", 1));                          // [B, 1]
        var count = g.Node("Max", new[] { g.Node("Sub", new[] { g.Node("Mul", new[] { len, g.FloatScalar(2f) }), g.FloatScalar(1f) }), g.FloatScalar(1f) });
        var bagLogits = g.Node("Mul", new[] { g.Node("Add", new[] { uni, bi }), g.Node("Div", new[] { g.FloatScalar(bag.Scale), g.Node("Sqrt", new[] { count }) }) });
        var a = g.Node("Gather", new[] { "ngram.mix", g.Int64Scalar(0) });
        var b = g.Node("Gather", new[] { "ngram.mix", g.Int64Scalar(1) });
        return g.Node("Add", new[] { g.Node("Mul", new[] { logits, a }), g.Node("Mul", new[] { bagLogits, b }) });
    }

    private static string T(OnnxGraphBuilder g, string weight) => g.Node("Transpose", new[] { weight }, Ints("perm", 1, 0));

    // LayerNorm(x) with γ and, when the model has one, β (ModernBERT's norms have none).
    private static string LayerNorm(OnnxGraphBuilder g, ParameterSet p, string input, string prefix, float eps) =>
        g.Node("LayerNormalization", p.Contains(prefix + "bias") ? new[] { input, prefix + "weight", prefix + "bias" } : new[] { input, prefix + "weight" },
            Int("axis", -1), Float("epsilon", eps));

    private static string Linear(OnnxGraphBuilder g, ParameterSet p, string prefix, string input, bool int8 = false)
    {
        if (int8)
        {
            var w = p[prefix + "weight"];
            return QuantizedLinear(g, input, w.Value, w.Shape[0], w.Shape[1], prefix + "weight", p.Contains(prefix + "bias") ? prefix + "bias" : null);
        }
        var y = g.Node("MatMul", new[] { input, T(g, prefix + "weight") });
        return p.Contains(prefix + "bias") ? g.Node("Add", new[] { y, prefix + "bias" }) : y;
    }

    private static string Activation(OnnxGraphBuilder g, Activation act, string x) => act switch
    {
        Core.Kernels.Activation.Relu => g.Node("Relu", new[] { x }),
        Core.Kernels.Activation.Silu => g.Node("Mul", new[] { x, g.Node("Sigmoid", new[] { x }) }),
        // 0.5·x·(1 + erf(x/√2))
        Core.Kernels.Activation.Gelu => g.Node("Mul", new[] { g.Node("Mul", new[] { x, g.FloatScalar(0.5f) }),
            g.Node("Add", new[] { g.Node("Erf", new[] { g.Node("Mul", new[] { x, g.FloatScalar(0.70710678118654752f) }) }), g.FloatScalar(1f) }) }),
        // 0.5·x·(1 + tanh(√(2/π)·(x + 0.044715·x³)))
        Core.Kernels.Activation.GeluTanh => g.Node("Mul", new[] { g.Node("Mul", new[] { x, g.FloatScalar(0.5f) }),
            g.Node("Add", new[] { g.Node("Tanh", new[] { g.Node("Mul", new[] { g.FloatScalar(0.79788456080286536f),
                g.Node("Add", new[] { x, g.Node("Mul", new[] { g.FloatScalar(0.044715f), g.Node("Mul", new[] { x, g.Node("Mul", new[] { x, x }) }) }) }) }) }),
                g.FloatScalar(1f) }) }),
        _ => throw new ArgumentOutOfRangeException(nameof(act), act, "Unknown activation."),
    };
}
