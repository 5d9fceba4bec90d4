using Microsoft.ML;
using MLNetTransformers.Interpretability;
using Xunit;

namespace MLNetTransformers.Tests;

/// <summary>Attention maps of the classifier and the language model: shapes, rows summing to 1, the causal mask, heatmaps.</summary>
public class AttentionMapTests(TinyLanguageModel lm) : IClassFixture<TinyLanguageModel>
{
    private static void RowsSumToOne(AttentionMap map)
    {
        for (int r = 0; r < map.Rows; r++)
            Assert.Equal(1.0, Enumerable.Range(0, map.Columns).Sum(c => (double)map.Weight(r, c)), 4);
    }

    [Fact]
    public void Classifier_GivesOneMapPerLayerAndHead_OverItsTokens()
    {
        var ml = new MLContext(seed: 1);
        var classifier = ml.BinaryClassification.Trainers.TransformerClassifier(TestData.Tiny(epochs: 1)).Fit(TestData.Reviews(ml));
        var maps = classifier.AttentionMaps("a wonderful and moving film");
        Assert.Equal(2 * 4, maps.Count);
        Assert.Equal("[CLS]", maps[0].QueryTokens[0]);
        Assert.Equal("[SEP]", maps[0].KeyTokens[^1]);
        Assert.Contains("wonderful", string.Concat(maps[0].KeyTokens));
        Assert.All(maps, m => { Assert.Equal(m.Rows, m.Columns); RowsSumToOne(m); });
        Assert.NotEqual(maps[0].Weights, maps[1].Weights); // heads differ
        // The same encoder as a featurizer attends the same way.
        var featurizer = new Featurization.EncoderFeaturizerTransformer(classifier.Tokenizer, classifier.Model.Encoder);
        Assert.Equal(maps.Select(m => m.Weights), featurizer.AttentionMaps("a wonderful and moving film").Select(m => m.Weights));
        // Drawn as a heatmap, each cell shows the map's weight.
        var plot = Plots.AttentionHeatmap.Create(maps[3]);
        Assert.Equal(maps[3].Weight(1, 2), Plots.AttentionHeatmap.Shown(plot, maps[3], 1, 2), 6);
        string png = Path.Combine(Directory.CreateTempSubdirectory().FullName, "map.png");
        Plots.AttentionHeatmap.Save(maps[3], png);
        Assert.True(new FileInfo(png).Length > 1000);
    }

    [Fact]
    public void LanguageModel_GivesCausalMaps_NothingAboveTheDiagonal()
    {
        var maps = lm.Lm.AttentionMaps("the cat sat");
        Assert.Equal(2 * 4, maps.Count);
        Assert.Equal(1 + "the cat sat".Length, maps[0].Rows); // the document separator, then one token per character
        foreach (var m in maps)
        {
            RowsSumToOne(m);
            for (int r = 0; r < m.Rows; r++)
                for (int c = r + 1; c < m.Columns; c++) Assert.Equal(0f, m.Weight(r, c));
        }
        Assert.Contains("\"query_tokens\"", AttentionMap.ToJson(maps));
    }
}
