using MLNetTransformers.Core.Models;

namespace MLNetTransformers.Classification;

/// <summary>Something other than the managed engine that computes class probabilities for token batches.</summary>
public interface IClassifierBackend
{
    /// <summary>Writes softmax probabilities [batch, classes] of <paramref name="batch"/> into <paramref name="probabilities"/>; must be thread-safe.</summary>
    void Probabilities(TokenBatch batch, Span<float> probabilities);
}
