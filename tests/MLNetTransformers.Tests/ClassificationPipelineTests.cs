using Microsoft.ML;
using Microsoft.ML.Data;
using MLNetTransformers.Classification;
using Xunit;

namespace MLNetTransformers.Tests;

public class ClassificationPipelineTests
{
    [Fact]
    public void BinaryClassifier_TrainsInAPipeline_AndEvaluates()
    {
        var ml = new MLContext(seed: 1);
        var split = ml.Data.TrainTestSplit(TestData.Reviews(ml), testFraction: 0.2, seed: 1);
        var pipeline = ml.Transforms.CopyColumns("Text", "Text")
            .Append(ml.BinaryClassification.Trainers.TransformerClassifier(TestData.Tiny()));
        var model = pipeline.Fit(split.TrainSet);
        var scored = model.Transform(split.TestSet);
        var metrics = ml.BinaryClassification.Evaluate(scored);
        Assert.True(metrics.Accuracy > 0.8, $"accuracy {metrics.Accuracy}");
        Assert.True(metrics.AreaUnderRocCurve > 0.85, $"auc {metrics.AreaUnderRocCurve}");

        var engine = ml.Model.CreatePredictionEngine<Review, ReviewPrediction>(model);
        var p = engine.Predict(new Review { Text = "The acting was wonderful and the story is brilliant." });
        Assert.True(p.PredictedLabel, $"probability {p.Probability}");
        Assert.InRange(p.Probability, 0.5f, 1f);
    }
}
