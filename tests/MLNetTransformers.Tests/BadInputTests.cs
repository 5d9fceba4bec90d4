using Microsoft.ML;
using Microsoft.ML.Data;
using Xunit;

namespace MLNetTransformers.Tests;

public class BadInputTests
{
    private sealed class FloatLabel { public string Text { get; set; } = ""; public float Label { get; set; } }
    private sealed class StringLabel { public string Text { get; set; } = ""; public string Label { get; set; } = ""; }
    private sealed class NumericText { public float Text { get; set; } public bool Label { get; set; } }

    private static ITransformer FitBinary<T>(MLContext ml, IEnumerable<T> rows) where T : class
        => new EstimatorChain<ITransformer>().Append(ml.BinaryClassification.Trainers.TransformerClassifier(TestData.Tiny(1))).Fit(ml.Data.LoadFromEnumerable(rows));

    [Fact]
    public void MissingLabelColumn_IsNamed_BeforeTraining()
    {
        var ml = new MLContext(1);
        var data = ml.Data.LoadFromEnumerable(new[] { new { Text = "a" } });
        var ex = Assert.ThrowsAny<ArgumentException>(() => ml.BinaryClassification.Trainers.TransformerClassifier(TestData.Tiny(1)).GetOutputSchema(SchemaOf(ml, data)));
        Assert.Contains("'Label'", ex.Message);
        Assert.Contains("'Label'", Assert.ThrowsAny<ArgumentException>(() => ml.BinaryClassification.Trainers.TransformerClassifier(TestData.Tiny(1)).Fit(data)).Message);
    }

    [Fact]
    public void WrongColumnTypes_AreNamed()
    {
        var ml = new MLContext(1);
        var ex = Assert.ThrowsAny<ArgumentException>(() => FitBinary(ml, new[] { new StringLabel { Text = "a", Label = "yes" } }));
        Assert.Contains("'Label'", ex.Message);
        Assert.Contains("Boolean", ex.Message);
        var ex2 = Assert.ThrowsAny<ArgumentException>(() => FitBinary(ml, new[] { new NumericText { Text = 1, Label = true } }));
        Assert.Contains("'Text'", ex2.Message);
        var multi = Assert.ThrowsAny<ArgumentException>(() =>
            ml.MulticlassClassification.Trainers.TransformerClassifier(TestData.Tiny(1)).Fit(ml.Data.LoadFromEnumerable(new[] { new StringLabel { Text = "a", Label = "x" } })));
        Assert.Contains("MapValueToKey", multi.Message);
    }

    [Fact]
    public void NaNOrUnseenLabels_AreReportedWithTheRow()
    {
        var ml = new MLContext(1);
        var rows = Enumerable.Range(0, 10).Select(i => new FloatLabel { Text = "t" + i, Label = i % 2 }).ToList();
        rows[7].Label = float.NaN;
        var nan = Assert.Throws<InvalidDataException>(() => FitBinary(ml, rows));
        Assert.Contains("row 7", nan.Message);
        Assert.Contains("NaN", nan.Message);
        rows[7].Label = 2;
        var unseen = Assert.Throws<InvalidDataException>(() => FitBinary(ml, rows));
        Assert.Contains("value 2", unseen.Message);

        // A validation row whose label the training key mapping does not know is a missing key.
        var train = ml.Data.LoadFromEnumerable(new[] { new StringLabel { Text = "a b", Label = "x" }, new StringLabel { Text = "c d", Label = "y" } });
        var valid = ml.Data.LoadFromEnumerable(new[] { new StringLabel { Text = "a", Label = "x" }, new StringLabel { Text = "e", Label = "z" } });
        var keys = ml.Transforms.Conversion.MapValueToKey("Label").Fit(train);
        var options = TestData.Tiny(1);
        options.ValidationSet = keys.Transform(valid);
        var missing = Assert.Throws<InvalidDataException>(() => ml.MulticlassClassification.Trainers.TransformerClassifier(options).Fit(keys.Transform(train)));
        Assert.Contains("row 1", missing.Message);
    }

    [Fact]
    public void OneClassOrNoRows_AreRejected()
    {
        var ml = new MLContext(1);
        Assert.Contains("one label value", Assert.Throws<ArgumentException>(() => FitBinary(ml, new[] { new Review { Text = "a", Label = true }, new Review { Text = "b", Label = true } })).Message);
        Assert.Contains("no rows", Assert.Throws<ArgumentException>(() => FitBinary(ml, Array.Empty<Review>())).Message);
    }

    [Fact]
    public void InvalidOptions_AreNamed()
    {
        var ml = new MLContext(1);
        var o = TestData.Tiny(); o.Heads = 5;
        Assert.Contains("Heads", Assert.ThrowsAny<ArgumentException>(() => ml.BinaryClassification.Trainers.TransformerClassifier(o)).Message);
        o = TestData.Tiny(); o.LearningRate = -1;
        Assert.Contains("LearningRate", Assert.ThrowsAny<ArgumentException>(() => ml.BinaryClassification.Trainers.TransformerClassifier(o)).Message);
        o = TestData.Tiny(); o.Tokenizer.MaxTokens = 1;
        Assert.Contains("MaxTokens", Assert.ThrowsAny<ArgumentException>(() => ml.BinaryClassification.Trainers.TransformerClassifier(o)).Message);
    }

    private static SchemaShape SchemaOf(MLContext ml, IDataView data)
    {
        SchemaShape? seen = null;
        var probe = new ProbeEstimator(s => seen = s);
        new EstimatorChain<ITransformer>().Append(probe).Fit(data);
        return seen!;
    }

    private sealed class ProbeEstimator(Action<SchemaShape> seen) : IEstimator<ITransformer>
    {
        public SchemaShape GetOutputSchema(SchemaShape inputSchema) { seen(inputSchema); return inputSchema; }
        public ITransformer Fit(IDataView input) => new TransformerChain<ITransformer>();
    }
}

public class CraftedModelFileTests
{
    [Fact]
    public void AZipBombInTheManifest_IsRefusedAtItsBound_NotDecompressed()
    {
        string path = Path.Combine(Directory.CreateTempSubdirectory().FullName, "bomb.mlnt");
        using (var zip = System.IO.Compression.ZipFile.Open(path, System.IO.Compression.ZipArchiveMode.Create))
        using (var s = zip.CreateEntry("manifest.json", System.IO.Compression.CompressionLevel.SmallestSize).Open())
        {
            var spaces = new byte[1 << 20];
            Array.Fill(spaces, (byte)' ');
            for (int i = 0; i < 64; i++) s.Write(spaces); // 64 MiB of whitespace, about 64 KiB compressed
            s.Write("{}"u8);
        }
        Assert.True(new FileInfo(path).Length < 1 << 20);
        long before = GC.GetAllocatedBytesForCurrentThread();
        var ex = Assert.Throws<InvalidDataException>(() => TransformerModel.Load(new Microsoft.ML.MLContext(), path, out _));
        Assert.Contains("bomb.mlnt", ex.Message);
        Assert.Contains("manifest.json", ex.Message);
        Assert.True(GC.GetAllocatedBytesForCurrentThread() - before < 16 << 20, "read far past the bound");
    }
}
