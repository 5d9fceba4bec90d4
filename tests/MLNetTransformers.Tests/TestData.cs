using Microsoft.ML;
using Microsoft.ML.Data;
using MLNetTransformers.Classification;

namespace MLNetTransformers.Tests;

public sealed class Review
{
    [LoadColumn(0)] public string Text { get; set; } = "";
    [LoadColumn(1)] public bool Label { get; set; }
}

public sealed class ReviewPrediction
{
    public float Score { get; set; }
    public float Probability { get; set; }
    public bool PredictedLabel { get; set; }
}

internal static class TestData
{
    public static string ReviewsPath => Path.Combine(AppContext.BaseDirectory, "Data", "reviews.tsv");

    public static IDataView Reviews(MLContext ml) =>
        ml.Data.LoadFromTextFile<Review>(ReviewsPath, separatorChar: '\t', hasHeader: true, allowQuoting: false);

    /// <summary>A small fast model for tests.</summary>
    public static TransformerClassifierOptions Tiny(int epochs = 20) => new()
    {
        Layers = 2, ModelDim = 48, Heads = 4, FeedForwardDim = 96, Epochs = epochs, BatchSize = 16, LearningRate = 2e-3f,
        Tokenizer = new Tokenization.TokenizerOptions { MaxTokens = 32, VocabularySize = 300 }, Seed = 1, Dropout = 0.1f,
    };
}
