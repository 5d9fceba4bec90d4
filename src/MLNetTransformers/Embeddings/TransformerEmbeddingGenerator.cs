using System.Numerics.Tensors;
using Microsoft.Extensions.AI;
using MLNetTransformers.Featurization;

namespace MLNetTransformers.Embeddings;

/// <summary>
/// Microsoft.Extensions.AI's <see cref="IEmbeddingGenerator{TInput, TEmbedding}"/> over any of the library's encoders
/// (a pretrained one such as all-MiniLM-L6-v2, a classifier's, masked-LM pretraining's): texts in batches, one
/// <see cref="Embedding{T}"/> each, in order. Safe to call from many threads at once (the featurizer's encoder
/// replicas); cancellation is checked between batches. Its metadata gives the model id and the vector size.
/// <see cref="EmbeddingGenerationOptions.Dimensions"/> below the encoder's width keeps the leading components (scaled back
/// to unit length when the encoder's embeddings are), as sentence-transformers' <c>truncate_dim</c> cuts Matryoshka-trained
/// models such as mxbai-embed-large-v1 (nomic-embed-text-v1.5's own recipe layer-norms the vector first); other models lose
/// quality when cut.
/// </summary>
public sealed class TransformerEmbeddingGenerator : IEmbeddingGenerator<string, Embedding<float>>
{
    private readonly EncoderFeaturizerTransformer _featurizer;

    /// <summary>Embeds with <paramref name="featurizer"/>'s encoder and tokenizer.</summary>
    /// <param name="featurizer">A featurizer (<c>mlContext.Transforms.Text.FeaturizeWithTransformer(...)</c>, or masked-LM pretraining's).</param>
    /// <param name="modelId">The model's name in the metadata and in every embedding.</param>
    /// <param name="batchSize">Texts run through the encoder together.</param>
    public TransformerEmbeddingGenerator(EncoderFeaturizerTransformer featurizer, string modelId, int batchSize = 64)
    {
        ArgumentNullException.ThrowIfNull(featurizer);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(batchSize);
        (_featurizer, BatchSize) = (featurizer, batchSize);
        Metadata = new EmbeddingGeneratorMetadata("MLNetTransformers", null, modelId, featurizer.Dimension);
    }

    /// <summary>Embeds with a pretrained encoder (sentence-transformers models give their own normalized mean-pooled vectors).</summary>
    /// <param name="pretrained">The encoder and its tokenizer.</param>
    /// <param name="batchSize">Texts run through the encoder together.</param>
    public TransformerEmbeddingGenerator(PretrainedEncoder pretrained, int batchSize = 64)
        : this(new EncoderFeaturizerTransformer(pretrained.Tokenizer, pretrained.Encoder), pretrained.Name, batchSize)
    {
    }

    /// <summary>
    /// The key of <see cref="UsageDetails.AdditionalCounts"/> under which a generation reports how many of its texts had more
    /// tokens than the tokenizer's length and were embedded cut.
    /// </summary>
    public const string TruncatedInputsCount = "TruncatedInputs";

    /// <summary>The provider, model id and dimensions.</summary>
    public EmbeddingGeneratorMetadata Metadata { get; }
    /// <summary>Texts run through the encoder together.</summary>
    public int BatchSize { get; }

    /// <inheritdoc/>
    public Task<GeneratedEmbeddings<Embedding<float>>> GenerateAsync(IEnumerable<string> values, EmbeddingGenerationOptions? options = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(values);
        int d = _featurizer.Dimension, kept = d;
        if (options?.Dimensions is { } asked && asked != d)
            kept = asked is > 0 && asked < d ? asked
                : throw new NotSupportedException($"{Metadata.DefaultModelId} makes {d}-dimensional embeddings; {asked} were asked for (fewer, from 1 to {d - 1}, keep the leading components).");
        bool unitLength = _featurizer.Encoder.Config.NormalizeEmbeddings;
        if (options?.ModelId is { } model && model != Metadata.DefaultModelId)
            throw new NotSupportedException($"This generator runs {Metadata.DefaultModelId}; model '{model}' was asked for.");
        var texts = values.ToList();
        var result = new GeneratedEmbeddings<Embedding<float>>(texts.Count);
        var vectors = new float[Math.Min(BatchSize, Math.Max(texts.Count, 1)) * d];
        long tokens = 0, truncated = 0;
        for (int start = 0; start < texts.Count; start += BatchSize)
        {
            cancellationToken.ThrowIfCancellationRequested();
            int n = Math.Min(BatchSize, texts.Count - start);
            var (read, cut) = _featurizer.EmbedCountingTokens(texts.GetRange(start, n), vectors.AsSpan(0, n * d));
            (tokens, truncated) = (tokens + read, truncated + cut);
            for (int i = 0; i < n; i++)
            {
                var vector = vectors.AsSpan(i * d, kept).ToArray();
                if (kept < d && unitLength && TensorPrimitives.Norm(vector) is var norm and > 0f) TensorPrimitives.Divide(vector, norm, vector);
                result.Add(new Embedding<float>(vector) { ModelId = Metadata.DefaultModelId, CreatedAt = DateTimeOffset.UtcNow });
            }
        }
        // what the encoder read: special tokens in, truncated tokens out; and how many texts were cut
        result.Usage = new UsageDetails { InputTokenCount = tokens, AdditionalCounts = new() { [TruncatedInputsCount] = truncated } };
        return Task.FromResult(result);
    }

    /// <inheritdoc/>
    public object? GetService(Type serviceType, object? serviceKey = null)
    {
        ArgumentNullException.ThrowIfNull(serviceType);
        if (serviceKey is not null) return null;
        if (serviceType == typeof(EmbeddingGeneratorMetadata)) return Metadata;
        return serviceType.IsInstanceOfType(this) ? this : null;
    }

    /// <inheritdoc/>
    public void Dispose() { }
}
