namespace MLNetTransformers.Core.Layers;

/// <summary>Kind of position information added to token embeddings.</summary>
public enum PositionalEncodingKind
{
    /// <summary>A trained [max_len, d] table (BERT, GPT-2).</summary>
    Learned,
    /// <summary>Fixed sines and cosines ("Attention Is All You Need").</summary>
    Sinusoidal,
    /// <summary>No absolute positions: they enter through relative attention terms instead (DeBERTa-v3's <c>position_biased_input</c> false). Encoders only.</summary>
    None,
}
