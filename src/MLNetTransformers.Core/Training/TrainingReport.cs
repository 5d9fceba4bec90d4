namespace MLNetTransformers.Core.Training;

/// <summary>A progress report of <see cref="TrainingLoop"/>.</summary>
/// <param name="Epoch">0-based epoch.</param>
/// <param name="Step">Optimisation steps done.</param>
/// <param name="TotalSteps">Steps planned (the end of the learning-rate decay).</param>
/// <param name="TrainLoss">Mean training loss since the previous report (NaN when no step ran since).</param>
/// <param name="TokensPerSecond">Real tokens per second of training since the previous report (validation excluded).</param>
/// <param name="Validation">The validation result, when validation ran for this report.</param>
/// <param name="Elapsed">Time since training started (including what the trainer did before the loop).</param>
/// <param name="EndOfEpoch">Whether this report closes an epoch.</param>
public readonly record struct TrainingReport(int Epoch, long Step, long TotalSteps, float TrainLoss, double TokensPerSecond,
    ValidationScore? Validation, TimeSpan Elapsed, bool EndOfEpoch);
