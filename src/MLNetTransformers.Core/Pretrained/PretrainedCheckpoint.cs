using System.Text.Json;
using System.Text.Json.Nodes;

namespace MLNetTransformers.Core.Pretrained;

/// <summary>
/// Builds a <see cref="TransformerEncoder"/> whose weights come from a checkpoint made elsewhere: a Hugging Face
/// model folder (<c>config.json</c> + <c>model.safetensors</c> or <c>pytorch_model.bin</c>) or any <see cref="ITensorSource"/> with a config. The
/// weights become ordinary engine parameters: they train, save, export and quantize like any other model's. Every
/// parameter must be found with its shape; a tensor of the encoder's own that maps to none is an error; task heads
/// (<c>cls.*</c>, <c>classifier.*</c>, …) are left out and listed in <see cref="LoadedEncoder.Unused"/>.
/// </summary>
public static class PretrainedCheckpoint
{
    /// <summary>Reads a Hugging Face model folder's <c>config.json</c> and weights (<c>model.safetensors</c> or <c>pytorch_model.bin</c>).</summary>
    /// <remarks>
    /// A sentence-transformers folder (<c>modules.json</c>) is pooled as its modules say: mean or CLS pooling over the
    /// token states (BERT's pooler, if the weights carry one, is left out), through its Dense module when it has one
    /// (<see cref="TransformerConfig.SentenceDense"/>) and to unit length when it has a Normalize module; modules that
    /// cannot be reproduced (max pooling, a Dense module of another activation) are refused by name.
    /// </remarks>
    /// <param name="folder">The folder.</param>
    /// <param name="pooling">How sentence vectors are pooled (see <see cref="Load"/>); null = the checkpoint's way.</param>
    /// <param name="normalize">Sentence embeddings of unit length (also when the folder's modules say so).</param>
    public static LoadedEncoder LoadFolder(string folder, Pooling? pooling = null, bool normalize = false)
    {
        if (!Directory.Exists(folder)) throw new DirectoryNotFoundException($"Model folder '{folder}' does not exist.");
        var modules = SentenceTransformersModules.Read(folder);
        folder = modules?.TransformerFolder ?? folder; // older sentence-transformers folders keep the model in 0_BERT/ or the like
        var (family, config) = ReadConfig(Path.Combine(folder, "config.json"));
        pooling ??= modules?.Pooling ?? EmbeddingPooling(Path.Combine(folder, "config.json"));
        return WithWeights(folder, tensors => LoadEncoder(family, config, tensors, pooling, normalize || modules?.Normalize == true,
            usePooler: modules is null, modules?.Dense)) with { Modules = modules };
    }

    // JinaBERT's config.json names how its own encode pools sentence vectors (emb_pooler "mean"), as a sentence-transformers
    // folder's modules.json would; null when it does not say.
    private static Pooling? EmbeddingPooling(string configPath)
    {
        using var doc = JsonDocument.Parse(File.ReadAllBytes(configPath));
        return doc.RootElement.TryGetProperty("emb_pooler", out var p) && p.ValueKind == JsonValueKind.String && p.GetString() == "mean" ? Pooling.Mean : null;
    }

    /// <summary>
    /// A classifier ready to use, from a Hugging Face folder of a <c>*ForSequenceClassification</c> checkpoint (BERT's,
    /// RoBERTa's, DistilBERT's, ELECTRA's, MPNet's, ALBERT's, DeBERTa-v2's, ModernBERT's, NomicBERT's, JinaBERT's or GTE's, e.g. a model already fine-tuned for sentiment): the encoder, the head's dense layer on
    /// the first token (tanh; DistilBERT's ReLU, ELECTRA's GELU) and its output layer, and the labels of config.json's <c>id2label</c> in id order (one label: a regressor).
    /// </summary>
    /// <param name="folder">The model folder (config.json, model.safetensors or pytorch_model.bin).</param>
    public static LoadedClassifier LoadSequenceClassifierFolder(string folder)
    {
        if (!Directory.Exists(folder)) throw new DirectoryNotFoundException($"Model folder '{folder}' does not exist.");
        return LoadSequenceClassifier(Path.Combine(folder, "config.json"), read => WithWeights(folder, read));
    }

    // A sequence classifier of the config.json at configPath, its tensors from whatever withTensors opens (a folder's
    // weights, an ONNX export's initializers) while the read runs.
    internal static LoadedClassifier LoadSequenceClassifier(string configPath, Func<Func<ITensorSource, LoadedClassifier>, LoadedClassifier> withTensors)
    {
        var (family, config) = ReadConfig(configPath);
        var headSpec = family.SequenceClassifier
            ?? throw new NotSupportedException($"Model config '{configPath}': {family.Name}'s sequence-classification head is not read; its encoder is (fine-tune it with a new head).");
        var (_, dense, output, activation) = headSpec;
        var labels = ReadLabels(configPath);
        return withTensors(tensors =>
        {
            int d = config.ModelDim;
            var head = new List<(string, string, int[])> { (dense + "weight", "pooler.dense.weight", new[] { d, d }), (output + "weight", "head.weight", [labels.Count, d]), (output + "bias", "head.bias", [labels.Count]) };
            if (config.PoolerBias) head.Add((dense + "bias", "pooler.dense.bias", [d]));
            if (headSpec.Norm is { } norm)
            {
                head.Add((norm + "weight", "pooler.norm.weight", [d]));
                if (config.NormBiases) head.Add((norm + "bias", "pooler.norm.bias", [d]));
            }
            RequireHead(tensors, head.Select(h => (h.Item1, h.Item3)), $"a {family.Name} sequence classifier", labels.Count, d);
            // The classifier is filled in place: its encoder's tensors by the family's names, the head's by the task model's.
            var classifierConfig = new ClassifierConfig(config with
            {
                Pooler = true, Pooling = headSpec.PoolsFirstToken ? Pooling.Cls : config.Pooling, PoolerActivation = activation, PoolerNorm = headSpec.Norm is not null,
            }) { NumClasses = labels.Count };
            classifierConfig.Validate();
            string src = $"'{tensors.Source}'";
            EnsureRoom(tensors, classifierConfig, ModelKind.Classifier, src, "a classifier");
            var model = new TransformerClassifier(classifierConfig);
            var headNames = head.ToDictionary(h => h.Item2, h => h.Item1);
            var names = new Resolver(family, tensors);
            var used = Fill(model.Parameters, p => headNames.TryGetValue(p, out var source) ? [source] : family.SourceNames(p), family, names, tensors, src, classifierConfig);
            Unused(tensors, used, names, family, poolerRead: false, src, classifierConfig);
            return new LoadedClassifier(model, family, labels);
        });
    }

    /// <summary>
    /// A token classifier ready to use, from a Hugging Face folder of a <c>*ForTokenClassification</c> checkpoint (e.g. a
    /// named-entity tagger such as BERT's, RoBERTa's, DistilBERT's, ELECTRA's or DeBERTa's): the encoder, its output layer
    /// <c>classifier</c> at every position, and the tags of config.json's <c>id2label</c> in id order.
    /// </summary>
    /// <param name="folder">The model folder (config.json, model.safetensors or pytorch_model.bin).</param>
    public static LoadedTokenClassifier LoadTokenClassifierFolder(string folder) => LoadTokenClassifier(ConfigOf(folder), read => WithWeights(folder, read));

    // A token classifier of the config.json at configPath, its tensors from whatever withTensors opens while the read runs.
    internal static LoadedTokenClassifier LoadTokenClassifier(string configPath, Func<Func<ITensorSource, LoadedTokenClassifier>, LoadedTokenClassifier> withTensors) =>
        LoadPositionHead(configPath, TokenClassification, c => new TransformerTokenClassifier(c), (model, family, labels) => new LoadedTokenClassifier(model, family, labels), withTensors);

    /// <summary>
    /// A question answerer ready to use, from a Hugging Face folder of a <c>*ForQuestionAnswering</c> checkpoint (an
    /// extractive reader fine-tuned on SQuAD, say, from BERT, RoBERTa, DistilBERT, ALBERT, ELECTRA, MPNet or DeBERTa): the
    /// encoder and its output layer <c>qa_outputs</c> [2, d], a start and an end logit at every position (ModernBERT's:
    /// its head at every position, then <c>classifier</c>).
    /// </summary>
    /// <param name="folder">The model folder (config.json, model.safetensors or pytorch_model.bin).</param>
    public static LoadedQuestionAnswerer LoadQuestionAnsweringFolder(string folder) => LoadQuestionAnswerer(ConfigOf(folder), read => WithWeights(folder, read));

    // A question answerer of the config.json at configPath, its tensors from whatever withTensors opens while the read runs.
    internal static LoadedQuestionAnswerer LoadQuestionAnswerer(string configPath, Func<Func<ITensorSource, LoadedQuestionAnswerer>, LoadedQuestionAnswerer> withTensors) =>
        LoadPositionHead(configPath, QuestionAnswering, c => new TransformerQuestionAnswerer(c), (model, family, _) => new LoadedQuestionAnswerer(model, family), withTensors);

    // A model folder's config.json, once the folder is there.
    private static string ConfigOf(string folder) => Directory.Exists(folder)
        ? Path.Combine(folder, "config.json") : throw new DirectoryNotFoundException($"Model folder '{folder}' does not exist.");

    // A task whose output layer runs at every position of the encoder's states: its class suffix, its output layer's name
    // (and in a family whose own head runs first, as ModernBERT's, that layer's name there), whether config.json's labels
    // size it (else it has a fixed width), and its model kind.
    private sealed record PositionHeadTask(string Suffix, string Output, string OwnHeadOutput, int? Width, ModelKind Kind, string What);

    private static readonly PositionHeadTask TokenClassification = new("ForTokenClassification", "classifier.", "classifier.", null, ModelKind.TokenClassifier, "token classifier");
    private static readonly PositionHeadTask QuestionAnswering = new("ForQuestionAnswering", "qa_outputs.", "classifier.", 2, ModelKind.QuestionAnswerer, "question answerer");

    private static TResult LoadPositionHead<T, TResult>(string configPath, PositionHeadTask task, Func<ClassifierConfig, T> create,
        Func<T, EncoderFamily, List<string>, TResult> result, Func<Func<ITensorSource, TResult>, TResult> withTensors)
        where T : PositionHeadModel
    {
        var (family, config) = ReadConfig(configPath);
        // ModernBERT's token classifier and reader run its head (dense, activation, norm) at every position before the output layer.
        var head = family.SequenceClassifier is { Norm: not null } own ? own : null;
        string output = head is null ? task.Output : task.OwnHeadOutput;
        // A folder of another task (a sequence classifier's head reads the same 'classifier' tensor name) is refused by its class.
        if (Architectures(configPath).FirstOrDefault(a => !a.EndsWith(task.Suffix, StringComparison.Ordinal)) is { } other)
            throw new InvalidDataException($"Model config '{configPath}' names {other}: it is not a {task.What} (a *{task.Suffix} model).");
        var labels = task.Width is null ? ReadLabels(configPath) : [];
        if (task.Width is null && labels.Count < 2) throw new InvalidDataException($"Model config '{configPath}' has {labels.Count} label: a token classifier needs at least 2 tags.");
        int outputs = task.Width ?? labels.Count;
        return withTensors(tensors =>
        {
            int d = config.ModelDim;
            var names = new Resolver(family, tensors);
            var expected = new List<(string, int[])> { (output + "weight", [outputs, d]), (output + "bias", [outputs]) };
            if (head is not null) expected.Add((head.Dense + "weight", [d, d]));
            RequireHead(tensors, expected, $"a {family.Name} {task.What}", outputs, d);
            var classifierConfig = new ClassifierConfig(config with
            {
                Pooler = head is not null, PoolerActivation = head?.Activation ?? config.PoolerActivation, PoolerNorm = head is not null,
                ClassifierDropout = family.PositionHeadDropout(config, task.Kind),
            }) { NumClasses = outputs };
            classifierConfig.Validate();
            string src = $"'{tensors.Source}'";
            EnsureRoom(tensors, classifierConfig, task.Kind, src, $"a {task.What}");
            var model = create(classifierConfig);
            string[]? Source(string p) =>
                p.StartsWith("head.", StringComparison.Ordinal) ? [output + p["head.".Length..]]
                : head is not null && p.StartsWith("pooler.dense.", StringComparison.Ordinal) ? [head.Dense + p["pooler.dense.".Length..]]
                : head is not null && p.StartsWith("pooler.norm.", StringComparison.Ordinal) ? [head.Norm + p["pooler.norm.".Length..]]
                : family.SourceNames(p);
            var used = Fill(model.Parameters, Source, family, names, tensors, src, classifierConfig);
            Unused(tensors, used, names, family, poolerRead: false, src, classifierConfig);
            return result(model, family, labels);
        });
    }

    /// <summary>
    /// Writes a token classifier as a Hugging Face <c>*ForTokenClassification</c> folder (config.json with its tags as
    /// <c>id2label</c>, model.safetensors) that <see cref="LoadTokenClassifierFolder"/> and transformers read back.
    /// </summary>
    /// <param name="model">The token classifier.</param>
    /// <param name="labels">Its tags, in id order.</param>
    /// <param name="folder">The folder to write (created if needed; files of the same names are replaced).</param>
    /// <returns>The family it was written as.</returns>
    public static EncoderFamily SaveTokenClassifierFolder(TransformerTokenClassifier model, IReadOnlyList<string> labels, string folder)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(labels);
        if (labels.Count != model.Outputs) throw new ArgumentException($"The model has {model.Outputs} tags and {labels.Count} labels were given.", nameof(labels));
        return SavePositionHeadFolder(model, TokenClassification, labels, folder);
    }

    /// <summary>
    /// Writes a question answerer as a Hugging Face <c>*ForQuestionAnswering</c> folder (config.json, model.safetensors with
    /// the output layer as <c>qa_outputs</c>) that <see cref="LoadQuestionAnsweringFolder"/> and transformers read back.
    /// </summary>
    /// <param name="model">The question answerer.</param>
    /// <param name="folder">The folder to write (created if needed; files of the same names are replaced).</param>
    /// <returns>The family it was written as.</returns>
    public static EncoderFamily SaveQuestionAnsweringFolder(TransformerQuestionAnswerer model, string folder)
    {
        ArgumentNullException.ThrowIfNull(model);
        return SavePositionHeadFolder(model, QuestionAnswering, ["LABEL_0", "LABEL_1"], folder);
    }

    private static EncoderFamily SavePositionHeadFolder(PositionHeadModel model, PositionHeadTask task, IReadOnlyList<string> labels, string folder)
    {
        var family = EncoderFamily.For(model.Config);
        var head = family.SequenceClassifier!;
        // The family's token head: the output layer alone, or (ModernBERT's) its dense layer, activation and norm before it.
        bool ownHead = head.Norm is not null;
        var c = model.Config;
        if (c.Pooler != ownHead || (ownHead && (c.PoolerActivation != head.Activation || !c.PoolerNorm)))
            throw new NotSupportedException($"This {task.What} cannot be written as a {family.Name} {task.What}: {(ownHead ? $"{family.Name}'s head runs a dense layer with {head.Activation} and a norm at every position" : "that family's head is the output layer alone")}, and this model's {(c.Pooler ? "runs one" : "does not")}.");
        var config = family.WriteConfig(model.Encoder.Config);
        config["architectures"] = new JsonArray(head.Architecture.Replace("ForSequenceClassification", task.Suffix, StringComparison.Ordinal));
        WriteTaskFolder(folder, config, labels, Tensors(model.Encoder.Copy().Parameters, family, family.Prefix, ownHead ? head : null, model.Encoder.Config), model.Parameters,
            ownHead ? task.OwnHeadOutput : task.Output);
        return family;
    }

    // A task model's folder: config.json with its labels, and model.safetensors with the encoder's tensors and the output
    // layer ("head." in the engine) under the task's name.
    private static void WriteTaskFolder(string folder, JsonObject config, IReadOnlyList<string> labels, List<(string, int[], ReadOnlyMemory<float>)> tensors,
        Layers.ParameterSet parameters, string output)
    {
        WriteLabels(config, labels);
        foreach (var part in new[] { "weight", "bias" })
        {
            var p = parameters["head." + part];
            tensors.Add((output + part, p.Shape.ToArray(), parameters.Data.AsMemory(p.Offset, p.Length)));
        }
        Directory.CreateDirectory(folder);
        WriteText(Path.Combine(folder, "config.json"), config.ToJsonString(new JsonSerializerOptions { WriteIndented = true }));
        SafeTensorsFile.Write(Path.Combine(folder, "model.safetensors"), tensors);
    }

    /// <summary>Whether a model folder's config.json names a <c>*ForTokenClassification</c> model (a tagger, read by <see cref="LoadTokenClassifierFolder"/>).</summary>
    /// <param name="folder">A model folder.</param>
    public static bool IsTokenClassifierFolder(string folder) => Names(folder, TokenClassification.Suffix);

    /// <summary>Whether a model folder's config.json names a <c>*ForSequenceClassification</c> model (read by <see cref="LoadSequenceClassifierFolder"/>).</summary>
    /// <param name="folder">A model folder.</param>
    public static bool IsSequenceClassifierFolder(string folder) => Names(folder, "ForSequenceClassification");

    /// <summary>Whether a model folder's config.json names a <c>*ForQuestionAnswering</c> model (read by <see cref="LoadQuestionAnsweringFolder"/>).</summary>
    /// <param name="folder">A model folder.</param>
    public static bool IsQuestionAnsweringFolder(string folder) => Names(folder, QuestionAnswering.Suffix);

    private static bool Names(string folder, string suffix)
    {
        string config = Path.Combine(folder, "config.json");
        try { return File.Exists(config) && Architectures(config) is [_, ..] names && names.All(a => a.EndsWith(suffix, StringComparison.Ordinal)); }
        catch (JsonException) { return false; } // a damaged config.json is reported by the reader that loads the folder
    }

    // config.json's architectures (the task model's class), or none.
    private static List<string> Architectures(string path)
    {
        using var doc = JsonDocument.Parse(File.ReadAllBytes(path));
        return doc.RootElement.ValueKind == JsonValueKind.Object && doc.RootElement.TryGetProperty("architectures", out var a) && a.ValueKind == JsonValueKind.Array
            ? a.EnumerateArray().Where(e => e.ValueKind == JsonValueKind.String).Select(e => e.GetString()!).ToList() : [];
    }

    // config.json's id2label (ids as text, in order) and label2id (a repeated label maps to its first id).
    private static void WriteLabels(JsonObject config, IReadOnlyList<string> labels)
    {
        config["id2label"] = new JsonObject(labels.Select((l, i) => KeyValuePair.Create(i.ToString(System.Globalization.CultureInfo.InvariantCulture), (JsonNode?)l)));
        config["label2id"] = new JsonObject(labels.Distinct().Select(l => KeyValuePair.Create(l, (JsonNode?)labels.ToList().IndexOf(l))));
    }

    // A task head's tensors, present with their shapes, checked before anything is allocated: id2label cannot make a head
    // larger than the file holds.
    private static void RequireHead(ITensorSource tensors, IEnumerable<(string Source, int[] Shape)> head, string what, int labels, int d)
    {
        foreach (var (source, shape) in head)
        {
            if (!tensors.Shapes.TryGetValue(source, out var found))
                throw new InvalidDataException($"'{tensors.Source}' lacks the tensor '{source}' of {what} (shape [{string.Join(", ", shape)}]).");
            if (!found.SequenceEqual(shape))
                throw new InvalidDataException($"'{tensors.Source}': tensor '{source}' is [{string.Join(", ", found)}]; {labels} labels of width {d} need [{string.Join(", ", shape)}].");
        }
    }

    // config.json's id2label in id order ("0", "1", … all present), or LABEL_i for num_labels when it has none.
    private static List<string> ReadLabels(string path)
    {
        using var doc = JsonDocument.Parse(File.ReadAllBytes(path));
        var root = doc.RootElement;
        if (root.TryGetProperty("id2label", out var map) && map.ValueKind == JsonValueKind.Object)
        {
            var byId = new SortedDictionary<int, string>();
            foreach (var p in map.EnumerateObject())
            {
                if (!int.TryParse(p.Name, System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out int id) || p.Value.ValueKind != JsonValueKind.String)
                    throw new InvalidDataException($"Model config '{path}': id2label maps '{p.Name}' to {p.Value}; ids are whole numbers and labels texts.");
                byId[id] = p.Value.GetString()!;
            }
            if (byId.Count == 0 || byId.Keys.Last() != byId.Count - 1) throw new InvalidDataException($"Model config '{path}': id2label does not number its {byId.Count} labels 0 to {byId.Count - 1}.");
            return byId.Values.ToList();
        }
        if (root.TryGetProperty("num_labels", out var n) && n.ValueKind == JsonValueKind.Number && n.TryGetInt32(out int count) && count is > 0 and <= 100_000)
            return Enumerable.Range(0, count).Select(i => $"LABEL_{i}").ToList();
        throw new InvalidDataException($"Model config '{path}' has no id2label: it does not describe a sequence classifier.");
    }

    /// <summary>
    /// Writes <paramref name="encoder"/> as a Hugging Face model folder that <see cref="LoadFolder"/> (and Hugging Face's
    /// <c>AutoModel</c>) reads back to the same encoder: <c>config.json</c> of its family (<see cref="EncoderFamily.For"/>)
    /// and <c>model.safetensors</c> (F32, the family's tensor names, without a task prefix). An encoder without BERT's
    /// pooler is an embedding model: the folder also gets sentence-transformers' <c>modules.json</c>, <c>1_Pooling</c>
    /// (its pooling) and, when it normalizes, <c>2_Normalize</c>. Each file is written whole or not at all. The
    /// tokenizer's files are the caller's (<c>PretrainedEncoder.SaveHuggingFaceFolder</c> writes them).
    /// </summary>
    /// <param name="encoder">The encoder (e.g. a fine-tuned classifier's <c>Encoder</c>).</param>
    /// <param name="folder">The folder to write (created if needed; files of the same names are replaced).</param>
    /// <returns>The family it was written as.</returns>
    public static EncoderFamily SaveFolder(TransformerEncoder encoder, string folder)
    {
        ArgumentNullException.ThrowIfNull(encoder);
        var c = encoder.Config;
        var family = EncoderFamily.For(c);
        var config = family.WriteConfig(c); // refuses, before anything is written, a shape the family cannot say
        if (c.Pooler && c.SentenceDense > 0)
            throw new NotSupportedException("This encoder has both BERT's pooler and a sentence-transformers Dense module; a folder holds one or the other.");
        if (c.Pooler && c.PoolerActivation != PoolerActivation.Tanh)
            throw new NotSupportedException($"This encoder's pooler ({c.PoolerActivation}) is a classifier's head (DistilBERT's pre_classifier, ELECTRA's classifier.dense); Hugging Face's encoders have no such part.");
        var tensors = Tensors(encoder.Copy().Parameters, family, prefix: "", head: null, encoder.Config); // Copy: the encoder's parameters alone
        Directory.CreateDirectory(folder);
        WriteText(Path.Combine(folder, "config.json"), config.ToJsonString(new JsonSerializerOptions { WriteIndented = true }));
        SafeTensorsFile.Write(Path.Combine(folder, "model.safetensors"), tensors);
        if (!c.Pooler)
        {
            static JsonObject Module(int i, string path, string type) => new() { ["idx"] = i, ["name"] = $"{i}", ["path"] = path, ["type"] = "sentence_transformers.models." + type };
            var modules = new JsonArray(Module(0, "", "Transformer"), Module(1, "1_Pooling", "Pooling"));
            string? dense = c.SentenceDense > 0 ? "2_Dense" : null, normalize = c.NormalizeEmbeddings ? $"{modules.Count + (dense is null ? 0 : 1)}_Normalize" : null;
            if (dense is not null) modules.Add(Module(modules.Count, dense, "Dense"));
            if (normalize is not null) modules.Add(Module(modules.Count, normalize, "Normalize"));
            WriteText(Path.Combine(folder, "modules.json"), modules.ToJsonString());
            if (dense is not null)
            {
                Directory.CreateDirectory(Path.Combine(folder, dense));
                WriteText(Path.Combine(folder, dense, "config.json"), new JsonObject
                {
                    ["in_features"] = c.ModelDim, ["out_features"] = c.SentenceDense, ["bias"] = c.SentenceDenseBias,
                    ["activation_function"] = SentenceTransformersModules.DenseActivations.First(a => a.Value == c.SentenceDenseActivation).Key,
                }.ToJsonString());
                var layer = encoder.SentenceDense!.Dense;
                var denseTensors = new List<(string, int[], ReadOnlyMemory<float>)> { ("linear.weight", [c.SentenceDense, c.ModelDim], layer.Weight.Value.ToArray()) };
                if (c.SentenceDenseBias) denseTensors.Add(("linear.bias", [c.SentenceDense], layer.Bias!.Value.ToArray()));
                SafeTensorsFile.Write(Path.Combine(folder, dense, "model.safetensors"), denseTensors);
            }
            Directory.CreateDirectory(Path.Combine(folder, "1_Pooling"));
            WriteText(Path.Combine(folder, "1_Pooling", "config.json"), new JsonObject
            {
                ["word_embedding_dimension"] = c.ModelDim, ["pooling_mode_cls_token"] = c.Pooling == Pooling.Cls, ["pooling_mode_mean_tokens"] = c.Pooling == Pooling.Mean,
                ["pooling_mode_max_tokens"] = false, ["pooling_mode_mean_sqrt_len_tokens"] = false,
            }.ToJsonString());
            if (normalize is not null) Directory.CreateDirectory(Path.Combine(folder, normalize));
        }
        return family;
    }

    /// <summary>
    /// Writes <paramref name="model"/> as the family's <c>*ForSequenceClassification</c> folder (the inverse of
    /// <see cref="LoadSequenceClassifierFolder"/>): config.json with <c>id2label</c>, and the encoder under the family's
    /// prefix, its dense layer on the first token and output layer under the head's names. The classifier must have that
    /// shape: one member, no n-gram branch, the first token through the pooler with the family's activation.
    /// </summary>
    /// <param name="model">The classifier.</param>
    /// <param name="labels">Its class names in class order (config.json's id2label).</param>
    /// <param name="folder">The folder to write (created if needed; files of the same names are replaced).</param>
    /// <returns>The family it was written as.</returns>
    public static EncoderFamily SaveSequenceClassifierFolder(TransformerClassifier model, IReadOnlyList<string> labels, string folder)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(labels);
        var c = model.Config;
        var family = EncoderFamily.For(c);
        var head = family.SequenceClassifier!;
        string? problem = c.Members != 1 ? $"it is an ensemble of {c.Members}" : c.NGramBuckets > 0 ? "it has an n-gram branch"
            : !c.Pooler || (head.PoolsFirstToken && c.Pooling != Pooling.Cls) ? $"it pools by {c.Pooling}{(c.Pooler ? "" : " without a pooler")}, and {family.Name}'s head reads the first token through a dense layer"
            : c.PoolerActivation != head.Activation ? $"its pooler's activation is {c.PoolerActivation}, {family.Name}'s head has {head.Activation}"
            : c.PoolerNorm != head.Norm is not null ? $"its pooler {(c.PoolerNorm ? "has" : "lacks")} a norm, and {family.Name}'s head {(c.PoolerNorm ? "has none" : "has one")}"
            : labels.Count != c.NumClasses ? $"it has {c.NumClasses} classes and {labels.Count} labels were given" : null;
        if (problem is not null) throw new NotSupportedException($"This classifier cannot be written as a {family.Name} sequence classifier: {problem}.");
        var config = family.WriteConfig(c);
        config["architectures"] = new JsonArray(head.Architecture);
        WriteTaskFolder(folder, config, labels, Tensors(model.Encoder.Copy().Parameters, family, family.Prefix, head, model.Encoder.Config), model.Parameters, head.Output);
        return family;
    }

    // An encoder's parameters (a copy: a family's own layout is made in place) as the family's checkpoint tensors (without a
    // prefix for a bare encoder, with it inside a task model); the pooler under the head's names when given (a classifier's
    // head), else as the family names it.
    private static List<(string, int[], ReadOnlyMemory<float>)> Tensors(Layers.ParameterSet parameters, EncoderFamily family, string prefix, SequenceClassifierHead? head, TransformerConfig config)
    {
        var tensors = new List<(string, int[], ReadOnlyMemory<float>)>();
        foreach (var p in parameters.Tensors)
        {
            var values = parameters.Data.AsMemory(p.Offset, p.Length);
            if (p.Name.StartsWith(TransformerEncoder.SentenceDensePrefix, StringComparison.Ordinal)) continue; // written as its own module
            if (head is not null && p.Name.StartsWith("pooler.", StringComparison.Ordinal))
            {
                string? name = p.Name.StartsWith("pooler.dense.", StringComparison.Ordinal) ? head.Dense + p.Name["pooler.dense.".Length..]
                    : p.Name.StartsWith("pooler.norm.", StringComparison.Ordinal) && head.Norm is not null ? head.Norm + p.Name["pooler.norm.".Length..] : null;
                tensors.Add((name ?? throw new NotSupportedException($"A {family.Name} sequence classifier has no tensor for the pooler's parameter '{p.Name}'."), p.Shape.ToArray(), values));
                continue;
            }
            var names = family.SourceNames(p.Name) ?? throw new NotSupportedException($"A {family.Name} checkpoint has no tensor for the encoder's parameter '{p.Name}'.");
            // Stacked parameters (q;k;v) are written as the family's separate tensors, an equal share of the rows each; a share
            // the family has no tensor for ("": DeBERTa v1's key bias) is 0 and left out.
            family.Repack?.Invoke(p.Name, p.Value, config, false);
            var shape = p.Shape.ToArray();
            shape[0] /= names.Length;
            int size = p.Length / names.Length;
            for (int i = 0; i < names.Length; i++)
            {
                if (names[i].Length == 0)
                {
                    if (TensorPrimitives.MaxMagnitude(values.Span.Slice(i * size, size)) != 0f)
                        throw new NotSupportedException($"A {family.Name} checkpoint has no tensor for part {i + 1} of '{p.Name}', and this encoder's is not 0.");
                    continue;
                }
                tensors.Add((prefix + names[i], shape, values.Slice(i * size, size)));
            }
        }
        foreach (var (name, shape, values) in family.DerivedTensors?.Invoke(config) ?? [])
            tensors.Add((prefix + name, shape, values)); // tables the family's checkpoints store though they hold no weights
        return tensors;
    }

    // A small text file of a model folder, whole or not at all.
    private static void WriteText(string path, string text) => Training.Checkpoint.WriteAtomically(path, System.Text.Encoding.UTF8.GetBytes(text));

    // A Hugging Face folder's weights, open while load runs: model.safetensors, or else PyTorch's pytorch_model.bin (read
    // without running its pickle), or else either split into shards by an index.
    private static T WithWeights<T>(string folder, Func<ITensorSource, T> load)
    {
        string safetensors = Path.Combine(folder, "model.safetensors"), pickle = Path.Combine(folder, "pytorch_model.bin");
        if (File.Exists(safetensors)) { using var f = SafeTensorsFile.Open(safetensors); return load(f); }
        if (File.Exists(pickle)) { using var f = PyTorchCheckpointFile.Open(pickle); return load(f); }
        if (File.Exists(safetensors + ".index.json")) { using var f = ShardedCheckpoint.Open(safetensors + ".index.json", SafeTensorsFile.Open); return load(f); }
        if (File.Exists(pickle + ".index.json")) { using var f = ShardedCheckpoint.Open(pickle + ".index.json", PyTorchCheckpointFile.Open); return load(f); }
        string export = OnnxExportIn(folder) is not null
            ? " It holds an ONNX export, which OnnxEncoderCheckpoint.LoadFolder (MLNetTransformers.Onnx) and the CLI's --pretrained read." : "";
        throw new FileNotFoundException($"Model folder '{folder}' has no model.safetensors, pytorch_model.bin or index of their shards.{export}", safetensors);
    }

    /// <summary>Whether a model folder holds weights <see cref="LoadFolder"/> reads (whole or sharded), or a sentence-transformers <c>modules.json</c> that says where they are.</summary>
    /// <param name="folder">A model folder.</param>
    public static bool HasWeights(string folder) => WeightFiles.Any(f => File.Exists(Path.Combine(folder, f)));

    private static readonly string[] WeightFiles = ["model.safetensors", "pytorch_model.bin", "model.safetensors.index.json", "pytorch_model.bin.index.json", "modules.json"];

    /// <summary>
    /// The ONNX export a model folder holds (transformers.js repositories keep only <c>onnx/model.onnx</c>): that file, or
    /// <c>model.onnx</c> in the folder itself; else an optimized one (<c>model_optimized.onnx</c>, as optimum names it), else a
    /// half-precision export (<c>model_fp16.onnx</c>), else a quantized one
    /// (<c>model_quantized.onnx</c>, <c>model_int8.onnx</c>, <c>model_uint8.onnx</c>), else a 4-bit one (<c>model_q4.onnx</c>,
    /// <c>model_q4f16.onnx</c>, <c>model_bnb4.onnx</c>), in <c>onnx/</c> or the folder, whose weights are read widened or dequantized; null when it has none.
    /// </summary>
    /// <param name="folder">A model folder.</param>
    public static string? OnnxExportIn(string folder) =>
        OnnxExportNames.SelectMany(f => new[] { Path.Combine(folder, "onnx", f), Path.Combine(folder, f) }).FirstOrDefault(File.Exists);

    private static readonly string[] OnnxExportNames = ["model.onnx", "model_optimized.onnx", "model_fp16.onnx", "model_quantized.onnx", "model_int8.onnx", "model_uint8.onnx", "model_q4.onnx", "model_q4f16.onnx", "model_bnb4.onnx"];

    /// <summary>The family and engine config of a Hugging Face <c>config.json</c>.</summary>
    /// <param name="path">The config.json file.</param>
    public static (EncoderFamily Family, TransformerConfig Config) ReadConfig(string path)
    {
        if (!File.Exists(path)) throw new FileNotFoundException($"Model config '{path}' does not exist.", path);
        var bytes = File.ReadAllBytes(path);
        if (!System.Text.Unicode.Utf8.IsValid(bytes)) throw new InvalidDataException($"Model config '{path}' is not valid UTF-8.");
        JsonDocument doc;
        try { doc = JsonDocument.Parse(bytes); }
        catch (JsonException e) { throw new InvalidDataException($"Model config '{path}' is not valid JSON: {e.Message}", e); }
        using (doc)
        {
            var root = doc.RootElement;
            if (root.ValueKind != JsonValueKind.Object) throw new InvalidDataException($"Model config '{path}' is not a JSON object.");
            string src = $"Model config '{path}'";
            if (!root.TryGetProperty("model_type", out var mt) || mt.ValueKind != JsonValueKind.String) throw new InvalidDataException($"{src} has no model_type.");
            var family = EncoderFamily.ForConfig(root, src);
            var config = family.WithHeadDropouts(family.ReadConfig(root, src), root, src);
            try { config.Validate(); }
            catch (ArgumentException e) { throw new InvalidDataException($"{src} describes an invalid model: {e.Message}", e); }
            return (family, config);
        }
    }

    /// <summary>
    /// An encoder of <paramref name="config"/> filled from <paramref name="tensors"/> by <paramref name="family"/>'s
    /// names. Whether it has a pooler is read from the tensors (BERT-family task checkpoints carry one, sentence
    /// encoders exported for embeddings often do not); with a pooler it pools the first token, as BERT's classifiers do.
    /// </summary>
    /// <param name="family">Whose tensor names to read.</param>
    /// <param name="config">The encoder's shape (from the family's config.json, or read off an ONNX graph).</param>
    /// <param name="tensors">The checkpoint's tensors.</param>
    /// <param name="pooling">
    /// How sentence vectors are pooled: null = the checkpoint's way (the pooler over the first token when there is one);
    /// <see cref="Pooling.Mean"/> without the pooler, as sentence-transformers models are used; <see cref="Pooling.Cls"/>
    /// with the pooler when there is one.
    /// </param>
    /// <param name="normalize">Sentence embeddings of unit length (sentence-transformers' Normalize).</param>
    /// <param name="usePooler">Whether a pooler in the checkpoint is used (with CLS pooling); false leaves it out, as
    /// sentence-transformers' CLS pooling takes the first token's state as it is.</param>
    public static LoadedEncoder Load(EncoderFamily family, TransformerConfig config, ITensorSource tensors, Pooling? pooling = null, bool normalize = false,
        bool usePooler = true) => LoadEncoder(family, config, tensors, pooling, normalize, usePooler, dense: null);

    // With a sentence-transformers Dense module: its layer after the pooling, its weights read from its own folder.
    private static LoadedEncoder LoadEncoder(EncoderFamily family, TransformerConfig config, ITensorSource tensors, Pooling? pooling, bool normalize, bool usePooler,
        SentenceTransformersModules.DenseModule? dense)
    {
        string src = $"'{tensors.Source}'";
        var names = new Resolver(family, tensors);
        bool pooler = usePooler && names.FindPooler() && pooling != Pooling.Mean;
        config = config with { Pooler = pooler, Pooling = pooling ?? (pooler ? Pooling.Cls : config.Pooling), NormalizeEmbeddings = normalize };
        if (dense is not null)
        {
            if (dense.In != config.ModelDim)
                throw new InvalidDataException($"'{Path.Combine(dense.Folder, "config.json")}' has in_features {dense.In}; the encoder's sentence vectors are {config.ModelDim} wide.");
            config = config with { SentenceDense = dense.Out, SentenceDenseActivation = dense.Activation, SentenceDenseBias = dense.Bias };
        }
        config.Validate();
        EnsureRoom(tensors, config, ModelKind.Encoder, src, "an encoder");
        var encoder = new TransformerEncoder(config);
        var used = Fill(encoder.Parameters, family.SourceNames, family, names, tensors, src, config);
        if (dense is not null) WithWeights(dense.Folder, d => ReadDense(encoder, d));
        return new LoadedEncoder(encoder, family, Unused(tensors, used, names, family, pooler, src, config));
    }

    // A Dense module's linear layer, as sentence-transformers saves it: linear.weight [out, in], linear.bias [out], nothing else.
    private static bool ReadDense(TransformerEncoder encoder, ITensorSource tensors)
    {
        string src = $"'{tensors.Source}'", prefix = TransformerEncoder.SentenceDensePrefix + "dense.";
        var wanted = encoder.Parameters.Tensors.Where(p => p.Name.StartsWith(prefix, StringComparison.Ordinal)).ToDictionary(p => "linear." + p.Name[prefix.Length..]);
        if (tensors.Shapes.Keys.FirstOrDefault(n => !wanted.ContainsKey(n)) is { } stray)
            throw new InvalidDataException($"{src} has the tensor '{stray}', which a Dense module of {(encoder.Config.SentenceDenseBias ? "linear.weight and linear.bias" : "linear.weight (no bias)")} does not hold.");
        foreach (var (name, p) in wanted)
        {
            if (!tensors.Shapes.TryGetValue(name, out var shape)) throw new InvalidDataException($"{src} lacks the Dense module's tensor '{name}' [{string.Join(", ", p.Shape)}].");
            if (!shape.SequenceEqual(p.Shape)) throw new InvalidDataException($"{src}: tensor '{name}' has shape [{string.Join(", ", shape)}], expected [{string.Join(", ", p.Shape)}] (the Dense module's config).");
            tensors.Read(name, p.Value);
            EnsurePlausible(p.Value, name, src);
        }
        return true;
    }

    // Nothing is allocated for a config that claims more weights than the file holds.
    private static void EnsureRoom(ITensorSource tensors, TransformerConfig config, ModelKind kind, string src, string what)
    {
        long available = tensors.Shapes.Values.Sum(s => s.Aggregate(1L, (a, d) => a * d));
        long needed = config.MinimumParameterCount(kind);
        if (needed > available) throw new InvalidDataException($"{src} holds {available:N0} values; the config describes {what} of at least {needed:N0}.");
    }

    // The tensors nothing read (task heads, in name order); one of the encoder's own is refused, a pooler only when it was read.
    private static List<string> Unused(ITensorSource tensors, HashSet<string> used, Resolver names, EncoderFamily family, bool poolerRead, string src, TransformerConfig config)
    {
        CheckDerivedTables(tensors, used, names, family, src, config);
        var unused = tensors.Shapes.Keys.Where(n => !used.Contains(n) && !IsBuffer(n)).Order(StringComparer.Ordinal).ToList();
        var stray = unused.FirstOrDefault(n => names.IsOwn(n) && !(n.Contains("pooler.", StringComparison.Ordinal) && !poolerRead)
            && !family.IgnoredTensors.Any(i => n.EndsWith(i, StringComparison.Ordinal)));
        if (stray is not null) throw new InvalidDataException($"{src} has the tensor '{stray}' [{string.Join(", ", tensors.Shapes[stray])}], which no {family.Name} encoder parameter reads.");
        return unused;
    }

    /// <summary>
    /// A masked language model (<see cref="TransformerConfig.MlmTransform"/>: BERT's head) filled from a Hugging Face
    /// folder whose checkpoint carries the family's masked-LM head (<c>cls.predictions.*</c>, RoBERTa's <c>lm_head.*</c>,
    /// DistilBERT's <c>vocab_*</c>), as <c>BertForMaskedLM</c> and <c>BertForPreTraining</c> save it: fill-mask with it. A
    /// pooler and BERT's <c>cls.seq_relationship</c> in the checkpoint bring the next-sentence head too.
    /// </summary>
    /// <param name="folder">The model folder (config.json, model.safetensors or pytorch_model.bin).</param>
    public static MaskedLanguageModel LoadMaskedLanguageModelFolder(string folder)
    {
        if (!Directory.Exists(folder)) throw new DirectoryNotFoundException($"Model folder '{folder}' does not exist.");
        var (family, config) = ReadConfig(Path.Combine(folder, "config.json"));
        return WithWeights(folder, tensors => LoadMaskedLanguageModel(family, config, tensors));
    }

    /// <summary>A masked language model with BERT's head filled from <paramref name="tensors"/> (see <see cref="LoadMaskedLanguageModelFolder"/>).</summary>
    /// <param name="family">Whose tensor names to read.</param>
    /// <param name="config">The encoder's shape (config.json).</param>
    /// <param name="tensors">The checkpoint's tensors.</param>
    public static MaskedLanguageModel LoadMaskedLanguageModel(EncoderFamily family, TransformerConfig config, ITensorSource tensors)
    {
        string src = $"'{tensors.Source}'";
        var names = new Resolver(family, tensors);
        if (family.MaskedLanguageModelName("mlm_head.bias") is null)
            throw new NotSupportedException($"{src}: {family.Name}'s masked-LM head is not read; its encoder is.");
        if (names.Find(family.MaskedLanguageModelName("mlm_head.bias")!) is null)
            throw new InvalidDataException($"{src} has no masked-LM head ('{family.MaskedLanguageModelName("mlm_head.bias")}'): fill-mask needs a checkpoint saved from a masked-LM task model ({family.Name}ForMaskedLM or pretraining).");
        bool pooler = names.FindPooler();
        bool nextSentence = pooler && family.HasNextSentenceHead && names.Find(family.MaskedLanguageModelName("nsp_head.weight")!) is not null;
        config = config with { Pooler = pooler, MlmTransform = true, NextSentenceHead = nextSentence };
        config.Validate();
        EnsureRoom(tensors, config, ModelKind.Encoder, src, "an encoder");
        var model = new MaskedLanguageModel(config);
        var used = Fill(model.Parameters, p => family.SourceNames(p) ?? (family.MaskedLanguageModelName(p) is { } n ? [n] : null), family, names, tensors, src, config);
        // The decoder is the word embedding (tied); a checkpoint that stores it must store the same matrix.
        if (names.Find(family.TiedDecoderName) is { } decoder)
        {
            var tok = model.Parameters["tok.weight"];
            if (!tensors.Shapes[decoder].SequenceEqual(tok.Shape)) throw new InvalidDataException($"{src}: tensor '{decoder}' has shape [{string.Join(", ", tensors.Shapes[decoder])}], expected [{string.Join(", ", tok.Shape)}] (the tied decoder).");
            var stored = new float[tok.Length];
            tensors.Read(decoder, stored);
            if (!stored.AsSpan().SequenceEqual(tok.Value)) throw new NotSupportedException($"{src}: the masked-LM decoder '{decoder}' differs from the word embeddings; only tied decoders (BERT's) are supported.");
            used.Add(decoder);
        }
        return model;
    }

    // Reads every parameter of `target` from the tensors `names` gives it (q;k;v stacked), checking shapes; returns the tensors read.
    private static HashSet<string> Fill(ParameterSet target, Func<string, string[]?> sources, EncoderFamily family, Resolver names, ITensorSource tensors, string src, TransformerConfig config)
    {
        var used = new HashSet<string>(StringComparer.Ordinal);
        foreach (var p in target.Tensors)
        {
            if (p.Name.StartsWith(TransformerEncoder.SentenceDensePrefix, StringComparison.Ordinal)) continue; // a Dense module's: its own folder
            var parts = sources(p.Name) ?? throw new InvalidOperationException($"The {family.Name} family has no tensor for parameter '{p.Name}'.");
            string prefix = family.SourceNames(p.Name) is null ? "" : family.Prefix; // task heads sit outside the encoder's prefix
            // A part the family has no tensor for ("": DeBERTa v1's key bias) is 0.
            var found = parts.Select(n => n.Length == 0 ? "" : names.Find(n) ?? throw new InvalidDataException($"{src} lacks the tensor '{prefix}{n}' ({family.Name} parameter for '{p.Name}', shape [{string.Join(", ", PartShape(p.Shape, parts.Length))}]).")).ToArray();
            int offset = 0, rows = p.Shape[0] / parts.Length, rowSize = p.Length / p.Shape[0];
            var expected = PartShape(p.Shape, parts.Length);
            foreach (var name in found)
            {
                if (name.Length == 0)
                {
                    p.Value.Slice(offset, rows * rowSize).Clear();
                    offset += rows * rowSize;
                    continue;
                }
                var shape = tensors.Shapes[name];
                if (!shape.SequenceEqual(expected))
                    throw new InvalidDataException($"{src}: tensor '{name}' has shape [{string.Join(", ", shape)}], expected [{string.Join(", ", expected)}] (for '{p.Name}').");
                tensors.Read(name, p.Value.Slice(offset, rows * rowSize));
                EnsurePlausible(p.Value.Slice(offset, rows * rowSize), name, src);
                offset += rows * rowSize;
                used.Add(name);
            }
            family.Repack?.Invoke(p.Name, p.Value, config, true);
        }
        // ERNIE's task type 0, added to every token, is the same sum as a position table with it added to every row.
        if (family.FoldedIntoPositions is { } folded && names.Find(folded) is { } table && target.Contains("pos.weight"))
        {
            var positions = target["pos.weight"].Value;
            int d = target["pos.weight"].Shape[1];
            var shape = tensors.Shapes[table];
            if (shape.Length != 2 || shape[1] != d || shape[0] < 1)
                throw new InvalidDataException($"{src}: tensor '{table}' has shape [{string.Join(", ", shape)}], expected [types, {d}].");
            var rows = new float[shape[0] * d];
            tensors.Read(table, rows);
            EnsurePlausible(rows, table, src);
            for (int r = 0; r < positions.Length / d; r++) TensorPrimitives.Add(positions.Slice(r * d, d), rows.AsSpan(0, d), positions.Slice(r * d, d));
            used.Add(table);
        }
        return used;
    }

    /// <summary>The largest magnitude a trained encoder's weight is taken to have; beyond it (or not a number) a file is damaged.</summary>
    public const float PlausibleMagnitude = 1e6f;

    // A weight that is not a number or beyond PlausibleMagnitude: a damaged file, whose arithmetic no two runtimes would agree on.
    private static void EnsurePlausible(ReadOnlySpan<float> values, string name, string src)
    {
        if (values.IsEmpty || TensorPrimitives.MaxMagnitude(values) is var m && float.Abs(m) <= PlausibleMagnitude) return;
        int at = 0;
        while (at < values.Length && float.Abs(values[at]) <= PlausibleMagnitude) at++;
        throw new InvalidDataException($"{src}: tensor '{name}' holds {values[at].ToString(System.Globalization.CultureInfo.InvariantCulture)} at index {at}, which no trained encoder's weight is (beyond ±{PlausibleMagnitude:G0}): the file is damaged.");
    }

    // A parameter made of k stacked tensors (q;k;v): each is [rows / k, …].
    private static int[] PartShape(int[] shape, int parts)
    {
        var s = (int[])shape.Clone();
        s[0] /= parts;
        return s;
    }

    // Tables the family's checkpoints store though they hold no weights (RoFormer's sinusoidal positions) must be the ones
    // the config computes (another base or length would turn the queries otherwise); then they count as read.
    private static void CheckDerivedTables(ITensorSource tensors, HashSet<string> used, Resolver names, EncoderFamily family, string src, TransformerConfig config)
    {
        foreach (var (name, shape, values) in family.DerivedTensors?.Invoke(config) ?? [])
        {
            if (names.Find(name) is not { } stored) continue;
            var have = tensors.Shapes[stored];
            if (!have.SequenceEqual(shape))
                throw new InvalidDataException($"{src}: '{stored}' is [{string.Join(", ", have)}]; a {family.Name} encoder of this config computes it as [{string.Join(", ", shape)}].");
            var read = new float[values.Length];
            tensors.Read(stored, read);
            var computed = values.Span;
            float worst = 0f;
            for (int i = 0; i < read.Length; i++) worst = MathF.Max(worst, MathF.Abs(read[i] - computed[i]));
            if (!(worst <= 1e-2f)) // bfloat16's rounding of values in [-1, 1] is within 4e-3
                throw new InvalidDataException($"{src}: '{stored}' differs from the table a {family.Name} encoder of this config computes, by up to {worst:G3}.");
            used.Add(stored);
        }
    }

    // Buffers a checkpoint carries that are not weights (position_ids: 0, 1, 2, …).
    // Buffers a checkpoint may carry that hold no weights: position ids, and rotary frequencies (ESM's inv_freq), which the engine computes as the code does.
    private static bool IsBuffer(string name) => name.EndsWith("position_ids", StringComparison.Ordinal) || name.EndsWith(".inv_freq", StringComparison.Ordinal);

    /// <summary>A family's tensor name as the checkpoint spells it: with or without the task prefix, LayerNorm as weight/bias or gamma/beta.</summary>
    private sealed class Resolver(EncoderFamily family, ITensorSource tensors)
    {
        public string? Find(string name)
        {
            foreach (var candidate in Spellings(name))
            {
                if (tensors.Shapes.ContainsKey(candidate)) return candidate;
                if (tensors.Shapes.ContainsKey(family.Prefix + candidate)) return family.Prefix + candidate;
            }
            return null;
        }

        // Whether the checkpoint holds the encoder's pooler (BERT's pooler.dense, ALBERT's pooler).
        public bool FindPooler() => family.SourceNames("pooler.dense.weight") is [var pooler] && Find(pooler) is not null;

        public bool IsOwn(string name)
        {
            if (name.StartsWith(family.Prefix, StringComparison.Ordinal)) name = name[family.Prefix.Length..];
            return family.OwnNamespaces.Any(ns => name.StartsWith(ns, StringComparison.Ordinal));
        }

        private static IEnumerable<string> Spellings(string name)
        {
            yield return name;
            if (!name.Contains("norm", StringComparison.OrdinalIgnoreCase)) yield break;
            if (name.EndsWith(".weight", StringComparison.Ordinal)) yield return name[..^".weight".Length] + ".gamma";
            if (name.EndsWith(".bias", StringComparison.Ordinal)) yield return name[..^".bias".Length] + ".beta";
        }
    }
}

/// <summary>An encoder read from a checkpoint made elsewhere.</summary>
/// <param name="Encoder">The encoder, its weights those of the checkpoint.</param>
/// <param name="Family">The family whose names were read.</param>
/// <param name="Unused">Tensors of the checkpoint that no encoder parameter reads (task heads such as <c>cls.*</c>).</param>
public sealed record LoadedEncoder(TransformerEncoder Encoder, EncoderFamily Family, IReadOnlyList<string> Unused)
{
    /// <summary>The folder's sentence-transformers modules, when it has them (read once, for the tokenizer's folder and length too).</summary>
    internal SentenceTransformersModules? Modules { get; init; }
}

/// <summary>A sequence classifier read from a Hugging Face folder, with its family and labels (in id order).</summary>
/// <param name="Model">The classifier (encoder, head's dense layer as the pooler, output layer).</param>
/// <param name="Family">The checkpoint's family.</param>
/// <param name="Labels">config.json's id2label, in id order.</param>
public sealed record LoadedClassifier(TransformerClassifier Model, EncoderFamily Family, IReadOnlyList<string> Labels);

/// <summary>A token classifier read from a Hugging Face <c>*ForTokenClassification</c> folder, its family and its tags in id order.</summary>
/// <param name="Model">The token classifier.</param>
/// <param name="Family">The checkpoint's family.</param>
/// <param name="Labels">config.json's id2label, in id order.</param>
public sealed record LoadedTokenClassifier(TransformerTokenClassifier Model, EncoderFamily Family, IReadOnlyList<string> Labels);

/// <summary>A question answerer read from a Hugging Face <c>*ForQuestionAnswering</c> folder and its family.</summary>
/// <param name="Model">The question answerer.</param>
/// <param name="Family">The checkpoint's family.</param>
public sealed record LoadedQuestionAnswerer(TransformerQuestionAnswerer Model, EncoderFamily Family);
