namespace MLNetTransformers.Core.Training;

/// <summary>Options of <see cref="TrainingLoop"/>: how long to train, when to validate and report.</summary>
public sealed record TrainingLoopOptions
{
    /// <summary>Optimizer, learning-rate schedule and gradient clipping.</summary>
    public TrainerOptions Optimization { get; init; } = new();
    /// <summary>Passes over the batch source (a source that never ends makes one pass to <see cref="MaxSteps"/>).</summary>
    public int Epochs { get; init; } = 1;
    /// <summary>Steps at most.</summary>
    public long MaxSteps { get; init; } = long.MaxValue;
    /// <summary>Batches in one epoch, when known: no mid-epoch report is made at the step that closes an epoch.</summary>
    public int StepsPerEpoch { get; init; }
    /// <summary>Stop once this much time has passed since training started (<see cref="ElapsedBefore"/> included).</summary>
    public TimeSpan? TimeBudget { get; init; }
    /// <summary>
    /// With a <see cref="TimeBudget"/>: after the first steps are timed (20, or half of <see cref="MaxSteps"/>), move the
    /// end of the decay to the step the budget will reach, so the schedule ends when the budget does.
    /// </summary>
    public bool FitScheduleToTimeBudget { get; init; }
    /// <summary>When the schedule is fitted to the budget, also set the warmup to this fraction of the fitted steps (never below the initial warmup); null keeps it.</summary>
    public float? FittedWarmupFraction { get; init; }
    /// <summary>Time the trainer spent before the loop (tokenizer, an earlier run): counts against the budget and in reports.</summary>
    public TimeSpan ElapsedBefore { get; init; }
    /// <summary>Validate (and report) at the end of every epoch.</summary>
    public bool ValidateEachEpoch { get; init; } = true;
    /// <summary>Also validate (and report) every this many steps (0 = never mid-epoch).</summary>
    public int ValidateEverySteps { get; init; }
    /// <summary>Report every this many steps (0 = only with validations and at epoch ends).</summary>
    public int ReportEverySteps { get; init; }
    /// <summary>Stop after this many end-of-epoch validations without improvement (0 = never stop early).</summary>
    public int Patience { get; init; }
    /// <summary>What makes validation weights better (<see cref="ValidationCriterion.Metric"/> falls back to the loss when a score has no metric).</summary>
    public ValidationCriterion Criterion { get; init; } = ValidationCriterion.Loss;
    /// <summary>Decay of an exponential moving average of the weights that validation scores and the run keeps instead of the raw weights (0 = off).</summary>
    public float WeightAveraging { get; init; }
    /// <summary>Stops the run within one step; the best weights so far are kept.</summary>
    public CancellationToken Cancellation { get; init; }

    /// <summary>Throws naming the first invalid setting.</summary>
    public TrainingLoopOptions Validate()
    {
        if (Epochs < 0) throw new ArgumentOutOfRangeException(nameof(Epochs), Epochs, "Epochs must be non-negative.");
        if (MaxSteps < 0) throw new ArgumentOutOfRangeException(nameof(MaxSteps), MaxSteps, "MaxSteps must be non-negative.");
        if (ValidateEverySteps < 0) throw new ArgumentOutOfRangeException(nameof(ValidateEverySteps), ValidateEverySteps, "ValidateEverySteps must be non-negative.");
        if (ReportEverySteps < 0) throw new ArgumentOutOfRangeException(nameof(ReportEverySteps), ReportEverySteps, "ReportEverySteps must be non-negative.");
        if (Patience < 0) throw new ArgumentOutOfRangeException(nameof(Patience), Patience, "Patience must be non-negative.");
        if (!(WeightAveraging >= 0f && WeightAveraging < 1f)) throw new ArgumentOutOfRangeException(nameof(WeightAveraging), WeightAveraging, "WeightAveraging must be in [0, 1).");
        if (TimeBudget is { } t && t <= TimeSpan.Zero) throw new ArgumentOutOfRangeException(nameof(TimeBudget), t, "TimeBudget must be positive.");
        return this;
    }
}
