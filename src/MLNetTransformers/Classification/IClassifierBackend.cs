namespace MLNetTransformers.Classification;

/// <summary>Something other than the managed engine that computes class probabilities for token batches.</summary>
public interface IClassifierBackend
{
    /// <summary>Writes softmax probabilities [batch, classes] of <paramref name="batch"/> into <paramref name="probabilities"/>; must be thread-safe.</summary>
    /// <param name="batch">Token ids and attention mask, [B, T].</param>
    /// <param name="probabilities">Receives the class probabilities, [B, classes] row-major.</param>
    void Probabilities(TokenBatch batch, Span<float> probabilities);
}
