using System.Text.Json;

namespace MLNetTransformers.Core.Pretrained;

/// <summary>
/// How a sentence-transformers model folder says its embeddings are made: <c>modules.json</c> lists the Transformer, a
/// Pooling module (<c>1_Pooling/config.json</c>: mean or CLS, over the encoder's token states, never BERT's pooler) and
/// optionally Normalize; <c>sentence_bert_config.json</c> gives the length sequences are cut to. Modules this library
/// cannot reproduce (Dense layers, max or weighted pooling, several modes at once) are refused by name rather than
/// giving embeddings that differ from the model's.
/// </summary>
/// <param name="Pooling">The pooling the Pooling module names.</param>
/// <param name="Normalize">Whether a Normalize module follows it.</param>
/// <param name="MaxSeqLength">sentence_bert_config.json's max_seq_length, when given.</param>
/// <param name="TransformerFolder">Where the Transformer module keeps its config, weights and tokenizer: the folder itself,
/// or (older sentence-transformers folders) a subfolder such as <c>0_BERT</c>.</param>
internal sealed record SentenceTransformersModules(Models.Pooling Pooling, bool Normalize, int? MaxSeqLength, string TransformerFolder)
{
    /// <summary>The folder's modules, or null when it has no <c>modules.json</c> (a plain Hugging Face folder).</summary>
    /// <param name="folder">The model folder.</param>
    public static SentenceTransformersModules? Read(string folder)
    {
        string modulesPath = Path.Combine(folder, "modules.json");
        if (!File.Exists(modulesPath)) return null;
        Models.Pooling? pooling = null;
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
        return new SentenceTransformersModules(pooling.Value, normalize, maxLength, transformer);
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
