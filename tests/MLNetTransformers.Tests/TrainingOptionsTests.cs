using Microsoft.ML;
using MLNetTransformers.Classification;
using MLNetTransformers.Core.Layers;
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
        lm.EvaluateEverySteps = 50; // the old name still works
        Assert.Equal(50, lm.ValidateEverySteps);
        Assert.Equal("MaxSteps", Assert.Throws<ArgumentOutOfRangeException>(() => Ml.Transforms.Text.TrainLanguageModel(new LanguageModelOptions { MaxSteps = null })).ParamName);
        Assert.Equal("Epochs", Assert.Throws<ArgumentOutOfRangeException>(() => Ml.Transforms.Text.TrainLanguageModel(new LanguageModelOptions { Epochs = 3 })).ParamName);
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
