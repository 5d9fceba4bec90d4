using System.Text.Json;

namespace MLNetTransformers.Core.Pretrained;

/// <summary>
/// How a sentence-transformers model folder says its embeddings are made: <c>modules.json</c> lists the Transformer, a
/// Pooling module (<c>1_Pooling/config.json</c>: mean or CLS, over the encoder's token states, never BERT's pooler) and
/// optionally a Dense module after it (<c>2_Dense</c>: a linear layer with tanh or no activation, as
/// distiluse-base-multilingual-cased and LaBSE have) and Normalize; <c>sentence_bert_config.json</c> gives the length
/// sequences are cut to. Modules this library cannot reproduce (other activations, several Dense layers, max or weighted
/// pooling, several modes at once) are refused by name rather than giving embeddings that differ from the model's.
/// </summary>
/// <param name="Pooling">The pooling the Pooling module names.</param>
/// <param name="Normalize">Whether a Normalize module follows it.</param>
/// <param name="MaxSeqLength">sentence_bert_config.json's max_seq_length, when given.</param>
/// <param name="TransformerFolder">Where the Transformer module keeps its config, weights and tokenizer: the folder itself,
/// or (older sentence-transformers folders) a subfolder such as <c>0_BERT</c>.</param>
/// <param name="Dense">The Dense module after the pooling, or null.</param>
internal sealed record SentenceTransformersModules(Models.Pooling Pooling, bool Normalize, int? MaxSeqLength, string TransformerFolder, SentenceTransformersModules.DenseModule? Dense = null)
{
    /// <summary>A Dense module: its folder (config.json and the weights <c>linear.weight</c> [out, in], <c>linear.bias</c>), widths, bias and activation.</summary>
    internal sealed record DenseModule(string Folder, int In, int Out, bool Bias, Layers.PoolerActivation Activation);

    /// <summary>sentence-transformers' name of each activation a Dense module may have here.</summary>
    internal static readonly IReadOnlyDictionary<string, Layers.PoolerActivation> DenseActivations = new Dictionary<string, Layers.PoolerActivation>
    {
        ["torch.nn.modules.activation.Tanh"] = Layers.PoolerActivation.Tanh,
        ["torch.nn.modules.linear.Identity"] = Layers.PoolerActivation.Identity,
    };

    /// <summary>The folder's modules, or null when it has no <c>modules.json</c> (a plain Hugging Face folder).</summary>
    /// <param name="folder">The model folder.</param>
    public static SentenceTransformersModules? Read(string folder)
    {
        string modulesPath = Path.Combine(folder, "modules.json");
        if (!File.Exists(modulesPath)) return null;
        Models.Pooling? pooling = null;
        DenseModule? dense = null;
        bool normalize = false;
        string transformer = folder;
        using (var modules = Parse(modulesPath))
        {
            if (modules.RootElement.ValueKind != JsonValueKind.Array) throw Bad(modulesPath, "it is not a list of modules");
            foreach (var m in modules.RootElement.EnumerateArray())
            {
                string type = Text(m, "type", modulesPath), path = m.TryGetProperty("path", out var p) && p.ValueKind == JsonValueKind.String ? p.GetString()! : "";
                switch (type[(type.LastIndexOf('.') + 1)..])
                {
                    case "Transformer" or "BERT" or "RoBERTa" or "DistilBERT" or "XLMRoBERTa": // the last four: older folders' names
                        if (path.Contains("..", StringComparison.Ordinal) || Path.IsPathRooted(path)) throw Bad(modulesPath, $"the Transformer's path '{path}' leaves the folder");
                        transformer = Path.Combine(folder, path);
                        break;
                    case "Pooling": pooling = ReadPooling(Path.Combine(folder, path, "config.json")); break;
                    case "Dense":
                        if (path.Contains("..", StringComparison.Ordinal) || Path.IsPathRooted(path)) throw Bad(modulesPath, $"the Dense module's path '{path}' leaves the folder");
                        if (pooling is null || dense is not null || normalize)
                            throw new NotSupportedException($"'{modulesPath}' has a Dense module {(pooling is null ? "before its Pooling module" : dense is not null ? "after another" : "after its Normalize module")}; one Dense module between the Pooling and the Normalize module is read.");
                        dense = ReadDense(Path.Combine(folder, path));
                        break;
                    case "Normalize": normalize = true; break;
                    default: throw new NotSupportedException($"'{modulesPath}' has a {type} module, which is not reproduced here (its embeddings would differ).");
                }
            }
        }
        if (pooling is null) throw Bad(modulesPath, "it has no Pooling module");
        int? maxLength = null;
        string bertConfig = Path.Combine(transformer, "sentence_bert_config.json");
        if (!File.Exists(bertConfig)) bertConfig = Path.Combine(folder, "sentence_bert_config.json");
        if (File.Exists(bertConfig))
        {
            using var doc = Parse(bertConfig);
            if (doc.RootElement.ValueKind == JsonValueKind.Object && doc.RootElement.TryGetProperty("max_seq_length", out var len))
                maxLength = len.ValueKind == JsonValueKind.Number && len.TryGetInt32(out int n) && n > 0 ? n : throw Bad(bertConfig, $"max_seq_length is {len}, not a positive whole number");
        }
        return new SentenceTransformersModules(pooling.Value, normalize, maxLength, transformer, dense);
    }

    // 2_Dense/config.json: in_features, out_features, bias (default true) and an activation of DenseActivations.
    private static DenseModule ReadDense(string folder)
    {
        string path = Path.Combine(folder, "config.json");
        if (!File.Exists(path)) throw new FileNotFoundException($"Dense module config '{path}' does not exist.", path);
        using var doc = Parse(path);
        var root = doc.RootElement;
        if (root.ValueKind != JsonValueKind.Object) throw Bad(path, "it is not a JSON object");
        int Width(string name) => root.TryGetProperty(name, out var v) && v.ValueKind == JsonValueKind.Number && v.TryGetInt32(out int n) && n is > 0 and <= 1 << 16
            ? n : throw Bad(path, $"{name} is {(root.TryGetProperty(name, out var w) ? w.ToString() : "missing")}, not a width in [1, 65536]");
        bool bias = !root.TryGetProperty("bias", out var b) || b.ValueKind switch
        {
            JsonValueKind.True => true, JsonValueKind.False => false, _ => throw Bad(path, $"bias is {b}, not true or false"),
        };
        string activation = root.TryGetProperty("activation_function", out var a) && a.ValueKind == JsonValueKind.String ? a.GetString()! : "torch.nn.modules.activation.Tanh";
        if (!DenseActivations.TryGetValue(activation, out var act))
            throw new NotSupportedException($"Dense module config '{path}' has the activation {activation}; {string.Join(" and ", DenseActivations.Keys)} are read.");
        return new DenseModule(folder, Width("in_features"), Width("out_features"), bias, act);
    }

    // 1_Pooling/config.json: exactly one of the modes this library pools by.
    private static Models.Pooling ReadPooling(string path)
    {
        if (!File.Exists(path)) throw new FileNotFoundException($"Pooling config '{path}' does not exist.", path);
        using var doc = Parse(path);
        if (doc.RootElement.ValueKind != JsonValueKind.Object) throw Bad(path, "it is not a JSON object");
        var on = doc.RootElement.EnumerateObject().Where(p => p.Name.StartsWith("pooling_mode_", StringComparison.Ordinal) && p.Value.ValueKind == JsonValueKind.True)
            .Select(p => p.Name).ToList();
        return on switch
        {
            ["pooling_mode_mean_tokens"] => Models.Pooling.Mean,
            ["pooling_mode_cls_token"] => Models.Pooling.Cls,
            [] => throw Bad(path, "it sets no pooling_mode_… to true"),
            _ => throw new NotSupportedException($"Pooling config '{path}' sets {string.Join(" and ", on)}; mean or CLS pooling alone is read."),
        };
    }

    private static JsonDocument Parse(string path)
    {
        try { return JsonDocument.Parse(File.ReadAllBytes(path)); }
        catch (JsonException e) { throw Bad(path, $"it is not valid JSON ({e.Message})"); }
    }

    private static string Text(JsonElement e, string name, string path) =>
        e.ValueKind == JsonValueKind.Object && e.TryGetProperty(name, out var v) && v.ValueKind == JsonValueKind.String ? v.GetString()! : throw Bad(path, $"a module has no {name}");

    private static InvalidDataException Bad(string path, string problem) => new($"'{path}' is invalid: {problem}.");
}
