using System.Reflection;
using Microsoft.ML;
using Microsoft.ML.Runtime;
using MLNetTransformers.Classification;
using MLNetTransformers.Featurization;
using MLNetTransformers.LanguageModeling;
using MLNetTransformers.Tokenization;

namespace MLNetTransformers;

/// <summary>Catalog extension methods, ML.NET style: a simple overload and an Options overload each.</summary>
public static class TransformerCatalog
{
    /// <summary>
    /// Tokenizes <paramref name="inputColumnName"/> into token ids and an attention mask (Int64 vectors of
    /// <paramref name="maxTokens"/>), learning a WordPiece vocabulary of <paramref name="vocabularySize"/> at Fit.
    /// </summary>
    public static TokenizerEstimator TokenizeForTransformer(this TransformsCatalog.TextTransforms catalog,
        string tokenIdsColumnName = DefaultColumnNames.TokenIds, string inputColumnName = DefaultColumnNames.Text, string attentionMaskColumnName = DefaultColumnNames.AttentionMask,
        int maxTokens = 128, int vocabularySize = 8000)
        => new(inputColumnName, tokenIdsColumnName, attentionMaskColumnName, new TokenizerOptions { MaxTokens = maxTokens, VocabularySize = vocabularySize });

    /// <summary>Tokenization with every option (learned, WordPiece, BPE or Tiktoken).</summary>
    public static TokenizerEstimator TokenizeForTransformer(this TransformsCatalog.TextTransforms catalog, TokenizerOptions options,
        string tokenIdsColumnName = DefaultColumnNames.TokenIds, string inputColumnName = DefaultColumnNames.Text, string attentionMaskColumnName = DefaultColumnNames.AttentionMask)
        => new(inputColumnName, tokenIdsColumnName, attentionMaskColumnName, options);

    /// <summary>Trains a transformer encoder binary classifier from a text column (Boolean label).</summary>
    public static TransformerClassificationTrainer TransformerClassifier(this BinaryClassificationCatalog.BinaryClassificationTrainers catalog,
        string labelColumnName = DefaultColumnNames.Label, string textColumnName = DefaultColumnNames.Text, int? epochs = null, int batchSize = 32, float learningRate = 5e-4f,
        IDataView? validationSet = null)
        => new(Simple(labelColumnName, textColumnName, epochs, batchSize, learningRate, validationSet), binary: true, Environment(catalog));

    /// <summary>Binary transformer classifier with every option.</summary>
    public static TransformerClassificationTrainer TransformerClassifier(this BinaryClassificationCatalog.BinaryClassificationTrainers catalog,
        TransformerClassifierOptions options)
        => new(options, binary: true, Environment(catalog));

    /// <summary>Trains a transformer encoder multiclass classifier from a text column (key-typed label).</summary>
    public static TransformerClassificationTrainer TransformerClassifier(this MulticlassClassificationCatalog.MulticlassClassificationTrainers catalog,
        string labelColumnName = DefaultColumnNames.Label, string textColumnName = DefaultColumnNames.Text, int? epochs = null, int batchSize = 32, float learningRate = 5e-4f,
        IDataView? validationSet = null)
        => new(Simple(labelColumnName, textColumnName, epochs, batchSize, learningRate, validationSet), binary: false, Environment(catalog));

    /// <summary>Multiclass transformer classifier with every option.</summary>
    public static TransformerClassificationTrainer TransformerClassifier(this MulticlassClassificationCatalog.MulticlassClassificationTrainers catalog,
        TransformerClassifierOptions options)
        => new(options, binary: false, Environment(catalog));

    private static TransformerClassifierOptions Simple(string label, string text, int? epochs, int batchSize, float learningRate, IDataView? validationSet) => new()
    {
        LabelColumnName = label, TextColumnName = text, Epochs = epochs, BatchSize = batchSize, LearningRate = learningRate, ValidationSet = validationSet,
    };

    /// <summary>
    /// Sentence embeddings from a trained transformer encoder: text → a [d_model] float vector (the classifier's
    /// pooling), usable as <c>Features</c> by any ML.NET trainer.
    /// </summary>
    public static EncoderFeaturizerEstimator TransformerFeaturizer(this TransformsCatalog.TextTransforms catalog,
        TransformerClassificationTransformer trainedModel, string outputColumnName = DefaultColumnNames.Features, string inputColumnName = DefaultColumnNames.Text)
        => new(trainedModel.Tokenizer, trainedModel.Model.Encoder, inputColumnName, outputColumnName);

    /// <summary>
    /// Trains a GPT-style causal language model on the documents of a text column (or, with
    /// <see cref="LanguageModelEstimator.FitFile"/>, on a text file); the fitted transformer maps a prompt column to
    /// generated text.
    /// </summary>
    public static LanguageModelEstimator TrainLanguageModel(this TransformsCatalog.TextTransforms catalog, LanguageModelOptions? options = null)
        => new(options ?? new LanguageModelOptions(), Environment(catalog));

    /// <summary>
    /// Pretrains a transformer encoder by masked language modelling (BERT) on an unlabelled text column; the fitted
    /// featurizer's encoder can start a classifier (<see cref="TransformerClassifierOptions.InitialModel"/>).
    /// </summary>
    public static MaskedLanguageModelEstimator PretrainMaskedLanguageModel(this TransformsCatalog.TextTransforms catalog, MaskedLanguageModelOptions? options = null)
        => new(options ?? new MaskedLanguageModelOptions(), Environment(catalog));

    /// <summary>
    /// ML.NET keeps a catalog's MLContext internal; its log is reached through the catalog's non-public
    /// <c>Environment</c> property when present, and training still works (without MLContext.Log messages) if not.
    /// </summary>
    private static IChannelProvider? Environment(object catalog)
    {
        const BindingFlags flags = BindingFlags.Instance | BindingFlags.NonPublic | BindingFlags.Public | BindingFlags.DeclaredOnly;
        for (var t = catalog.GetType(); t is not null; t = t.BaseType)
            foreach (var p in t.GetProperties(flags))
                if (typeof(IChannelProvider).IsAssignableFrom(p.PropertyType) && p.GetIndexParameters().Length == 0 && p.GetValue(catalog) is IChannelProvider env)
                    return env;
        return null;
    }
}
