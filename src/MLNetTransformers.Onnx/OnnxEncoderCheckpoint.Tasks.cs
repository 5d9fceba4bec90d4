using MLNetTransformers.Core.Pretrained;

namespace MLNetTransformers.Onnx;

// Task models that PyTorch exported to ONNX (Hugging Face optimum's and transformers.js' exports of *ForSequenceClassification,
// *ForTokenClassification and *ForQuestionAnswering: onnx/model.onnx beside config.json and the tokenizer, no weights) read
// into the engine as the folder readers read their checkpoints: config.json gives the family, the shape and the labels; the
// graph's initializers the weights, under the task model's names (bert.…, classifier.…, the renamed MatMul weights by the
// bias added after them); ONNX Runtime's outputs on probe batches must equal the model's.
public static partial class OnnxEncoderCheckpoint
{
    /// <summary>
    /// A sequence classifier that PyTorch exported to ONNX (e.g. a sentiment model from optimum or a transformers.js
    /// repository's <c>onnx/model.onnx</c>: output <c>logits</c> [batch, labels]) read into the engine, with its
    /// <c>config.json</c> beside the file or one folder up (its family, shape and <c>id2label</c>), as
    /// <see cref="PretrainedCheckpoint.LoadSequenceClassifierFolder"/> reads a folder's weights: it then predicts, fine-tunes
    /// further, saves, quantizes and exports like a classifier trained here. Quantized and half-precision exports are read as
    /// the float model of their weights. The classifier must compute what the graph computes (checked with ONNX Runtime).
    /// </summary>
    /// <param name="path">The .onnx file, or a model folder holding it (<see cref="PretrainedCheckpoint.OnnxExportIn"/>).</param>
    public static LoadedClassifier LoadSequenceClassifier(string path) => SequenceClassifier(path).Loaded;

    private static (LoadedClassifier Loaded, ITensorSource Tensors) SequenceClassifier(string path) =>
        LoadTask<LoadedClassifier>(path, "a sequence classifier", PretrainedCheckpoint.LoadSequenceClassifier, loaded => loaded.Model.Config,
            (loaded, _) => (batch, _, outputs) => [new(Output(outputs, "logits"), "logits", loaded.Model.Forward(batch), loaded.Model.Config.NumClasses, PerToken: false)]);

    /// <summary>
    /// A token classifier (a named-entity tagger, say) that PyTorch exported to ONNX (output <c>logits</c> [batch, sequence,
    /// tags]) read into the engine, with its <c>config.json</c> beside the file or one folder up (its tags as
    /// <c>id2label</c>), as <see cref="PretrainedCheckpoint.LoadTokenClassifierFolder"/> reads a folder's weights.
    /// </summary>
    /// <param name="path">The .onnx file, or a model folder holding it (<see cref="PretrainedCheckpoint.OnnxExportIn"/>).</param>
    public static LoadedTokenClassifier LoadTokenClassifier(string path) => TokenClassifier(path).Loaded;

    private static (LoadedTokenClassifier Loaded, ITensorSource Tensors) TokenClassifier(string path) =>
        LoadTask<LoadedTokenClassifier>(path, "a token classifier", PretrainedCheckpoint.LoadTokenClassifier, loaded => loaded.Model.Config,
            (loaded, _) => (batch, _, outputs) => [new(Output(outputs, "logits"), "logits", loaded.Model.Forward(batch), loaded.Model.Outputs, PerToken: true)]);

    /// <summary>
    /// An extractive question answerer that PyTorch exported to ONNX (outputs <c>start_logits</c> and <c>end_logits</c>
    /// [batch, sequence]) read into the engine, with its <c>config.json</c> beside the file or one folder up, as
    /// <see cref="PretrainedCheckpoint.LoadQuestionAnsweringFolder"/> reads a folder's weights.
    /// </summary>
    /// <param name="path">The .onnx file, or a model folder holding it (<see cref="PretrainedCheckpoint.OnnxExportIn"/>).</param>
    public static LoadedQuestionAnswerer LoadQuestionAnswerer(string path) => QuestionAnswerer(path).Loaded;

    private static (LoadedQuestionAnswerer Loaded, ITensorSource Tensors) QuestionAnswerer(string path) =>
        LoadTask<LoadedQuestionAnswerer>(path, "a question answerer", PretrainedCheckpoint.LoadQuestionAnswerer, loaded => loaded.Model.Config, (loaded, src) => (batch, _, outputs) =>
        {
            foreach (var name in AnswerOutputs)
                if (!outputs.Contains(name))
                    throw new InvalidDataException($"{src} has the outputs {string.Join(", ", outputs)}; a question answerer's are start_logits and end_logits.");
            var logits = loaded.Model.Forward(batch); // [B, T, 2]: start, end
            int n = batch.BatchSize * batch.SeqLen;
            float[] start = new float[n], end = new float[n];
            for (int i = 0; i < n; i++) (start[i], end[i]) = (logits[2 * i], logits[2 * i + 1]);
            return [new("start_logits", "start logit", start, 1, PerToken: true), new("end_logits", "end logit", end, 1, PerToken: true)];
        });

    /// <summary>
    /// The ONNX export a model folder holds when it holds no weights (a transformers.js repository, an optimum export), which
    /// the <c>Load…</c> methods here read; null for a folder with weights (read by <see cref="PretrainedCheckpoint"/>) or without an export.
    /// </summary>
    /// <param name="folder">A model folder.</param>
    public static string? ExportWithoutWeights(string folder) =>
        Directory.Exists(folder) && !PretrainedCheckpoint.HasWeights(folder) ? PretrainedCheckpoint.OnnxExportIn(folder) : null;

    // An .onnx file as it is; a folder's export (PretrainedCheckpoint.OnnxExportIn).
    private static string ExportPath(string path)
    {
        if (File.Exists(path)) return path;
        if (!Directory.Exists(path)) throw new FileNotFoundException($"ONNX model file '{path}' does not exist.", path);
        return PretrainedCheckpoint.OnnxExportIn(path) ?? throw new FileNotFoundException($"Model folder '{path}' holds no ONNX export (onnx/model.onnx or model.onnx).", Path.Combine(path, "onnx", "model.onnx"));
    }

    // The graph's output of that name, or its only output under another name.
    private static string Output(string[] outputs, string name) => outputs.Contains(name) ? name : outputs[0];

    // The task model and the tensors it was read from, which ONNX Runtime's outputs have confirmed.
    private static (T Loaded, ITensorSource Tensors) LoadTask<T>(string path, string what, Func<string, Func<Func<ITensorSource, T>, T>, T> load,
        Func<T, Core.Models.TransformerConfig> configOf, Func<T, string, ProbeOutputs> probe)
    {
        path = ExportPath(path);
        string configPath = TaskConfig(path, what);
        var (family, config) = PretrainedCheckpoint.ReadConfig(configPath);
        var graph = Readable(File.ReadAllBytes(path), path);
        GraphTensors? tensors = null;
        var model = load(configPath, read =>
        {
            // The encoder's tensors under the task model's prefix and the heads' own names (classifier., qa_outputs., …).
            tensors = new GraphTensors(graph.Model.Graph, path, (family, config),
                name => name.StartsWith(family.Prefix, StringComparison.Ordinal) || TaskHeads.Any(h => name.StartsWith(h, StringComparison.Ordinal)), TaskHeadWeights);
            var loaded = read(tensors);
            graph.Verify($"ONNX model '{path}'", configOf(loaded), what, probe(loaded, $"ONNX model '{path}'"));
            return loaded;
        });
        return (model, tensors!);
    }

    // The encoder of a task model's export whose config.json (beside it or one folder up) names its task, read as a
    // folder of that task model's weights reads (its pooler kept, the head's tensors unused) from the tensors that the
    // task model, run against ONNX Runtime, confirmed; null for any other graph.
    private static LoadedEncoder? TaskEncoder(string path, Pooling? pooling, bool normalize)
    {
        if (ConfigFolder(path) is not { } folder) return null;
        ITensorSource? tensors = PretrainedCheckpoint.IsSequenceClassifierFolder(folder) ? SequenceClassifier(path).Tensors
            : PretrainedCheckpoint.IsTokenClassifierFolder(folder) ? TokenClassifier(path).Tensors
            : PretrainedCheckpoint.IsQuestionAnsweringFolder(folder) ? QuestionAnswerer(path).Tensors : null;
        if (tensors is null) return null;
        var (family, config) = PretrainedCheckpoint.ReadConfig(Path.Combine(folder, "config.json"));
        return PretrainedCheckpoint.Load(family, config, tensors, pooling, normalize);
    }

    private static readonly string[] AnswerOutputs = ["start_logits", "end_logits"];

    // The heads' names outside the encoder's prefix: BERT's and its kin's classifier, DistilBERT's pre_classifier, the
    // readers' qa_outputs, ModernBERT's head.
    private static readonly string[] TaskHeads = ["classifier.", "pre_classifier.", "qa_outputs.", "head."];

    // The heads' linear layers (DeBERTa's ContextPooler is pooler.dense outside the encoder's prefix): a bias-free one has no
    // named bias after its MatMul and is named by the node's scope (/head/dense/MatMul).
    private static readonly string[] TaskHeadWeights = ["head.dense.weight", "pooler.dense.weight", "pre_classifier.weight", "classifier.dense.weight",
        "classifier.out_proj.weight", "classifier.weight", "qa_outputs.weight"];

    /// <summary>The folder of a task export's config.json and tokenizer: the .onnx file's, or the one above it (<c>onnx/model.onnx</c> under the model's folder).</summary>
    /// <param name="path">The .onnx file, or a model folder holding it.</param>
    internal static string TaskFolder(string path) => Path.GetDirectoryName(TaskConfig(ExportPath(path), "a task model"))!;

    // A task export's config.json: beside the file, or one folder up (onnx/model.onnx under the model's folder).
    private static string TaskConfig(string path, string what) => ConfigFolder(path) is { } folder ? Path.Combine(folder, "config.json")
        : throw new FileNotFoundException($"ONNX model '{path}' is read as {what} with its config.json (family, shape and labels) beside it or one folder up, and there is none.");

    // The folder of the config.json beside the file or one folder up; null when there is none.
    private static string? ConfigFolder(string path)
    {
        var folder = Path.GetDirectoryName(Path.GetFullPath(path));
        for (int up = 0; up < 2 && folder is not null; up++, folder = Path.GetDirectoryName(folder))
            if (File.Exists(Path.Combine(folder, "config.json"))) return folder;
        return null;
    }
}
