using System.Text.Json;
using Microsoft.ML;
using Microsoft.ML.Data;
using Xunit;

namespace MLNetTransformers.Onnx.Tests;

/// <summary>A BERT-style encoder exported by PyTorch (not by this project), run in an ML.NET pipeline.</summary>
public class ForeignModelTests
{
    private static string Fixture(string name) => Path.Combine(AppContext.BaseDirectory, "Fixtures", name);

    public sealed class Row
    {
        [VectorType(6)] public long[] TokenIds { get; set; } = [];
        [VectorType(6)] public long[] AttentionMask { get; set; } = [];
    }

    [Fact]
    public void PyTorchExportedEncoder_PoolsLastHiddenStateLikePyTorch()
    {
        using var doc = JsonDocument.Parse(File.ReadAllText(Fixture("tiny_bert.json")));
        var ids = doc.RootElement.GetProperty("input_ids").EnumerateArray().Select(r => r.EnumerateArray().Select(v => v.GetInt64()).ToArray()).ToArray();
        var mask = doc.RootElement.GetProperty("attention_mask").EnumerateArray().Select(r => r.EnumerateArray().Select(v => v.GetInt64()).ToArray()).ToArray();
        var hidden = doc.RootElement.GetProperty("last_hidden_state").EnumerateArray()
            .Select(r => r.EnumerateArray().Select(t => t.EnumerateArray().Select(v => v.GetSingle()).ToArray()).ToArray()).ToArray();

        var ml = new MLContext(1);
        var data = ml.Data.LoadFromEnumerable(ids.Select((r, i) => new Row { TokenIds = r, AttentionMask = mask[i] }));
        // No TokenTypeIds column: the model's token_type_ids input gets zeros, as for single sentences.
        var options = new OnnxModelOptions { ModelFile = Fixture("tiny_bert.onnx"), PoolOutput = "last_hidden_state", OutputColumns = new() };
        var model = ml.Transforms.ApplyTransformerOnnxModel(options).Fit(data);
        Assert.Equal(new[] { "input_ids", "attention_mask", "token_type_ids" }.Order(), model.BoundInputs.Keys.Order());
        var pooled = model.Transform(data).GetColumn<float[]>("Embedding").ToArray();
        for (int b = 0; b < ids.Length; b++)
        {
            int real = (int)mask[b].Sum();
            for (int h = 0; h < 16; h++)
            {
                float expected = Enumerable.Range(0, real).Average(t => hidden[b][t][h]);
                Assert.True(Math.Abs(expected - pooled[b][h]) <= 1e-4f * Math.Max(1f, Math.Abs(expected)), $"row {b} dim {h}: {pooled[b][h]} vs PyTorch {expected}");
            }
        }
        // Weight import refuses it (not exported here), naming why.
        Assert.Contains("not exported by MLNetTransformers", Assert.Throws<NotSupportedException>(() => OnnxImporter.Import(Fixture("tiny_bert.onnx"))).Message);
    }
}
