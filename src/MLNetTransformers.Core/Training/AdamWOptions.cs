namespace MLNetTransformers.Core.Training;

/// <summary>Hyper-parameters of <see cref="AdamW"/>.</summary>
public sealed record AdamWOptions
{
    /// <summary>β₁.</summary>
    public float Beta1 { get; init; } = 0.9f;
    /// <summary>β₂.</summary>
    public float Beta2 { get; init; } = 0.999f;
    /// <summary>ε.</summary>
    public float Epsilon { get; init; } = 1e-8f;
    /// <summary>Decoupled weight decay λ (applied as θ ← θ − lr·λ·θ to tensors marked for decay).</summary>
    public float WeightDecay { get; init; } = 0.01f;

    /// <summary>Throws naming the first invalid setting.</summary>
    public AdamWOptions Validate()
    {
        if (!(Beta1 >= 0f && Beta1 < 1f)) throw new ArgumentException($"{nameof(Beta1)} must be in [0, 1), got {Beta1}.");
        if (!(Beta2 >= 0f && Beta2 < 1f)) throw new ArgumentException($"{nameof(Beta2)} must be in [0, 1), got {Beta2}.");
        if (!(Epsilon > 0f)) throw new ArgumentException($"{nameof(Epsilon)} must be positive, got {Epsilon}.");
        if (!(WeightDecay >= 0f)) throw new ArgumentException($"{nameof(WeightDecay)} must be non-negative, got {WeightDecay}.");
        return this;
    }
}
