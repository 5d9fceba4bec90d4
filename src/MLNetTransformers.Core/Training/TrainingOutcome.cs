namespace MLNetTransformers.Core.Training;

/// <summary>How a run of <see cref="TrainingLoop"/> ended.</summary>
/// <param name="Steps">Optimisation steps taken.</param>
/// <param name="StopReason">Why the loop stopped (one of the <see cref="TrainingLoop"/> constants, or an early-stopping text).</param>
/// <param name="BestStep">The step whose weights were kept (0 when validation never chose any).</param>
/// <param name="Best">The validation result of the kept weights, when there was validation.</param>
/// <param name="Elapsed">Time since training started.</param>
public sealed record TrainingOutcome(long Steps, string StopReason, long BestStep, ValidationScore? Best, TimeSpan Elapsed);
