namespace MLNetTransformers.Cli;

/// <summary>The part of a loaded model file a command works with, or an error naming the file.</summary>
internal static class ModelFile
{
    public static TransformerClassificationTransformer Classifier(ITransformer model, string path) =>
        TransformerModel.Parts(model).OfType<TransformerClassificationTransformer>().FirstOrDefault()
        ?? throw new InvalidDataException($"Model '{path}' holds no transformer classifier (train one with train).");

    /// <summary>The model with its classifier (and featurizers) computing in int8; other parts unchanged.</summary>
    public static ITransformer WithInt8(ITransformer model) => model switch
    {
        TransformerClassificationTransformer c => c.WithInt8Inference(),
        Featurization.EncoderFeaturizerTransformer f => f.WithInt8Inference(),
        TransformerChain<ITransformer> chain => new TransformerChain<ITransformer>(chain.Select(WithInt8).ToArray()),
        _ => model,
    };

    public static LanguageModelTransformer LanguageModel(string path) =>
        TransformerModel.Parts(TransformerModel.Load(new MLContext(), path, out _)).OfType<LanguageModelTransformer>().FirstOrDefault()
        ?? throw new InvalidDataException($"Model '{path}' holds no language model (train one with train-lm).");

    public static Translation.Seq2SeqTransformer Translator(string path) =>
        TransformerModel.Parts(TransformerModel.Load(new MLContext(), path, out _)).OfType<Translation.Seq2SeqTransformer>().FirstOrDefault()
        ?? throw new InvalidDataException($"Model '{path}' holds no sequence-to-sequence model (train one with train-seq2seq).");
}
