namespace MLNetTransformers.Training;

/// <summary>
/// A progress report of any of the library's trainers (classifier, regressor, bi-encoder, language model, masked-LM
/// pretraining, encoder-decoder), handed to the options' <c>Progress</c> and written to ML.NET's log.
/// </summary>
/// <param name="Epoch">0-based epoch; null for trainers that sample random windows instead of passing over the data (language models, masked-LM pretraining).</param>
/// <param name="Step">Optimisation steps done.</param>
/// <param name="TotalSteps">Steps planned (the end of the learning-rate decay).</param>
/// <param name="TrainLoss">Mean training loss since the previous report.</param>
/// <param name="TokensPerSecond">Training throughput since the previous report (real tokens, padding excluded).</param>
/// <param name="ValidationLoss">Loss on the held-out data, when validation ran for this report (a regressor's: mean squared error; a language model's: nats per token).</param>
/// <param name="Elapsed">Time since training started.</param>
/// <param name="EndOfEpoch">Whether this report closes an epoch.</param>
public readonly record struct TrainingProgress(int? Epoch, long Step, long TotalSteps, float TrainLoss, double TokensPerSecond,
    double? ValidationLoss, TimeSpan Elapsed, bool EndOfEpoch = false)
{
    /// <summary>The validation metric, when validation ran: a classifier's accuracy, a regressor's Pearson's r, a translator's BLEU.</summary>
    public double? ValidationMetric { get; init; }
    /// <summary>What <see cref="ValidationMetric"/> is: <c>accuracy</c>, <c>pearson</c> or <c>bleu</c>; null when the task has none.</summary>
    public string? ValidationMetricName { get; init; }
    /// <summary>Whether the loss is a language model's (nats per token), so that <see cref="ValidationPerplexity"/> applies.</summary>
    public bool LanguageModelLoss { get; init; }
    /// <summary>exp(validation loss) of a language model.</summary>
    public double? ValidationPerplexity => LanguageModelLoss && ValidationLoss is { } l ? Math.Exp(l) : null;
    /// <summary>Masked-LM pretraining with next-sentence prediction: its mean loss since the previous report (the masked-token loss is <see cref="TrainLoss"/> minus it).</summary>
    public double? NextSentenceLoss { get; init; }
    /// <summary>Share of next-sentence predictions that were right since the previous report.</summary>
    public double? NextSentenceAccuracy { get; init; }

    /// <summary>The training loop's report as a trainer gives it.</summary>
    /// <param name="r">The loop's report.</param>
    /// <param name="metricName">What the validation metric is, or null.</param>
    /// <param name="epochs">Whether the trainer passes over its data in epochs.</param>
    internal static TrainingProgress From(TrainingReport r, string? metricName, bool epochs = true) =>
        new(epochs ? r.Epoch : null, r.Step, r.TotalSteps, r.TrainLoss, r.TokensPerSecond, r.Validation?.Loss, r.Elapsed, r.EndOfEpoch)
        {
            ValidationMetric = r.Validation?.Metric, ValidationMetricName = metricName, LanguageModelLoss = !epochs,
        };

    /// <summary>One line for logs and the command line.</summary>
    public override string ToString()
    {
        string metric = ValidationMetric is not { } m ? "" : ValidationMetricName switch
        {
            "accuracy" => $" val_acc {m:P2}",
            null => $" val_metric {m:F4}",
            var name => $" val_{name} {m:F4}",
        };
        string loss = ValidationLoss is not { } v ? "" : ValidationMetricName == "pearson" ? $" val_mse {v:F4}" : $" val_loss {v:F4}";
        return (Epoch is { } e ? $"epoch {e + 1} " : "") + $"step {Step}/{TotalSteps} loss {TrainLoss:F4} {TokensPerSecond:F0} tok/s" + metric + loss +
            (ValidationPerplexity is { } ppl ? $" val_ppl {ppl:F2}" : "") +
            (NextSentenceAccuracy is { } a ? $" nsp_loss {NextSentenceLoss:F4} nsp_acc {a:P1}" : "") + $" [{Elapsed:hh\\:mm\\:ss}]";
    }
}
