using Microsoft.ML;
using Microsoft.ML.Data;
using MLNetTransformers.Classification;
using MLNetTransformers.Pretrained;
using Xunit;

namespace MLNetTransformers.Onnx.Tests;

/// <summary>all-MiniLM-L6-v2 fine-tuned in an ML.NET pipeline: it learns, saves and loads, exports to ONNX (with token_type_ids) and runs int8.</summary>
public class PretrainedFineTuningTests
{
    [Fact]
    public void MiniLm_FineTunes_SavesLoads_ExportsToOnnx_AndRunsInt8()
    {
        var ml = new MLContext(seed: 1);
        var all = ml.Data.CreateEnumerable<Review>(ml.Data.LoadFromTextFile<Review>(Path.Combine(AppContext.BaseDirectory, "Data", "reviews.tsv"), '\t', hasHeader: true), false).ToList();
        var train = ml.Data.LoadFromEnumerable(all.Where((_, i) => i % 12 == 0)); // 200 rows of each part of the file
        var test = ml.Data.LoadFromEnumerable(all.Where((_, i) => i % 12 == 6));
        var options = new TransformerClassifierOptions { Pretrained = MiniLM.Load(maxTokens: 32), Epochs = 3, BatchSize = 8, Seed = 1, ValidationFraction = 0 };
        Assert.Equal((5e-5f, 0, false, Core.Training.ValidationCriterion.Metric), (options.LearningRate, options.NGramBuckets, options.Refit, options.BestWeightsBy)); // the fine-tuning defaults
        Assert.Equal(Core.Training.ValidationCriterion.Loss, new TransformerClassifierOptions().BestWeightsBy);
        options.LearningRate = 1e-4f;
        var model = ml.BinaryClassification.Trainers.TransformerClassifier(options).Fit(train);
        Assert.Equal(384, model.Model.Config.ModelDim);
        Assert.Equal(0, model.Model.Config.NGramBuckets);
        var before = ml.BinaryClassification.Evaluate(model.Transform(test));
        // Half the reviews turn on negation or contrast; 75 steps on 200 of them lift the pretrained encoder well above chance.
        Assert.True(before.Accuracy >= 0.65, $"accuracy {before.Accuracy:P1} after fine-tuning on 200 reviews");

        string dir = Directory.CreateTempSubdirectory("minilm-ft").FullName;
        try
        {
            string path = Path.Combine(dir, "model.mlnt");
            TransformerModel.Save(ml, model, train.Schema, path);
            var loaded = TransformerModel.Load(new MLContext(2), path, out _);
            var p0 = model.Transform(test).GetColumn<float>("Probability").ToArray();
            Assert.Equal(p0, loaded.Transform(test).GetColumn<float>("Probability").ToArray());

            // ONNX Runtime on the export (its graph has a token_type_ids input) gives the same probabilities.
            var viaOrt = model.UseOnnxRuntime().Transform(test).GetColumn<float>("Probability").ToArray();
            for (int i = 0; i < p0.Length; i++) Assert.Equal(p0[i], viaOrt[i], 3);
            var back = OnnxImporter.Import(ml.Model.ExportTransformerToOnnx(model));
            Assert.Equal(model.Model.Parameters.Data, back.Model.Parameters.Data);

            var int8 = model.WithInt8Inference().Transform(test).GetColumn<bool>("PredictedLabel").ToArray();
            var fp32 = model.Transform(test).GetColumn<bool>("PredictedLabel").ToArray();
            Assert.True(int8.Zip(fp32).Count(x => x.First == x.Second) >= 0.95 * fp32.Length, "int8 and float predictions disagree on more than 5% of the rows");
        }
        finally { Directory.Delete(dir, recursive: true); }
    }
}
