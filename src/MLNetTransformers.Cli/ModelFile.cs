using MLNetTransformers.Classification;
using MLNetTransformers.LanguageModeling;

namespace MLNetTransformers.Cli;

/// <summary>The part of a loaded model file a command works with, or an error naming the file.</summary>
internal static class ModelFile
{
    public static TransformerClassificationTransformer Classifier(ITransformer model, string path) =>
        TransformerModel.Parts(model).OfType<TransformerClassificationTransformer>().FirstOrDefault()
        ?? throw new InvalidDataException($"Model '{path}' holds no transformer classifier (train one with train).");

    public static LanguageModelTransformer LanguageModel(string path) =>
        TransformerModel.Parts(TransformerModel.Load(new MLContext(), path, out _)).OfType<LanguageModelTransformer>().FirstOrDefault()
        ?? throw new InvalidDataException($"Model '{path}' holds no language model (train one with train-lm).");

    public static Translation.Seq2SeqTransformer Translator(string path) =>
        TransformerModel.Parts(TransformerModel.Load(new MLContext(), path, out _)).OfType<Translation.Seq2SeqTransformer>().FirstOrDefault()
        ?? throw new InvalidDataException($"Model '{path}' holds no sequence-to-sequence model (train one with train-seq2seq).");
}
