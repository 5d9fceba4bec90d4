using System.Diagnostics;

namespace MLNetTransformers.Core.Training;

/// <summary>
/// The one training loop of the library. A trainer supplies three things: its batches (<c>batches(epoch)</c>, with
/// its masking, shuffling or corruption done there), its loss (the model's <see cref="ITrainableModel.ForwardBackward"/>)
/// and its evaluation (<c>validate</c>, lower loss is better). The loop does the rest: optimizer steps through
/// <see cref="Trainer"/> (clipping, divergence check), the schedule fitted to the steps or the time budget,
/// cancellation within one step, reports, periodic validation with early stopping, a callback at each improvement
/// (checkpoints), weight averaging and best-weights restore.
/// </summary>
public sealed class TrainingLoop
{
    /// <summary>Stop reasons.</summary>
    public const string Cancelled = "cancelled", OutOfTime = "time budget reached", AllEpochs = "all epochs done", AllSteps = "all steps done";

    private readonly ITrainableModel _model;
    private readonly TrainingLoopOptions _o;

    /// <summary>Creates a loop over <paramref name="model"/>.</summary>
    /// <param name="model">The model to train; its weights hold the kept weights when <see cref="Run"/> returns.</param>
    /// <param name="options">Length, schedule, validation and reporting.</param>
    public TrainingLoop(ITrainableModel model, TrainingLoopOptions options)
    {
        _model = model ?? throw new ArgumentNullException(nameof(model));
        _o = (options ?? throw new ArgumentNullException(nameof(options))).Validate();
        Trainer = new Trainer(model, options.Optimization);
    }

    /// <summary>The step engine (its optimizer counts the steps).</summary>
    public Trainer Trainer { get; }

    /// <summary>Trains until the epochs, the steps or the time run out, validation stops improving, or cancellation.</summary>
    /// <param name="batches">The batches of an epoch (given its 0-based number); they may reuse one buffer.</param>
    /// <param name="validate">Scores the model's current weights in inference mode; null when there is no validation data.</param>
    /// <param name="progress">Receives the reports.</param>
    /// <param name="onImprovement">Called with the step number while the newly best weights are in the model (e.g. to checkpoint them).</param>
    /// <exception cref="TrainingDivergedException">A loss or gradient became non-finite (the weights before that step are kept).</exception>
    public TrainingOutcome Run(Func<int, IEnumerable<TrainingBatch>> batches, Func<ValidationScore>? validate = null,
        IProgress<TrainingReport>? progress = null, Action<long>? onImprovement = null)
    {
        ArgumentNullException.ThrowIfNull(batches);
        var o = _o;
        var clock = Stopwatch.StartNew();
        TimeSpan Elapsed() => o.ElapsedBefore + clock.Elapsed;
        long totalSteps = o.Optimization.TotalSteps;
        var weights = _model.Parameters.Data;
        float[]? ema = o.WeightAveraging > 0 ? (float[])weights.Clone() : null;
        float[]? raw = ema is null ? null : new float[weights.Length];
        float[]? best = null;
        ValidationScore? bestScore = null;
        long step = 0, bestStep = 0, validatedAt = -1;
        int epoch = 0, stale = 0;
        double lossSum = 0, trainSeconds = 0;
        int lossCount = 0;
        long tokens = 0;
        var window = Stopwatch.StartNew();
        string stop = AllEpochs;

        (ValidationScore? Score, bool Better) Validate()
        {
            if (validate is null) return (null, false);
            validatedAt = step;
            if (ema is not null) { weights.CopyTo(raw!, 0); ema.CopyTo(weights, 0); }
            var s = validate();
            bool better = bestScore is not { } b
                || (o.Criterion == ValidationCriterion.Metric && s.Metric is { } m && b.Metric is { } bm
                    ? m > bm || (m == bm && s.Loss < b.Loss)
                    : s.Loss < b.Loss || (s.Loss == b.Loss && (s.Metric ?? 0) > (b.Metric ?? 0)));
            if (better)
            {
                (bestScore, bestStep) = (s, step);
                best ??= new float[weights.Length];
                weights.CopyTo(best, 0);
                onImprovement?.Invoke(step);
            }
            if (ema is not null) raw!.CopyTo(weights, 0);
            return (s, better);
        }

        void Report(bool endOfEpoch, ValidationScore? score)
        {
            progress?.Report(new TrainingReport(epoch, step, totalSteps, lossCount == 0 ? float.NaN : (float)(lossSum / lossCount),
                tokens / Math.Max(trainSeconds, 1e-9), score, Elapsed(), endOfEpoch));
            lossSum = 0; lossCount = 0; tokens = 0; window.Restart();
        }

        bool MustStop()
        {
            if (o.Cancellation.IsCancellationRequested) stop = Cancelled;
            else if (o.TimeBudget is { } budget && Elapsed() >= budget) stop = OutOfTime;
            else if (step >= o.MaxSteps) stop = AllSteps;
            else return false;
            return true;
        }

        // The schedule is fitted to the budget after the first steps, then again each time the step count doubles, from
        // the speed since the previous fit: the first steps include warm-up (JIT, caches) and would end the decay early.
        long nextFit = (int)Math.Min(20, o.MaxSteps / 2 + 1), lastFitStep = 0;
        double lastFitSeconds = 0;
        bool stopped = false;
        for (; epoch < o.Epochs && !stopped; epoch++)
        {
            using (var e = batches(epoch).GetEnumerator())
                while (!(stopped = MustStop()) && e.MoveNext())
                {
                    var batch = e.Current;
                    var r = Trainer.TrainStep(batch.Tokens);
                    if (ema is not null)
                    {
                        float d = Math.Min(o.WeightAveraging, (1f + step) / (10f + step)); // short memory while the weights move fast
                        TensorPrimitives.Multiply(ema, d, ema);
                        TensorPrimitives.MultiplyAdd(weights, 1f - d, ema, ema);
                    }
                    lossSum += r.Loss; lossCount++; tokens += batch.RealTokens; step++;
                    if (o.FitScheduleToTimeBudget && o.TimeBudget is { } budget && step == nextFit)
                    {
                        double now = clock.Elapsed.TotalSeconds, perStep = (now - lastFitSeconds) / (step - lastFitStep);
                        double remaining = (budget - o.ElapsedBefore).TotalSeconds - now;
                        int fit = (int)Math.Clamp(step + remaining / perStep * 0.97, step + 1, Math.Min(o.MaxSteps, int.MaxValue));
                        // The warmup is set once, at the first fit (later fits move only the end of the decay).
                        int? warmup = lastFitStep == 0 && o.FittedWarmupFraction is { } f ? Math.Max(o.Optimization.WarmupSteps, (int)(fit * f)) : null;
                        Trainer.SetTotalSteps(fit, warmup);
                        totalSteps = fit;
                        // Fit again at twice the steps, or halfway to the planned end if that comes first: a run that speeds up
                        // after its last fit (caches, other load gone) would otherwise train past the end at the floor learning rate.
                        (lastFitStep, lastFitSeconds, nextFit) = (step, now, Math.Min(step * 2, step + Math.Max(20, (fit - step) / 2)));
                    }
                    bool validateNow = validate is not null && o.ValidateEverySteps > 0 && step % o.ValidateEverySteps == 0;
                    bool reportNow = validateNow || (o.ReportEverySteps > 0 && step % o.ReportEverySteps == 0);
                    if (reportNow && !(o.ValidateEachEpoch && o.StepsPerEpoch > 0 && step % o.StepsPerEpoch == 0))
                    {
                        trainSeconds = window.Elapsed.TotalSeconds;
                        Report(false, validateNow ? Validate().Score : null);
                    }
                }
            if (stopped) break;
            if (!o.ValidateEachEpoch) continue;
            trainSeconds = window.Elapsed.TotalSeconds;
            var (score, better) = Validate();
            stale = better ? 0 : stale + 1;
            Report(true, score);
            if (validate is not null && o.Patience > 0 && stale >= o.Patience)
            {
                stop = $"early stopping: no validation improvement for {stale} epochs";
                break;
            }
        }
        if (validatedAt != step && validate is not null)
        {
            trainSeconds = window.Elapsed.TotalSeconds;
            Report(false, Validate().Score); // the current weights may be the best
        }
        else if (lossCount > 0)
        {
            trainSeconds = window.Elapsed.TotalSeconds;
            Report(false, null);
        }
        if (best is not null) best.CopyTo(weights, 0);
        else if (ema is not null) ema.CopyTo(weights, 0);
        return new TrainingOutcome(step, stop, bestStep, bestScore, Elapsed());
    }
}
