namespace MLNetTransformers.Cli;

/// <summary>The part of a loaded model file a command works with, or an error naming the file.</summary>
internal static class ModelFile
{
    /// <summary>
    /// A hub id that is neither a file nor a folder here (<c>bert-base-uncased</c>, <c>owner/name</c>) as the snapshot folder
    /// Python's transformers downloaded into the Hugging Face cache; any other path as it is. A hub id the cache lacks is a
    /// usage error: "<paramref name="option"/> 'PATH' is <paramref name="neither"/>; as a hub id: …".
    /// </summary>
    public static string FolderOfHubId(string path, string option, string neither)
    {
        if (File.Exists(path) || Directory.Exists(path) || !Core.Pretrained.HuggingFaceCache.IsModelId(path)) return path;
        try { return Core.Pretrained.HuggingFaceCache.Resolve(path); }
        catch (DirectoryNotFoundException e) { throw new UsageException($"{option} '{path}' is {neither}; as a hub id: {e.Message}"); }
    }

    /// <summary>A model file as <c>train</c> saved it (with the schema it was trained on), or a Hugging Face task model's folder, of weights or of an ONNX export (no schema).</summary>
    public static ITransformer Load(MLContext ml, string path, out DataViewSchema? schema)
    {
        schema = null;
        path = FolderOfHubId(path, "Option --model:", "neither a model file nor a model folder"); // checked by the option already
        if (Directory.Exists(path) && Core.Pretrained.PretrainedCheckpoint.IsTokenClassifierFolder(path)) return TaggerFolder(path, null);
        if (Directory.Exists(path) && Core.Pretrained.PretrainedCheckpoint.IsQuestionAnsweringFolder(path)) return ReaderFolder(path, null);
        if (Directory.Exists(path))
        {
            var classifier = IsExport(path) ? TransformerClassificationTransformer.FromOnnxExport(path) : TransformerClassificationTransformer.FromHuggingFaceFolder(path);
            if (classifier.IsBinary || classifier.IsRegression) return classifier;
            // Multiclass labels are read as text and mapped to the classifier's keys, in config.json's id order.
            var names = ml.Data.LoadFromEnumerable(classifier.ClassNames.Select(n => new ClassName { Label = n }));
            return new TransformerChain<ITransformer>(ml.Transforms.Conversion.MapValueToKey(DefaultColumnNames.Label, keyData: names).Fit(names), classifier);
        }
        var model = TransformerModel.Load(ml, path, out var trained);
        schema = trained;
        return model;
    }

    // A Hugging Face folder of weights, or of an ONNX export alone (optimum's, transformers.js'), read into the engine.
    private static bool IsExport(string folder) => Onnx.OnnxEncoderCheckpoint.ExportWithoutWeights(folder) is not null;

    /// <summary>
    /// The tagger or reader of <c>--model</c>: a Hugging Face folder (or hub id) read by <paramref name="folder"/> with
    /// <paramref name="maxTokens"/>, or the part of a model file <c>train</c> saved; a file without one names
    /// <paramref name="missing"/>.
    /// </summary>
    public static T PositionModel<T>(string modelPath, int? maxTokens, Func<string, int?, T> folder, string missing) where T : class
    {
        modelPath = FolderOfHubId(modelPath, "--model", "neither a model folder nor a file");
        if (Directory.Exists(modelPath)) return folder(modelPath, maxTokens);
        if (!File.Exists(modelPath)) throw new UsageException($"--model '{modelPath}' is neither a model folder nor a file.");
        if (maxTokens is not null) throw new UsageException("--max-tokens: a model file reads as many tokens as it was trained with.");
        return TransformerModel.Parts(TransformerModel.Load(new MLContext(seed: 0), modelPath, out _)).OfType<T>().FirstOrDefault()
            ?? throw new InvalidDataException($"Model '{modelPath}' holds no {missing}.");
    }

    /// <summary>A Hugging Face <c>*ForTokenClassification</c> folder, of weights or of an ONNX export.</summary>
    public static TokenClassification.TokenClassificationTransformer TaggerFolder(string folder, int? maxTokens) => IsExport(folder)
        ? TokenClassification.TokenClassificationTransformer.FromOnnxExport(folder, maxTokens) : TokenClassification.TokenClassificationTransformer.FromHuggingFaceFolder(folder, maxTokens);

    /// <summary>A Hugging Face <c>*ForQuestionAnswering</c> folder, of weights or of an ONNX export.</summary>
    public static QuestionAnswering.QuestionAnsweringTransformer ReaderFolder(string folder, int? maxTokens) => IsExport(folder)
        ? QuestionAnswering.QuestionAnsweringTransformer.FromOnnxExport(folder, maxTokens) : QuestionAnswering.QuestionAnsweringTransformer.FromHuggingFaceFolder(folder, maxTokens);

    public static TransformerClassificationTransformer Classifier(ITransformer model, string path) =>
        TransformerModel.Parts(model).OfType<TransformerClassificationTransformer>().FirstOrDefault()
        ?? throw new InvalidDataException($"Model '{path}' holds no transformer classifier (train one with train).");

    /// <summary>The model with its classifier (and featurizers) computing in int8; other parts unchanged.</summary>
    public static ITransformer WithInt8(ITransformer model) => model switch
    {
        TransformerClassificationTransformer c => c.WithInt8Inference(),
        Featurization.EncoderFeaturizerTransformer f => f.WithInt8Inference(),
        TokenClassification.TokenClassificationTransformer t => t.WithInt8Inference(),
        QuestionAnswering.QuestionAnsweringTransformer q => q.WithInt8Inference(),
        TransformerChain<ITransformer> chain => new TransformerChain<ITransformer>(chain.Select(WithInt8).ToArray()),
        _ => model,
    };

    public static LanguageModelTransformer LanguageModel(string path) =>
        TransformerModel.Parts(TransformerModel.Load(new MLContext(), path, out _)).OfType<LanguageModelTransformer>().FirstOrDefault()
        ?? throw new InvalidDataException($"Model '{path}' holds no language model (train one with train-lm).");

    public static Translation.Seq2SeqTransformer Translator(string path) =>
        TransformerModel.Parts(TransformerModel.Load(new MLContext(), path, out _)).OfType<Translation.Seq2SeqTransformer>().FirstOrDefault()
        ?? throw new InvalidDataException($"Model '{path}' holds no sequence-to-sequence model (train one with train-seq2seq).");

    private sealed class ClassName { public string Label { get; set; } = ""; }
}
