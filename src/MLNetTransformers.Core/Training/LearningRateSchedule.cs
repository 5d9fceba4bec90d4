namespace MLNetTransformers.Core.Training;

/// <summary>Linear warmup from 0 to the peak over <see cref="WarmupSteps"/>, then decay to <see cref="MinRatio"/>·peak at <see cref="TotalSteps"/>.</summary>
/// <param name="Peak">Peak learning rate.</param>
/// <param name="WarmupSteps">Steps of linear warmup from 0.</param>
/// <param name="TotalSteps">Step at which the decay reaches its minimum.</param>
/// <param name="Decay">Decay shape after warmup.</param>
/// <param name="MinRatio">Final learning rate as a fraction of the peak.</param>
public sealed record LearningRateSchedule(float Peak, int WarmupSteps, int TotalSteps, DecayKind Decay = DecayKind.Cosine, float MinRatio = 0.1f)
{
    /// <summary>Throws naming the first invalid setting.</summary>
    public LearningRateSchedule Validate()
    {
        if (!(Peak > 0f) || float.IsInfinity(Peak)) throw new ArgumentException($"Learning rate must be positive and finite, got {Peak}.");
        if (WarmupSteps < 0) throw new ArgumentException($"Warmup steps must be non-negative, got {WarmupSteps}.");
        if (TotalSteps < 0) throw new ArgumentException($"Total steps must be non-negative, got {TotalSteps}.");
        if (!(MinRatio >= 0f && MinRatio <= 1f)) throw new ArgumentException($"Minimum learning-rate ratio must be in [0, 1], got {MinRatio}.");
        return this;
    }

    /// <summary>Learning rate for 0-based <paramref name="step"/>.</summary>
    /// <param name="step">0-based optimisation step.</param>
    public float At(long step)
    {
        if (step < WarmupSteps) return Peak * (step + 1) / WarmupSteps;
        if (Decay == DecayKind.Constant || TotalSteps <= WarmupSteps) return Peak;
        double progress = Math.Clamp((double)(step - WarmupSteps) / (TotalSteps - WarmupSteps), 0, 1);
        double factor = Decay == DecayKind.Linear ? 1 - progress : 0.5 * (1 + Math.Cos(Math.PI * progress));
        return (float)(Peak * (MinRatio + (1 - MinRatio) * factor));
    }
}
