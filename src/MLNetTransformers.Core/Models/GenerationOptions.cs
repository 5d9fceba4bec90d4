namespace MLNetTransformers.Core.Models;

/// <summary>How <see cref="TokenGenerator"/> picks tokens.</summary>
public sealed record GenerationOptions
{
    /// <summary>Largest <see cref="MaxNewTokens"/> accepted: a bound on time and memory for one call.</summary>
    public const int MaxNewTokensLimit = 100_000;
    /// <summary>Tokens to generate at most, 1 to <see cref="MaxNewTokensLimit"/> (stop sequences may end earlier).</summary>
    public int MaxNewTokens { get; init; } = 100;
    /// <summary>Softmax temperature; 0 = greedy (always the most likely token).</summary>
    public float Temperature { get; init; } = 1f;
    /// <summary>Sample only among the k most likely tokens (0 = all).</summary>
    public int TopK { get; init; }
    /// <summary>Nucleus sampling: the smallest set of tokens whose probability reaches p, in (0, 1] (1 = all).</summary>
    public float TopP { get; init; } = 1f;
    /// <summary>Divides positive (multiplies negative) logits of tokens already in the context; 1 = off (CTRL's penalty).</summary>
    public float RepetitionPenalty { get; init; } = 1f;
    /// <summary>Seed of the sampler: the same seed, model and prompt give the same tokens.</summary>
    public ulong Seed { get; init; }
    /// <summary>Decode incrementally with a key/value cache (true) or recompute the whole context every step.</summary>
    public bool UseKvCache { get; init; } = true;
    /// <summary>
    /// Generation ends when this token is produced (it is not returned): an end-of-sequence token. Null = the caller's
    /// default (a language model's end of document, [SEP]); -1 = never.
    /// </summary>
    public int? EndTokenId { get; init; }

    /// <summary>Throws naming the first invalid setting.</summary>
    public GenerationOptions Validate()
    {
        if (MaxNewTokens is <= 0 or > MaxNewTokensLimit)
            throw new ArgumentOutOfRangeException(nameof(MaxNewTokens), MaxNewTokens, $"MaxNewTokens must be between 1 and {MaxNewTokensLimit:N0}.");
        if (!(Temperature >= 0f) || float.IsInfinity(Temperature)) throw new ArgumentOutOfRangeException(nameof(Temperature), Temperature, "Temperature must be ≥ 0 (0 = greedy).");
        if (TopK < 0) throw new ArgumentOutOfRangeException(nameof(TopK), TopK, "TopK must be ≥ 0 (0 = off).");
        if (!(TopP > 0f && TopP <= 1f)) throw new ArgumentOutOfRangeException(nameof(TopP), TopP, "TopP must be in (0, 1].");
        if (!(RepetitionPenalty > 0f) || float.IsInfinity(RepetitionPenalty)) throw new ArgumentOutOfRangeException(nameof(RepetitionPenalty), RepetitionPenalty, "RepetitionPenalty must be positive (1 = off).");
        return this;
    }
}
