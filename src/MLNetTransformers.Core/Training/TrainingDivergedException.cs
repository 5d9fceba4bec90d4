namespace MLNetTransformers.Core.Training;

/// <summary>
/// Training produced a NaN or infinite loss or gradient. Thrown before the optimizer step, so the model keeps
/// the weights of the last good step.
/// </summary>
public sealed class TrainingDivergedException : Exception
{
    /// <summary>Creates the exception for 0-based <paramref name="step"/>.</summary>
    /// <param name="step">The step that diverged.</param>
    /// <param name="what">Which quantity was not finite (e.g. "loss").</param>
    /// <param name="value">Its value.</param>
    public TrainingDivergedException(long step, string what, float value)
        : base($"Training diverged at step {step}: the {what} is {value}. The weights of step {step - 1} are kept; lower the learning rate or enable gradient clipping.")
        => (Step, What, Value) = (step, what, value);

    /// <summary>The step whose loss or gradient was not finite.</summary>
    public long Step { get; }
    /// <summary>"loss" or "gradient norm".</summary>
    public string What { get; }
    /// <summary>The offending value.</summary>
    public float Value { get; }
}
