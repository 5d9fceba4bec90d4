namespace MLNetTransformers.Classification;

/// <summary>A progress report of the transformer classification trainer.</summary>
/// <param name="Epoch">0-based epoch.</param>
/// <param name="Step">Optimisation steps done.</param>
/// <param name="TotalSteps">Steps planned (epochs × steps per epoch).</param>
/// <param name="TrainLoss">Mean training loss since the previous report.</param>
/// <param name="TokensPerSecond">Training throughput since the previous report (real tokens, padding excluded).</param>
/// <param name="ValidationAccuracy">Accuracy on the validation set, when one was evaluated for this report (a regressor's: Pearson's r).</param>
/// <param name="ValidationLoss">Mean cross-entropy on the validation set, when evaluated (a regressor's: mean squared error).</param>
/// <param name="Elapsed">Time since training started.</param>
/// <param name="EndOfEpoch">Whether this report closes an epoch.</param>
public readonly record struct ClassificationTrainingProgress(int Epoch, long Step, long TotalSteps, float TrainLoss, double TokensPerSecond,
    double? ValidationAccuracy, double? ValidationLoss, TimeSpan Elapsed, bool EndOfEpoch)
{
    /// <summary>Whether the run is a regression (the validation metric is Pearson's r, the loss a squared error).</summary>
    public bool Regression { get; init; }

    /// <summary>The loop's report as the classifier, regressor and bi-encoder trainers give it.</summary>
    internal static ClassificationTrainingProgress From(TrainingReport r, bool regression) =>
        new(r.Epoch, r.Step, r.TotalSteps, r.TrainLoss, r.TokensPerSecond, r.Validation?.Metric, r.Validation?.Loss, r.Elapsed, r.EndOfEpoch) { Regression = regression };

    /// <summary>One line for logs and the CLI.</summary>
    public override string ToString() =>
        $"epoch {Epoch + 1} step {Step}/{TotalSteps} loss {TrainLoss:F4} {TokensPerSecond:F0} tok/s" +
        (ValidationAccuracy is { } a ? (Regression ? $" val_pearson {a:F4} val_mse {ValidationLoss:F4}" : $" val_acc {a:P2} val_loss {ValidationLoss:F4}") : "")
        + $" [{Elapsed:hh\\:mm\\:ss}]";
}
