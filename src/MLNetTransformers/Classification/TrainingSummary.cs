namespace MLNetTransformers.Classification;

/// <summary>How a training run ended.</summary>
/// <param name="Steps">Optimisation steps taken.</param>
/// <param name="StopReason">Why training stopped.</param>
/// <param name="BestValidationAccuracy">Accuracy of the kept weights on the validation set, if one was given.</param>
/// <param name="Duration">Wall-clock time of tokenizer building and training.</param>
public sealed record TrainingSummary(long Steps, string StopReason, double? BestValidationAccuracy, TimeSpan Duration);
