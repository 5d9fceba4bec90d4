using MLNetTransformers.Core.Layers;
using MLNetTransformers.Core.Models;
using MLNetTransformers.Core.Training;
using Xunit;

namespace MLNetTransformers.Core.Tests;

/// <summary>
/// The one loop every trainer goes through, checked once with a fake model: a single weight w pulled towards a
/// target by the loss (w − target)², and a validation whose losses the test scripts.
/// </summary>
public class TrainingLoopTests
{
    private sealed class FakeModel : ITrainableModel
    {
        public FakeModel()
        {
            Parameters = new ParameterSet();
            Parameters.Add("w", new[] { 1 }, Init.Zeros, decay: false);
            Parameters.Allocate(0);
        }
        public float Target = 1f;
        public int Steps;
        public Action? DuringStep;
        public TransformerConfig Config { get; } = new();
        public ParameterSet Parameters { get; }
        public ModelKind Kind => ModelKind.Classifier;
        public float W => Parameters.Data[0];
        public float ForwardBackward(TokenBatch batch)
        {
            Steps++;
            DuringStep?.Invoke();
            float d = W - Target;
            Parameters.Grad[0] += 2 * d;
            return d * d;
        }
        public float Loss(TokenBatch batch) => (W - Target) * (W - Target);
    }

    private static readonly TokenBatch Batch = new(1, 1, new[] { 0 });
    private static IEnumerable<TrainingBatch> Batches(int count) { for (int i = 0; i < count; i++) yield return new TrainingBatch(Batch, 1); }
    private static IEnumerable<TrainingBatch> Endless() { while (true) yield return new TrainingBatch(Batch, 1); }
    private static TrainerOptions Sgd => new() { LearningRate = 0.05f, MaxGradNorm = 0f, Decay = DecayKind.Constant };

    private sealed class Collect(List<TrainingReport> into) : IProgress<TrainingReport>
    {
        public void Report(TrainingReport value) => into.Add(value);
    }

    [Fact]
    public void Epochs_Reports_AndSteps_AreCounted()
    {
        var model = new FakeModel();
        var reports = new List<TrainingReport>();
        var outcome = new TrainingLoop(model, new TrainingLoopOptions { Optimization = Sgd, Epochs = 3, StepsPerEpoch = 4, ReportEverySteps = 2 })
            .Run(_ => Batches(4), progress: new Collect(reports));
        Assert.Equal(12, outcome.Steps);
        Assert.Equal(TrainingLoop.AllEpochs, outcome.StopReason);
        // Every 2 steps, but the step closing an epoch reports once, as the epoch's end.
        Assert.Equal(new long[] { 2, 4, 6, 8, 10, 12 }, reports.Select(r => r.Step));
        Assert.Equal(new[] { false, true, false, true, false, true }, reports.Select(r => r.EndOfEpoch));
        Assert.All(reports, r => Assert.True(r.TokensPerSecond > 0 && float.IsFinite(r.TrainLoss)));
        Assert.True(model.W > 0.3f, $"w = {model.W}: the steps moved the weight towards its target");
    }

    [Fact]
    public void MaxSteps_EndsAnEndlessSource()
    {
        var model = new FakeModel();
        var outcome = new TrainingLoop(model, new TrainingLoopOptions { Optimization = Sgd, MaxSteps = 7, ValidateEachEpoch = false }).Run(_ => Endless());
        Assert.Equal((7L, TrainingLoop.AllSteps, 7), (outcome.Steps, outcome.StopReason, model.Steps));
    }

    [Fact]
    public void Cancellation_StopsWithinOneStep_AndKeepsTheBestWeights()
    {
        var model = new FakeModel();
        using var cts = new CancellationTokenSource();
        model.DuringStep = () => { if (model.Steps == 5) cts.Cancel(); };
        int validations = 0;
        var outcome = new TrainingLoop(model, new TrainingLoopOptions { Optimization = Sgd, MaxSteps = 1000, ValidateEachEpoch = false, Cancellation = cts.Token })
            .Run(_ => Endless(), () => { validations++; return new ValidationScore(model.Loss(Batch)); });
        Assert.Equal((5L, TrainingLoop.Cancelled), (outcome.Steps, outcome.StopReason));
        Assert.Equal(5, model.Steps);
        Assert.Equal(1, validations); // the weights at the stop are scored once: they may be the best
        Assert.Equal(5, outcome.BestStep);
    }

    [Fact]
    public void TimeBudget_StopsTheRun_AndFitsTheScheduleToIt()
    {
        var model = new FakeModel();
        model.DuringStep = () => Thread.Sleep(5);
        var loop = new TrainingLoop(model, new TrainingLoopOptions
        {
            Optimization = new TrainerOptions { LearningRate = 0.01f, WarmupSteps = 2, TotalSteps = 1_000_000, Decay = DecayKind.Linear },
            MaxSteps = 1_000_000, ValidateEachEpoch = false, TimeBudget = TimeSpan.FromMilliseconds(600), FitScheduleToTimeBudget = true,
        });
        var reports = new List<TrainingReport>();
        var outcome = loop.Run(_ => Endless(), progress: new Collect(reports));
        Assert.Equal(TrainingLoop.OutOfTime, outcome.StopReason);
        Assert.InRange(outcome.Steps, 20, 200); // ~5 ms a step in 0.6 s, not a million
        Assert.InRange(reports[^1].TotalSteps, 21, 200); // the decay now ends near the budget, not at step 1,000,000
        Assert.True(outcome.Elapsed < TimeSpan.FromSeconds(5));
    }

    [Fact]
    public void TheFirstFit_SetsTheWarmupToItsFraction_OfTheStepsThatFit()
    {
        // A plan of a million steps with a short initial warmup: once the budget says how many steps fit, the warmup
        // becomes 10% of them (a warmup sized for the million would never end).
        var model = new FakeModel();
        model.DuringStep = () => Thread.Sleep(2);
        var loop = new TrainingLoop(model, new TrainingLoopOptions
        {
            Optimization = new TrainerOptions { LearningRate = 0.01f, WarmupSteps = 3, TotalSteps = 1_000_000, Decay = DecayKind.Linear },
            MaxSteps = 1_000_000, ValidateEachEpoch = false, TimeBudget = TimeSpan.FromMilliseconds(800), FitScheduleToTimeBudget = true, FittedWarmupFraction = 0.1f,
        });
        var outcome = loop.Run(_ => Endless());
        int warmup = loop.Trainer.Schedule.WarmupSteps;
        Assert.True(warmup > 3 && warmup >= outcome.Steps * 0.04 && warmup <= outcome.Steps * 0.25, $"warmup {warmup} for {outcome.Steps} steps");
    }

    [Fact]
    public void TheScheduleFit_FollowsTheSpeedAfterWarmUp()
    {
        // Slow first steps (JIT, caches), then ten times faster: a fit from the first steps alone would end the decay
        // far too early and train the rest at the floor learning rate.
        var model = new FakeModel();
        model.DuringStep = () => Thread.Sleep(model.Steps <= 20 ? 20 : 2);
        var reports = new List<TrainingReport>();
        var outcome = new TrainingLoop(model, new TrainingLoopOptions
        {
            Optimization = new TrainerOptions { LearningRate = 0.01f, WarmupSteps = 2, TotalSteps = 1_000_000, Decay = DecayKind.Linear },
            MaxSteps = 1_000_000, ValidateEachEpoch = false, TimeBudget = TimeSpan.FromSeconds(1.5), FitScheduleToTimeBudget = true, ReportEverySteps = 10,
        }).Run(_ => Endless(), progress: new Collect(reports));
        long planned = reports[^1].TotalSteps;
        Assert.True(planned > 150, $"the decay was planned for {planned} steps; {outcome.Steps} ran");
        Assert.InRange(outcome.Steps, planned * 0.7, planned * 1.3);
    }

    [Fact]
    public void TheScheduleFit_FollowsASpeedUpLateInTheRun()
    {
        // 8 ms a step until step 330 (just after the fit at 320), then 5 ms: the fit at 320 plans about 495 steps, and the run
        // goes on to about 600. Fits at doubling step counts alone (next at 640) left steps 495-600 at the floor learning
        // rate; fits halfway to the planned end follow the speed-up.
        var model = new FakeModel();
        model.DuringStep = () => Thread.Sleep(model.Steps <= 330 ? 8 : 5);
        var reports = new List<TrainingReport>();
        var outcome = new TrainingLoop(model, new TrainingLoopOptions
        {
            Optimization = new TrainerOptions { LearningRate = 0.01f, WarmupSteps = 2, TotalSteps = 1_000_000, Decay = DecayKind.Linear },
            MaxSteps = 1_000_000, ValidateEachEpoch = false, TimeBudget = TimeSpan.FromSeconds(4), FitScheduleToTimeBudget = true, ReportEverySteps = 10,
        }).Run(_ => Endless(), progress: new Collect(reports));
        long planned = reports[^1].TotalSteps;
        Assert.True(outcome.Steps <= planned * 1.08, $"{outcome.Steps} steps ran on a decay planned for {planned}");
    }

    [Fact]
    public void EarlyStopping_RestoresTheBestWeights_AndCallsBackAtEachImprovement()
    {
        var model = new FakeModel();
        // Validation losses by epoch: best at epoch 2 (0.5), then three epochs without improvement.
        var script = new Queue<double>(new[] { 0.9, 0.5, 0.7, 0.6, 0.8, 0.1 });
        var weightsAtValidation = new List<float>();
        var improvements = new List<long>();
        var outcome = new TrainingLoop(model, new TrainingLoopOptions { Optimization = Sgd, Epochs = 50, Patience = 3 })
            .Run(_ => Batches(2), () => { weightsAtValidation.Add(model.W); return new ValidationScore(script.Dequeue(), 0.5); },
                onImprovement: improvements.Add);
        Assert.StartsWith("early stopping", outcome.StopReason);
        Assert.Equal(10, outcome.Steps); // 5 epochs of 2 steps
        Assert.Equal(4, outcome.BestStep);
        Assert.Equal(new long[] { 2, 4 }, improvements);
        Assert.Equal(0.5, outcome.Best!.Value.Loss);
        Assert.Equal(weightsAtValidation[1], model.W); // the weights of epoch 2, not of the last step
        Assert.NotEqual(weightsAtValidation[^1], model.W);
    }

    [Theory]
    [InlineData(ValidationCriterion.Loss, 2)]    // epoch 1 has the lowest loss
    [InlineData(ValidationCriterion.Metric, 6)]  // epoch 3 the highest accuracy; epoch 2 ties epoch 3 on it and loses on the loss
    public void TheCriterion_PicksTheWeightsKept(ValidationCriterion criterion, long bestStep)
    {
        var model = new FakeModel();
        // (loss, accuracy) by epoch: an over-confident fine-tuning run, its loss rising while its accuracy climbs.
        var script = new Queue<ValidationScore>([new(0.38, 0.836), new(0.41, 0.875), new(0.39, 0.875), new(0.45, 0.861)]);
        var weightsAtValidation = new List<float>();
        var outcome = new TrainingLoop(model, new TrainingLoopOptions { Optimization = Sgd, Epochs = 4, Patience = 3, Criterion = criterion })
            .Run(_ => Batches(2), () => { weightsAtValidation.Add(model.W); return script.Dequeue(); });
        Assert.Equal(bestStep, outcome.BestStep);
        Assert.Equal(weightsAtValidation[(int)bestStep / 2 - 1], model.W);
    }

    [Fact]
    public void WeightAveraging_IsWhatValidationScoresAndTheRunKeeps()
    {
        var model = new FakeModel();
        var seen = new List<float>();
        new TrainingLoop(model, new TrainingLoopOptions { Optimization = Sgd, Epochs = 1, WeightAveraging = 0.9f })
            .Run(_ => Batches(30), () => { seen.Add(model.W); return new ValidationScore(1); });
        var raw = new FakeModel();
        new TrainingLoop(raw, new TrainingLoopOptions { Optimization = Sgd, Epochs = 1 }).Run(_ => Batches(30));
        Assert.Equal(seen.Single(), model.W);
        Assert.True(model.W < raw.W - 1e-3f, $"the average ({model.W}) lags the raw weights ({raw.W}) moving up to the target");
    }

    [Fact]
    public void Divergence_Throws_BeforeTheUpdate()
    {
        var model = new FakeModel { Target = float.NaN };
        var ex = Assert.Throws<TrainingDivergedException>(() =>
            new TrainingLoop(model, new TrainingLoopOptions { Optimization = Sgd, MaxSteps = 10, ValidateEachEpoch = false }).Run(_ => Endless()));
        Assert.Equal(0, ex.Step);
        Assert.Equal(0f, model.W);
    }

    [Fact]
    public void TheSameRun_IsBitForBitRepeatable()
    {
        float Run()
        {
            var m = new TransformerClassifier(ModelBehaviourTests.Tiny(), 3);
            var batch = new TokenBatch(2, 4, new[] { 1, 2, 3, 4, 5, 6, 7, 1 }, labels: new[] { 0, 1 });
            new TrainingLoop(m, new TrainingLoopOptions { Optimization = new TrainerOptions { LearningRate = 1e-3f }, Epochs = 2 })
                .Run(_ => Enumerable.Repeat(new TrainingBatch(batch, 8), 3));
            return m.Parameters.Data.Sum();
        }
        Assert.Equal(Run(), Run());
    }
}
