using Microsoft.ML;
using MLNetTransformers.Classification;
using MLNetTransformers.Core.Layers;
using MLNetTransformers.Core.Training;
using MLNetTransformers.LanguageModeling;
using MLNetTransformers.Training;
using Xunit;

namespace MLNetTransformers.Tests;

/// <summary>The options base: one validation and one set of shape settings reaching every trainer's model.</summary>
public class TrainingOptionsTests
{
    private static readonly MLContext Ml = new(seed: 1);

    public static TheoryData<string> Tasks => new() { "binary", "multiclass", "language model", "masked LM" };

    private static void Create(string task, TransformerTrainingOptions o)
    {
        switch (task)
        {
            case "binary": Ml.BinaryClassification.Trainers.TransformerClassifier((TransformerClassifierOptions)o); break;
            case "multiclass": Ml.MulticlassClassification.Trainers.TransformerClassifier((TransformerClassifierOptions)o); break;
            case "language model": Ml.Transforms.Text.TrainLanguageModel((LanguageModelOptions)o); break;
            default: Ml.Transforms.Text.PretrainMaskedLanguageModel((MaskedLanguageModelOptions)o); break;
        }
    }

    private static TransformerTrainingOptions New(string task) => task switch
    {
        "binary" or "multiclass" => new TransformerClassifierOptions(),
        "language model" => new LanguageModelOptions(),
        _ => new MaskedLanguageModelOptions(),
    };

    [Theory, MemberData(nameof(Tasks))]
    public void EveryTrainer_RefusesTheSameBadShape_NamingTheSetting(string task)
    {
        var o = New(task);
        (o.ModelDim, o.Heads) = (100, 3);
        Assert.Equal("Heads", Assert.Throws<ArgumentOutOfRangeException>(() => Create(task, o)).ParamName);
        o = New(task);
        o.LearningRate = float.NaN;
        Assert.Equal("LearningRate", Assert.Throws<ArgumentOutOfRangeException>(() => Create(task, o)).ParamName);
        o = New(task);
        o.MaxGradNorm = -1;
        Assert.Equal("MaxGradNorm", Assert.Throws<ArgumentOutOfRangeException>(() => Create(task, o)).ParamName);
        o = New(task);
        o.PositionalEncoding = (PositionalEncodingKind)7;
        Assert.Equal("PositionalEncoding", Assert.Throws<ArgumentOutOfRangeException>(() => Create(task, o)).ParamName);
    }

    [Fact]
    public void SharedDefaults_AreTheClassifiersForPretraining_AndTheLanguageModelStatesItsOwn()
    {
        var cls = new TransformerClassifierOptions();
        var mlm = new MaskedLanguageModelOptions();
        Assert.Equal((cls.Layers, cls.ModelDim, cls.Heads, cls.FeedForwardDim), (mlm.Layers, mlm.ModelDim, mlm.Heads, mlm.FeedForwardDim));
        var lm = new LanguageModelOptions();
        Assert.Equal((4, 2000, 200), (lm.Layers, lm.MaxSteps, lm.ValidateEverySteps));
#pragma warning disable CS0618 // the old name still works, marked obsolete
        lm.EvaluateEverySteps = 50;
#pragma warning restore CS0618
        Assert.Equal(50, lm.ValidateEverySteps);
        Assert.Equal("MaxSteps", Assert.Throws<ArgumentOutOfRangeException>(() => Ml.Transforms.Text.TrainLanguageModel(new LanguageModelOptions { MaxSteps = null })).ParamName);
        Assert.Equal("Epochs", Assert.Throws<ArgumentOutOfRangeException>(() => Ml.Transforms.Text.TrainLanguageModel(new LanguageModelOptions { Epochs = 3 })).ParamName);
        Assert.Equal("EarlyStoppingPatience", Assert.Throws<ArgumentOutOfRangeException>(() => Ml.Transforms.Text.TrainLanguageModel(new LanguageModelOptions { EarlyStoppingPatience = 2 })).ParamName);
    }

    [Fact]
    public void OptimizerSettings_AreOptionsWithEachTasksDefault_AndReachTheTrainer()
    {
        // The defaults each task used to fix inside Fit, now stated as options.
        var cls = new TransformerClassifierOptions().Optimization(10, 100);
        Assert.Equal((DecayKind.Linear, 0f, 0.9f, 0.999f), (cls.Decay, cls.MinLearningRateRatio, cls.AdamW.Beta1, cls.AdamW.Beta2));
        var lm = new LanguageModelOptions().Optimization(10, 100);
        Assert.Equal((DecayKind.Cosine, 0.1f, 0.99f), (lm.Decay, lm.MinLearningRateRatio, lm.AdamW.Beta2));
        Assert.Equal(0.98f, new Translation.Seq2SeqOptions().Optimization(10, 100).AdamW.Beta2);
        Assert.Equal(0.999f, new MaskedLanguageModelOptions().Optimization(10, 100).AdamW.Beta2);

        var set = new TransformerClassifierOptions { AdamBeta1 = 0.8f, AdamBeta2 = 0.95f, AdamEpsilon = 1e-6f, LearningRateDecay = DecayKind.Cosine, MinLearningRateRatio = 0.2f }.Optimization(10, 100);
        Assert.Equal((0.8f, 0.95f, 1e-6f, DecayKind.Cosine, 0.2f), (set.AdamW.Beta1, set.AdamW.Beta2, set.AdamW.Epsilon, set.Decay, set.MinLearningRateRatio));
        Assert.Equal("AdamBeta2", Assert.Throws<ArgumentOutOfRangeException>(() => Ml.BinaryClassification.Trainers.TransformerClassifier(new TransformerClassifierOptions { AdamBeta2 = 1f })).ParamName);
        Assert.Equal("MinLearningRateRatio", Assert.Throws<ArgumentOutOfRangeException>(() => Ml.BinaryClassification.Trainers.TransformerClassifier(new TransformerClassifierOptions { MinLearningRateRatio = -1f })).ParamName);
    }

    [Fact]
    public void OneProgressType_SaysWhatEachTaskMeasures()
    {
        var report = new TrainingReport(1, 20, 100, 0.5f, 1000, new ValidationScore(0.4, 0.8), TimeSpan.FromSeconds(3), true);
        string classifier = TrainingProgress.From(report, "accuracy").ToString();
        Assert.StartsWith("epoch 2 step 20/100", classifier);
        Assert.Contains("val_acc 80", classifier);
        Assert.Contains("val_loss 0.4000", classifier);
        string regressor = TrainingProgress.From(report, "pearson").ToString();
        Assert.Contains("val_pearson 0.8000", regressor);
        Assert.Contains("val_mse 0.4000", regressor);
        Assert.Contains("val_bleu 0.8000", TrainingProgress.From(report, "bleu").ToString());
        var lm = TrainingProgress.From(report with { Validation = new ValidationScore(Math.Log(5)) }, null, epochs: false);
        Assert.Null(lm.Epoch);
        Assert.Equal(5, lm.ValidationPerplexity!.Value, 6);
        Assert.StartsWith("step 20/100", lm.ToString());
        Assert.Contains("val_ppl 5.00", lm.ToString());
        Assert.Null(TrainingProgress.From(report, "accuracy").ValidationPerplexity);
    }

    [Theory]
    [InlineData("Epochs")]
    [InlineData("ValidationFraction")]
    [InlineData("EarlyStoppingPatience")]
    [InlineData("ValidateEverySteps")]
    public void MaskedLmPretraining_RefusesValidationSettingsItWouldIgnore(string setting)
    {
        var o = new MaskedLanguageModelOptions();
        switch (setting)
        {
            case "Epochs": o.Epochs = 2; break;
            case "ValidationFraction": o.ValidationFraction = 0.1; break;
            case "EarlyStoppingPatience": o.EarlyStoppingPatience = 2; break;
            default: o.ValidateEverySteps = 50; break;
        }
        var e = Assert.Throws<ArgumentOutOfRangeException>(() => Ml.Transforms.Text.PretrainMaskedLanguageModel(o));
        Assert.Equal(setting, e.ParamName);
        Assert.Contains("does not validate", e.Message);
    }

    [Fact]
    public void PositionalEncoding_ReachesTheTrainedModel()
    {
        var o = TestData.Tiny(epochs: 1);
        o.PositionalEncoding = PositionalEncodingKind.Sinusoidal;
        o.Norm = Core.Models.NormPlacement.PostNorm;
        var model = Ml.BinaryClassification.Trainers.TransformerClassifier(o).Fit(TestData.Reviews(Ml)).Model;
        Assert.Equal(PositionalEncodingKind.Sinusoidal, model.Config.PositionalEncoding);
        Assert.Equal(Core.Models.NormPlacement.PostNorm, model.Config.Norm);
        Assert.DoesNotContain(model.Parameters.Tensors, t => t.Name.StartsWith("pos.")); // fixed sinusoids have no weights
    }
}
