namespace MLNetTransformers.Core.Models;

/// <summary>How <see cref="Seq2SeqDecoder"/> turns a source into output tokens: greedy, beam search or sampling.</summary>
public sealed record Seq2SeqDecodingOptions
{
    /// <summary>Hypotheses kept per step: 1 = greedy search, more = beam search.</summary>
    public int BeamWidth { get; init; } = 4;
    /// <summary>α of GNMT's length penalty lp = ((5 + |Y|) / 6)^α that finished hypotheses are ranked by (log P / lp); 0 = log P alone.</summary>
    public float LengthPenalty { get; init; } = 0.6f;
    /// <summary>Hypotheses returned per source, best first (at most <see cref="BeamWidth"/>).</summary>
    public int NBest { get; init; } = 1;
    /// <summary>Output tokens at most: <see cref="MaxLengthRatio"/>·|source| + <see cref="MaxLengthOffset"/>, and never beyond the model's maximum length.</summary>
    public float MaxLengthRatio { get; init; } = 2f;
    /// <summary>See <see cref="MaxLengthRatio"/>.</summary>
    public int MaxLengthOffset { get; init; } = 10;
    /// <summary>Draw each token from the model's distribution instead of searching (one output per source; needs <see cref="BeamWidth"/> 1).</summary>
    public bool Sample { get; init; }
    /// <summary>Sampling temperature (0 = greedy).</summary>
    public float Temperature { get; init; } = 1f;
    /// <summary>Sample among the k likeliest tokens only (0 = all).</summary>
    public int TopK { get; init; }
    /// <summary>Nucleus sampling: the smallest set of tokens whose probability reaches p, in (0, 1] (1 = all).</summary>
    public float TopP { get; init; } = 1f;
    /// <summary>Seed of the sampler: source i of a call draws from its own stream, so equal inputs give equal outputs.</summary>
    public ulong Seed { get; init; }
    /// <summary>Sources decoded together (their hypotheses share each step's matrix products; finished ones leave the batch).</summary>
    public int BatchSize { get; init; } = 32;

    /// <summary>Throws naming the first invalid setting.</summary>
    public Seq2SeqDecodingOptions Validate()
    {
        if (BeamWidth < 1) throw new ArgumentOutOfRangeException(nameof(BeamWidth), BeamWidth, "The beam width must be at least 1.");
        if (!(LengthPenalty >= 0f) || float.IsInfinity(LengthPenalty)) throw new ArgumentOutOfRangeException(nameof(LengthPenalty), LengthPenalty, "The length penalty must be a non-negative number.");
        if (NBest < 1) throw new ArgumentOutOfRangeException(nameof(NBest), NBest, "NBest must be at least 1.");
        if (!(MaxLengthRatio >= 0f) || float.IsInfinity(MaxLengthRatio)) throw new ArgumentOutOfRangeException(nameof(MaxLengthRatio), MaxLengthRatio, "MaxLengthRatio must be a non-negative number.");
        if (MaxLengthOffset < 0) throw new ArgumentOutOfRangeException(nameof(MaxLengthOffset), MaxLengthOffset, "MaxLengthOffset must be non-negative.");
        if (MaxLengthRatio == 0f && MaxLengthOffset == 0) throw new ArgumentOutOfRangeException(nameof(MaxLengthOffset), MaxLengthOffset, "MaxLengthRatio and MaxLengthOffset allow no output token.");
        if (Sample && BeamWidth != 1) throw new ArgumentOutOfRangeException(nameof(BeamWidth), BeamWidth, "Sampling draws one output per source: set BeamWidth to 1.");
        if (!(Temperature >= 0f) || float.IsInfinity(Temperature)) throw new ArgumentOutOfRangeException(nameof(Temperature), Temperature, "Temperature must be ≥ 0 (0 = greedy).");
        if (TopK < 0) throw new ArgumentOutOfRangeException(nameof(TopK), TopK, "TopK must be ≥ 0 (0 = off).");
        if (!(TopP > 0f && TopP <= 1f)) throw new ArgumentOutOfRangeException(nameof(TopP), TopP, "TopP must be in (0, 1].");
        if (BatchSize < 1) throw new ArgumentOutOfRangeException(nameof(BatchSize), BatchSize, "BatchSize must be at least 1.");
        return this;
    }

    /// <summary>Output tokens allowed for a source of <paramref name="sourceLength"/> tokens under a decoder of <paramref name="maxLength"/> positions.</summary>
    /// <param name="sourceLength">Source tokens.</param>
    /// <param name="maxLength">The decoder's positions (start token included).</param>
    public int MaxOutputTokens(int sourceLength, int maxLength) =>
        (int)Math.Clamp(Math.Floor(MaxLengthRatio * (double)sourceLength) + MaxLengthOffset, 1, Math.Max(1, maxLength - 1));
}
