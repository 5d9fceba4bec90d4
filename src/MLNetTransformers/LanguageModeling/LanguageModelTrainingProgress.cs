namespace MLNetTransformers.LanguageModeling;

/// <summary>A progress report of language-model training.</summary>
/// <param name="Step">Steps done.</param>
/// <param name="MaxSteps">Steps planned.</param>
/// <param name="TrainLoss">Mean training loss (nats/token) since the previous report.</param>
/// <param name="TokensPerSecond">Training throughput since the previous report.</param>
/// <param name="ValidationLoss">Held-out loss (nats/token), when evaluated.</param>
/// <param name="Elapsed">Time since training started.</param>
public readonly record struct LanguageModelTrainingProgress(long Step, long MaxSteps, float TrainLoss, double TokensPerSecond, double? ValidationLoss, TimeSpan Elapsed)
{
    /// <summary>Masked-LM pretraining with next-sentence prediction: its mean loss since the previous report (the masked-token loss is <see cref="TrainLoss"/> minus it).</summary>
    public double? NextSentenceLoss { get; init; }
    /// <summary>Share of next-sentence predictions that were right since the previous report.</summary>
    public double? NextSentenceAccuracy { get; init; }
    /// <summary>exp(validation loss).</summary>
    public double? ValidationPerplexity => ValidationLoss is { } l ? Math.Exp(l) : null;

    /// <summary>One line for logs and the CLI.</summary>
    public override string ToString() =>
        $"step {Step}/{MaxSteps} loss {TrainLoss:F4} {TokensPerSecond:F0} tok/s" +
        (ValidationLoss is { } v ? $" val_loss {v:F4} val_ppl {Math.Exp(v):F2}" : "") +
        (NextSentenceAccuracy is { } a ? $" nsp_loss {NextSentenceLoss:F4} nsp_acc {a:P1}" : "") + $" [{Elapsed:hh\\:mm\\:ss}]";
}
