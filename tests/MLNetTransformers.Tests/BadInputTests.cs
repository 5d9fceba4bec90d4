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

    internal static SchemaShape SchemaOf(MLContext ml, IDataView data)
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

public class ModelFileIntegrityTests
{
    private static string DataFile(string name) => Path.Combine(AppContext.BaseDirectory, "Data", name);

    private sealed class Row { [ColumnName("sentence")] public string Text { get; set; } = ""; } // the CLI kept the file's column name

    private static float[] Probabilities(ITransformer model) => new Microsoft.ML.MLContext().Data
        .CreateEnumerable<ReviewPrediction>(model.Transform(new Microsoft.ML.MLContext().Data.LoadFromEnumerable(new[]
        {
            new Row { Text = "The cast was superb and the story gripping." }, new Row { Text = "The plot was dull." },
        })), reuseRowObject: false).Select(p => p.Probability).ToArray();

    [Fact]
    public void AModelSavedByTheFirstFormat_StillLoads_AndPredictsAsItDid()
    {
        // Data/v1-binary.mlnt was written by main at e99e134 (format 1, before checksums, n-gram branch and ensembles);
        // its CLI printed P(true) = 0.929853 and 0.936678 for these two texts.
        var model = TransformerModel.Load(new Microsoft.ML.MLContext(), DataFile("v1-binary.mlnt"), out _);
        var p = Probabilities(model);
        Assert.Equal(0.929853f, p[0], 5);
        Assert.Equal(0.936678f, p[1], 5);
    }

    [Fact]
    public void ModelsSavedByTheSecondFormat_StillLoad_AndGiveWhatTheyGave()
    {
        // Written by main at 8eb18fb (format 2, a central switch, the featurizer holding a classifier), with the outputs
        // they gave then in v2-expected.json (the program that made them is described in Data/README.md).
        var expected = System.Text.Json.JsonDocument.Parse(File.ReadAllText(DataFile("v2-expected.json"))).RootElement;
        var feat = TransformerModel.Parts(TransformerModel.Load(new Microsoft.ML.MLContext(), DataFile("v2-featurizer.mlnt"), out _))
            .OfType<Featurization.EncoderFeaturizerTransformer>().Single();
        Assert.True(feat.Encoder.OwnsParameters);
        // The same weights give the same embedding up to float rounding (kernels may sum in another order than they did).
        var embedding = feat.Embed("a good film");
        var then = expected.GetProperty("embedding").EnumerateArray().Select(e => e.GetSingle()).ToArray();
        Assert.Equal(then.Length, embedding.Length);
        for (int i = 0; i < then.Length; i++) Assert.Equal(then[i], embedding[i], 5);
        var lm = TransformerModel.Parts(TransformerModel.Load(new Microsoft.ML.MLContext(), DataFile("v2-language-model.mlnt"), out _))
            .OfType<LanguageModeling.LanguageModelTransformer>().Single();
        Assert.Equal(12, lm.Generation.MaxNewTokens);
        Assert.Equal(new[] { "zz" }, lm.StopSequences);
        Assert.Equal(expected.GetProperty("generated").GetString(), lm.Generate("the "));
        // Saved again in today's format, they load to the same outputs.
        string path = Path.Combine(Directory.CreateTempSubdirectory().FullName, "v3.mlnt");
        lm.Save(path);
        var again = TransformerModel.Parts(TransformerModel.Load(new Microsoft.ML.MLContext(), path, out _)).OfType<LanguageModeling.LanguageModelTransformer>().Single();
        Assert.Equal(expected.GetProperty("generated").GetString(), again.Generate("the "));
    }

    [Theory]
    [InlineData("System.Private.CoreLib", "classifier", "not part of MLNetTransformers")]
    [InlineData("MLNetTransformers", "no_such_part", "unknown kind 'no_such_part'")]
    [InlineData("MLNetTransformers.Missing", "classifier", "needs MLNetTransformers.Missing")]
    public void ASegment_NamingAForeignAssemblyOrUnknownKind_IsRefusedByName(string assembly, string kind, string message)
    {
        // A format-1 file (no checksums to forge) whose one segment names the given part.
        string path = Path.Combine(Directory.CreateTempSubdirectory().FullName, "crafted.mlnt");
        using (var source = System.IO.Compression.ZipFile.OpenRead(DataFile("v1-binary.mlnt")))
        using (var zip = System.IO.Compression.ZipFile.Open(path, System.IO.Compression.ZipArchiveMode.Create))
        {
            using (var from = source.GetEntry("input-schema.mlnet")!.Open())
            using (var to = zip.CreateEntry("input-schema.mlnet").Open()) from.CopyTo(to);
            using var w = new StreamWriter(zip.CreateEntry("manifest.json").Open());
            w.Write($$"""{"format":"MLNetTransformers.Model","version":1,"segments":[{"kind":"{{kind}}","assembly":"{{assembly}}"}]}""");
        }
        var ex = Assert.Throws<InvalidDataException>(() => TransformerModel.Load(new Microsoft.ML.MLContext(), path, out _));
        Assert.Contains(message, ex.Message);
        Assert.Contains(path, ex.Message);
    }

    [Fact]
    public void TheSameModel_SavesToTheSameBytes()
    {
        var ml = new Microsoft.ML.MLContext();
        var model = TransformerModel.Load(ml, DataFile("v1-binary.mlnt"), out var schema);
        string dir = Directory.CreateTempSubdirectory().FullName, a = Path.Combine(dir, "a.mlnt"), b = Path.Combine(dir, "b.mlnt");
        TransformerModel.Save(ml, model, schema, a);
        Thread.Sleep(2100); // zip times have a two-second resolution
        TransformerModel.Save(ml, model, schema, b);
        Assert.Equal(File.ReadAllBytes(a), File.ReadAllBytes(b));
    }

    [Fact]
    public void BitFlips_AreRejected_OrChangeNothing()
    {
        var ml = new Microsoft.ML.MLContext();
        var original = TransformerModel.Load(ml, DataFile("v1-binary.mlnt"), out var schema);
        string dir = Directory.CreateTempSubdirectory().FullName, path = Path.Combine(dir, "v2.mlnt"), bad = Path.Combine(dir, "flipped.mlnt");
        TransformerModel.Save(ml, original, schema, path); // format 2: every entry checksummed
        var expected = Probabilities(original);
        byte[] good = File.ReadAllBytes(path);
        var rng = new Random(7);
        int rejected = 0;
        for (int i = 0; i < 60; i++)
        {
            var flipped = (byte[])good.Clone();
            flipped[rng.Next(flipped.Length)] ^= (byte)(1 << rng.Next(8));
            File.WriteAllBytes(bad, flipped);
            try
            {
                var loaded = TransformerModel.Load(new Microsoft.ML.MLContext(), bad, out _);
                Assert.Equal(expected, Probabilities(loaded)); // loaded: then nothing that matters changed
            }
            catch (InvalidDataException e)
            {
                Assert.Contains("flipped.mlnt", e.Message);
                rejected++;
            }
        }
        Assert.True(rejected > 30, $"{rejected} of 60 flips rejected");

        // An entry rewritten with a valid zip CRC (one byte of the tokenizer changed) is caught by its checksum.
        File.Copy(path, bad, overwrite: true);
        using (var zip = System.IO.Compression.ZipFile.Open(bad, System.IO.Compression.ZipArchiveMode.Update))
        {
            var entry = zip.Entries.First(e => e.FullName.EndsWith(".tokenizer.json"));
            byte[] bytes;
            using (var r = entry.Open()) { using var ms = new MemoryStream(); r.CopyTo(ms); bytes = ms.ToArray(); }
            bytes[bytes.Length / 2] ^= 0x01;
            string name = entry.FullName;
            entry.Delete();
            using var w = zip.CreateEntry(name).Open();
            w.Write(bytes);
        }
        var ex = Assert.Throws<InvalidDataException>(() => TransformerModel.Load(new Microsoft.ML.MLContext(), bad, out _));
        Assert.Contains("does not match its checksum", ex.Message);
    }
}
