namespace MLNetTransformers.LanguageModeling;

/// <summary>How a language-model training run ended.</summary>
/// <param name="Steps">Steps taken.</param>
/// <param name="StopReason">Why it stopped.</param>
/// <param name="BestValidationLoss">Held-out loss of the kept weights (nats/token), if there was held-out text.</param>
/// <param name="Duration">Wall-clock time.</param>
public sealed record LanguageModelSummary(long Steps, string StopReason, double? BestValidationLoss, TimeSpan Duration)
{
    /// <summary>Next-sentence prediction's accuracy over the last tenth of the steps (at least the last step), when pretraining had it.</summary>
    public double? NextSentenceAccuracy { get; init; }
    /// <summary>exp(best validation loss).</summary>
    public double? BestValidationPerplexity => BestValidationLoss is { } l ? Math.Exp(l) : null;
}
