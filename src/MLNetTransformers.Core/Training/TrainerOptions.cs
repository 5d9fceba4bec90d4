namespace MLNetTransformers.Core.Training;

/// <summary>Options of the training loop.</summary>
public sealed record TrainerOptions
{
    /// <summary>Peak learning rate.</summary>
    public float LearningRate { get; init; } = 3e-4f;
    /// <summary>Steps of linear warmup from 0.</summary>
    public int WarmupSteps { get; init; }
    /// <summary>Step at which decay reaches its minimum; 0 keeps the peak after warmup.</summary>
    public int TotalSteps { get; init; }
    /// <summary>Decay shape after warmup.</summary>
    public DecayKind Decay { get; init; } = DecayKind.Cosine;
    /// <summary>Final learning rate as a fraction of the peak.</summary>
    public float MinLearningRateRatio { get; init; } = 0.1f;
    /// <summary>Clip the global gradient norm to this (0 = no clipping).</summary>
    public float MaxGradNorm { get; init; } = 1f;
    /// <summary>Optimizer settings.</summary>
    public AdamWOptions AdamW { get; init; } = new();
}
