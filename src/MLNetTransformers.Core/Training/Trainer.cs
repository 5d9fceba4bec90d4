namespace MLNetTransformers.Core.Training;

/// <summary>
/// One optimisation step (the loop around it is <see cref="TrainingLoop"/>): zero gradients, forward/backward, check the loss and gradient are finite, clip by global
/// norm, AdamW step with the scheduled learning rate. A non-finite loss or gradient throws
/// <see cref="TrainingDivergedException"/> before the update, leaving the previous weights intact.
/// </summary>
public sealed class Trainer
{
    private LearningRateSchedule _schedule;

    /// <summary>Creates a trainer (and a fresh optimizer unless one is given, e.g. from a checkpoint).</summary>
    /// <param name="model">The model to train.</param>
    /// <param name="options">Schedule, clipping and optimizer settings (null = defaults).</param>
    /// <param name="optimizer">An optimizer to continue with (e.g. from a checkpoint); null = a fresh one.</param>
    public Trainer(ITrainableModel model, TrainerOptions? options = null, AdamW? optimizer = null)
    {
        Model = model;
        Options = options ?? new TrainerOptions();
        if (!(Options.MaxGradNorm >= 0f)) throw new ArgumentException($"{nameof(TrainerOptions.MaxGradNorm)} must be non-negative, got {Options.MaxGradNorm}.");
        _schedule = new LearningRateSchedule(Options.LearningRate, Options.WarmupSteps, Options.TotalSteps, Options.Decay, Options.MinLearningRateRatio).Validate();
        Optimizer = optimizer ?? new AdamW(model.Parameters, Options.AdamW);
        if (Optimizer.M.Length != model.Parameters.Count)
            throw new ArgumentException($"The optimizer holds state for {Optimizer.M.Length} parameters; the model has {model.Parameters.Count}.", nameof(optimizer));
    }

    /// <summary>The model being trained.</summary>
    public ITrainableModel Model { get; }
    /// <summary>Loop options.</summary>
    public TrainerOptions Options { get; }
    /// <summary>The optimizer (its <see cref="AdamW.Step"/> counts completed steps).</summary>
    public AdamW Optimizer { get; }

    /// <summary>The learning-rate schedule in effect (warmup and end of decay move when a time budget is fitted).</summary>
    public LearningRateSchedule Schedule => _schedule;

    /// <summary>Moves the end of the decay, and optionally the warmup (e.g. once a time budget tells how many steps will fit).</summary>
    /// <param name="totalSteps">Step at which the decay reaches its minimum.</param>
    /// <param name="warmupSteps">New warmup length (null = unchanged).</param>
    public void SetTotalSteps(int totalSteps, int? warmupSteps = null) =>
        _schedule = (_schedule with { TotalSteps = totalSteps, WarmupSteps = warmupSteps ?? _schedule.WarmupSteps }).Validate();

    /// <summary>One optimisation step on <paramref name="batch"/>.</summary>
    /// <param name="batch">Ids, mask and labels or targets as the model reads them.</param>
    public StepResult TrainStep(TokenBatch batch)
    {
        long step = Optimizer.Step;
        var ps = Model.Parameters;
        ps.ZeroGrad();
        float loss = Model.ForwardBackward(batch);
        if (!float.IsFinite(loss)) throw new TrainingDivergedException(step, "loss", loss);
        float norm = GradientClipping.GlobalNorm(ps.Grad);
        if (!float.IsFinite(norm)) throw new TrainingDivergedException(step, "gradient norm", norm);
        float lr = _schedule.At(step);
        Optimizer.Update(lr, GradientClipping.ScaleFor(norm, Options.MaxGradNorm)); // clipping read into the update: one pass over the gradients
        return new StepResult(step, loss, norm, lr);
    }
}
