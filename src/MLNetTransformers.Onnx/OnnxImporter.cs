using System.Runtime.InteropServices;
using System.Text;
using System.Text.Json;

namespace MLNetTransformers.Onnx;

/// <summary>
/// Brings the weights of an ONNX model exported by <see cref="OnnxExporter"/> back into the managed engine:
/// the config comes from the metadata, every parameter from the initializer of the same name. Graphs using an
/// operator the exporter never writes are refused, naming the operator, rather than imported wrongly.
/// </summary>
public static class OnnxImporter
{
    private static readonly HashSet<string> KnownOperators = new(StringComparer.Ordinal)
    {
        "Gather", "Shape", "Range", "Add", "Sub", "Mul", "Div", "Max", "Slice", "Mod", "Sqrt", "Cast", "Unsqueeze", "ConstantOfShape", "Concat", "Trilu",
        "LayerNormalization", "Transpose", "MatMul", "Split", "Reshape", "Softmax", "ReduceSum", "Erf", "Tanh", "Relu", "Identity",
        "Expand", "GatherElements", // DeBERTa's disentangled attention
        "Cos", "Sin", "Neg", "Abs", "Greater", // ModernBERT's rotary positions and sliding window
        "Sigmoid", // SiLU (NomicBERT's SwiGLU)
        "Equal", // ESM's token dropout (which ids are the mask token)
        "Conv", // DeBERTa-v2-xlarge's convolution after the first layer
    };

    /// <summary>Imports from a file.</summary>
    /// <param name="path">The .onnx file.</param>
    public static ImportedModel Import(string path)
    {
        if (!File.Exists(path)) throw new FileNotFoundException($"ONNX model file '{path}' does not exist.", path);
        return Import(File.ReadAllBytes(path), path);
    }

    /// <summary>Imports from bytes; <paramref name="source"/> names them in errors.</summary>
    /// <param name="onnx">The ONNX model bytes.</param>
    /// <param name="source">Names the bytes in error messages (e.g. a file path).</param>
    public static ImportedModel Import(byte[] onnx, string source = "the ONNX model")
    {
        var model = Parse(onnx, source);
        var meta = model.MetadataProps.ToDictionary(p => p.Key, p => p.Value);
        if (!meta.TryGetValue(OnnxExporter.ConfigKey, out var configJson) || !meta.TryGetValue(OnnxExporter.KindKey, out var kindText))
            throw new NotSupportedException($"{source} was not exported by MLNetTransformers: weight import needs its '{OnnxExporter.ConfigKey}' metadata. Run it with ONNX Runtime instead (OnnxModelTransformer).");
        if (!Enum.TryParse<OnnxExportKind>(kindText, out var kind)) throw new InvalidDataException($"{source} has an unknown model kind '{kindText}'.");
        if (meta.ContainsKey(OnnxExporter.Int8Key))
            throw new NotSupportedException($"{source} is an int8 export (its float weights are not in it); weight import reads float exports. Run it with ONNX Runtime, or export the float model.");
        if (kind is OnnxExportKind.Seq2SeqEncoder or OnnxExportKind.Seq2SeqDecoder)
            throw new NotSupportedException($"{source} is one graph of an encoder-decoder export; open the export directory with OnnxSeq2SeqModel.Load.");
        foreach (var node in model.Graph.Node)
            if (!string.IsNullOrEmpty(node.Domain) || !KnownOperators.Contains(node.OpType))
                throw new NotSupportedException($"{source} uses operator '{(string.IsNullOrEmpty(node.Domain) ? "" : node.Domain + ".")}{node.OpType}' (node '{node.Name}'), which weight import does not know.");

        TransformerConfig config;
        try { config = kind is OnnxExportKind.Classifier or OnnxExportKind.TokenClassifier or OnnxExportKind.QuestionAnswerer ? ClassifierConfig.FromJson(configJson) : TransformerConfig.FromJson(configJson); }
        catch (Exception e) when (e is JsonException or ArgumentException) { throw new InvalidDataException($"{source} has an invalid config: {e.Message.ReplaceLineEndings(" ")}", e); }
        ITransformerModel managed = kind switch
        {
            OnnxExportKind.LanguageModel => new TransformerLanguageModel(config),
            OnnxExportKind.Featurizer => new TransformerEncoder(config),
            OnnxExportKind.TokenClassifier => new TransformerTokenClassifier((ClassifierConfig)config),
            OnnxExportKind.QuestionAnswerer => new TransformerQuestionAnswerer((ClassifierConfig)config),
            _ => new TransformerClassifier((ClassifierConfig)config),
        };
        var initializers = new Dictionary<string, TensorProto>(StringComparer.Ordinal);
        foreach (var t in model.Graph.Initializer)
            if (!initializers.TryAdd(t.Name, t)) throw new InvalidDataException($"{source} holds two weights named '{t.Name}'.");
        foreach (var p in managed.Parameters.Tensors)
        {
            if (!initializers.TryGetValue(p.Name, out var t)) throw new InvalidDataException($"{source} lacks the weight '{p.Name}'.");
            if (!t.Dims.SequenceEqual(p.Shape.Select(d => (long)d)))
                throw new InvalidDataException($"{source}: weight '{p.Name}' has shape [{string.Join(", ", t.Dims)}], expected [{string.Join(", ", p.Shape)}].");
            ReadFloats(t, p.Value, source);
        }
        TextTokenizer? tokenizer;
        string[]? classes;
        try
        {
            tokenizer = meta.TryGetValue(OnnxExporter.TokenizerKey, out var tok) ? TextTokenizer.Deserialize(Encoding.UTF8.GetBytes(tok)) : null;
            classes = meta.TryGetValue(OnnxExporter.ClassesKey, out var cls) ? JsonSerializer.Deserialize<string[]>(cls) : null;
        }
        catch (Exception e) when (e is JsonException or ArgumentException or FormatException or InvalidDataException)
        {
            throw new InvalidDataException($"{source} has an invalid tokenizer or class list in its metadata: {e.Message.ReplaceLineEndings(" ")}", e);
        }
        return new ImportedModel(managed, kind, tokenizer, classes);
    }

    /// <summary>Parses ONNX bytes, turning protobuf errors into <see cref="InvalidDataException"/>.</summary>
    internal static ModelProto Parse(byte[] onnx, string source)
    {
        ModelProto model;
        try { model = ModelProto.Parser.ParseFrom(onnx); }
        catch (InvalidProtocolBufferException e) { throw new InvalidDataException($"{source} is not a valid ONNX file (truncated or corrupt): {e.Message.ReplaceLineEndings(" ")}", e); }
        if (model.Graph is null || model.Graph.Node.Count == 0) throw new InvalidDataException($"{source} is not an ONNX model (it has no graph).");
        // Exports of this library carry a checksum of everything but itself (and, for earlier readers, of the graph).
        var whole = model.MetadataProps.FirstOrDefault(p => p.Key == OnnxExporter.ModelChecksumKey)?.Value;
        var sha = model.MetadataProps.FirstOrDefault(p => p.Key == OnnxExporter.ChecksumKey)?.Value;
        if (whole is not null && !string.Equals(whole, OnnxExporter.ModelChecksum(model), StringComparison.OrdinalIgnoreCase))
            throw new InvalidDataException($"{source} is corrupt: its graph, weights or metadata do not match the checksum it was exported with.");
        if (sha is not null && !string.Equals(sha, Convert.ToHexString(System.Security.Cryptography.SHA256.HashData(model.Graph.ToByteArray())), StringComparison.OrdinalIgnoreCase))
            throw new InvalidDataException($"{source} is corrupt: its graph and weights do not match the checksum it was exported with.");
        return model;
    }

    /// <summary>
    /// Checks an ONNX file against the graph checksum MLNetTransformers writes into its exports (files without one,
    /// made elsewhere, pass unchecked).
    /// </summary>
    /// <param name="path">The ONNX file.</param>
    /// <exception cref="InvalidDataException">The file is not valid ONNX, or does not match its checksum.</exception>
    public static void Verify(string path)
    {
        if (!File.Exists(path)) throw new FileNotFoundException($"ONNX model file '{path}' does not exist.", path);
        Parse(File.ReadAllBytes(path), $"'{path}'");
    }

    internal static void ReadFloats(TensorProto t, Span<float> dst, string source)
    {
        if (t.DataType != (int)TensorProto.Types.DataType.Float) throw new InvalidDataException($"{source}: weight '{t.Name}' is not float32.");
        if (!t.RawData.IsEmpty)
        {
            if (t.RawData.Length != dst.Length * 4) throw new InvalidDataException($"{source}: weight '{t.Name}' holds {t.RawData.Length} bytes, expected {dst.Length * 4}.");
            MemoryMarshal.Cast<byte, float>(t.RawData.Span).CopyTo(dst);
            if (!BitConverter.IsLittleEndian)
                for (int i = 0; i < dst.Length; i++) dst[i] = System.Buffers.Binary.BinaryPrimitives.ReadSingleLittleEndian(t.RawData.Span.Slice(i * 4, 4));
        }
        else if (t.FloatData.Count == dst.Length) for (int i = 0; i < dst.Length; i++) dst[i] = t.FloatData[i];
        else throw new InvalidDataException($"{source}: weight '{t.Name}' holds {t.FloatData.Count} values, expected {dst.Length}.");
    }
}
