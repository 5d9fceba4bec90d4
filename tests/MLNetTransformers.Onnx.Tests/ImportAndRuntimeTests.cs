using Google.Protobuf;
using Microsoft.ML;
using Microsoft.ML.Data;
using MLNetTransformers.Classification;
using MLNetTransformers.Core.Models;
using MLNetTransformers.Core.Training;
using MLNetTransformers.Onnx.Proto;
using MLNetTransformers.Tokenization;
using Xunit;

namespace MLNetTransformers.Onnx.Tests;

public sealed class Review
{
    [LoadColumn(0)] public string Text { get; set; } = "";
    [LoadColumn(1)] public bool Label { get; set; }
}

/// <summary>A small classifier trained once through ML.NET for the tests that need one.</summary>
public sealed class TrainedClassifier
{
    public MLContext Ml { get; } = new(seed: 1);
    public IDataView Data { get; }
    public TransformerClassificationTransformer Classifier { get; }

    public TrainedClassifier()
    {
        Data = Ml.Data.LoadFromTextFile<Review>(Path.Combine(AppContext.BaseDirectory, "Data", "reviews.tsv"), '\t', hasHeader: true);
        Classifier = Ml.BinaryClassification.Trainers.TransformerClassifier(new TransformerClassifierOptions
        {
            Layers = 2, ModelDim = 32, Heads = 4, FeedForwardDim = 64, Epochs = 6, BatchSize = 16, LearningRate = 2e-3f, Seed = 1,
            Tokenizer = new TokenizerOptions { MaxTokens = 24, VocabularySize = 300 },
        }).Fit(Data);
    }
}

public class ImportAndRuntimeTests(TrainedClassifier t) : IClassFixture<TrainedClassifier>
{
    [Fact]
    public void ExportThenImport_GivesIdenticalOutputs_AndTrainingContinues()
    {
        var model = new TransformerClassifier(ExportParityTests.Small(), 3);
        Weights.Scramble(model.Parameters, 1);
        var imported = OnnxImporter.Import(OnnxExporter.Export(model, classNames: new[] { "a", "b", "c" }));
        var copy = Assert.IsType<TransformerClassifier>(imported.Model);
        Assert.Equal(model.Config, copy.Config);
        Assert.Equal(model.Parameters.Data, copy.Parameters.Data);
        Assert.Equal(new[] { "a", "b", "c" }, imported.ClassNames);
        var (ids, mask) = ExportParityTests.RandomBatch(3, 7, 2);
        var batch = new TokenBatch(3, 7, ids, mask, new[] { 0, 1, 2 });
        Assert.Equal(model.Forward(batch).Take(9), copy.Forward(batch).Take(9));

        var trainer = new Trainer(copy, new TrainerOptions { LearningRate = 3e-3f });
        float first = trainer.TrainStep(batch).Loss, last = first;
        for (int i = 0; i < 40; i++) last = trainer.TrainStep(batch).Loss;
        Assert.True(last < first * 0.5f, $"loss {first} → {last}");

        var lm = new TransformerLanguageModel(ExportParityTests.Small(), 4);
        var lmCopy = Assert.IsType<TransformerLanguageModel>(OnnxImporter.Import(OnnxExporter.Export(lm)).Model);
        Assert.Equal(lm.Parameters.Data, lmCopy.Parameters.Data);
    }

    [Fact]
    public void Import_RefusesUnknownOperatorsAndForeignModels()
    {
        var model = ModelProto.Parser.ParseFrom(OnnxExporter.Export(new TransformerClassifier(ExportParityTests.Small())));
        // Edited graphs without the export's checksum (with it, any edit is refused as corrupt: OnnxChecksumTests).
        foreach (var sum in model.MetadataProps.Where(p => p.Key.EndsWith("sha256", StringComparison.Ordinal)).ToList()) model.MetadataProps.Remove(sum);
        var odd = model.Clone();
        odd.Graph.Node.Add(new NodeProto { OpType = "FancyAttention", Name = "fancy", Input = { "input_ids" }, Output = { "junk" } });
        var ex = Assert.Throws<NotSupportedException>(() => OnnxImporter.Import(odd.ToByteArray()));
        Assert.Contains("FancyAttention", ex.Message);
        var foreign = model.Clone();
        foreign.MetadataProps.Clear();
        Assert.Contains("not exported by MLNetTransformers", Assert.Throws<NotSupportedException>(() => OnnxImporter.Import(foreign.ToByteArray())).Message);
        var wrongShape = model.Clone();
        wrongShape.Graph.Initializer.First(i => i.Name == "head.weight").Dims[0] = 4;
        Assert.Contains("head.weight", Assert.Throws<InvalidDataException>(() => OnnxImporter.Import(wrongShape.ToByteArray())).Message);
    }

    [Fact]
    public async Task CorruptTruncatedOrForeignFiles_FailClearly_AndMutationsNeverCrash()
    {
        var good = OnnxExporter.Export(new TransformerClassifier(ExportParityTests.Small()));
        Assert.Throws<InvalidDataException>(() => OnnxImporter.Import(good.AsSpan(0, good.Length / 2).ToArray()));
        Assert.Throws<InvalidDataException>(() => OnnxImporter.Import("not an onnx model at all"u8.ToArray()));
        Assert.Throws<InvalidDataException>(() => OnnxSessionFactory.Create(good.AsSpan(0, 100).ToArray()));
        Assert.Throws<FileNotFoundException>(() => OnnxSessionFactory.Create("/no/such/model.onnx"));

        var rng = new Random(7);
        int loaded = 0, rejected = 0;
        for (int i = 0; i < 150; i++)
        {
            var bytes = (byte[])good.Clone();
            switch (i % 3)
            {
                case 0: bytes = bytes.AsSpan(0, rng.Next(bytes.Length)).ToArray(); break;                 // truncation
                case 1: for (int k = 0; k < 1 + rng.Next(8); k++) bytes[rng.Next(bytes.Length)] ^= (byte)(1 << rng.Next(8)); break; // bit flips
                default: rng.NextBytes(bytes.AsSpan(rng.Next(bytes.Length / 2), rng.Next(1, 64))); break; // a run of garbage
            }
            var attempt = Task.Run(() =>
            {
                try
                {
                    using var s = OnnxSessionFactory.Create(bytes);
                    var (ids, mask) = ExportParityTests.RandomBatch(2, 4, i);
                    ExportParityTests.RunOrt(bytes, ids, mask, 2, 4);
                    return true;
                }
                catch (Exception e) when (e is InvalidDataException or Microsoft.ML.OnnxRuntime.OnnxRuntimeException) { return false; }
            });
            Assert.Same(attempt, await Task.WhenAny(attempt, Task.Delay(TimeSpan.FromSeconds(30)))); // no hang
            if (await attempt) loaded++; else rejected++;
        }
        Assert.True(rejected > 50, $"{rejected} mutations rejected, {loaded} loaded");
    }

    [FactWithoutCudaRuntime]
    public void Cuda_WithoutGpuRuntime_ThrowsHowToGetIt_OrFallsBackWithALog()
    {
        var onnx = OnnxExporter.Export(new TransformerClassifier(ExportParityTests.Small()));
        var (provider, reason) = OnnxSessionFactory.Resolve(new OnnxExecutionOptions { Provider = OnnxProvider.Cuda });
        Assert.Equal(OnnxProvider.Cpu, provider);
        Assert.Contains("CUDA", reason!, StringComparison.OrdinalIgnoreCase);
        var ex = Assert.Throws<InvalidOperationException>(() => OnnxSessionFactory.Create(onnx, new OnnxExecutionOptions { Provider = OnnxProvider.Cuda, DeviceId = 0 }));
        Assert.Contains("Microsoft.ML.OnnxRuntime.Gpu", ex.Message);
        Assert.Contains("cuDNN", ex.Message);
        Assert.DoesNotContain('\n', ex.Message);
        // The GPU build (-p:OnnxRuntimeFlavor=Gpu; .ci/run tests it) on a machine without CUDA: the missing library by name.
        if (OnnxSessionFactory.CudaProviderPath is not null) Assert.Matches(@"lib\w+\.so\.\d+ is not installed", reason);
        var log = new List<string>();
        using var session = OnnxSessionFactory.Create(onnx, new OnnxExecutionOptions { Provider = OnnxProvider.Cuda, FallbackToCpu = true, Log = log.Add });
        Assert.Contains(log, l => l.Contains("on the CPU"));
        var (ids, mask) = ExportParityTests.RandomBatch(1, 3, 1);
        Assert.Equal(3, ExportParityTests.RunOrt(onnx, ids, mask, 1, 3)["logits"].Length);
    }

    [Fact]
    public void OnnxModelTransformer_ScoresInAPipeline_LikeTheManagedModel()
    {
        string path = Path.Combine(Directory.CreateTempSubdirectory().FullName, "cls.onnx");
        t.Ml.Model.ExportTransformerToOnnx(t.Classifier, path);
        var pipeline = new TokenizerTransformer(t.Classifier.Tokenizer);
        var tokens = pipeline.Transform(t.Data);
        var onnx = t.Ml.Transforms.ApplyTransformerOnnxModel(path).Fit(tokens);
        var scored = onnx.Transform(tokens);
        var logits = scored.GetColumn<float[]>("logits").ToArray();
        var embeddings = scored.GetColumn<float[]>("embeddings").ToArray();
        var managed = t.Classifier.Transform(t.Data).GetColumn<float>("Probability").ToArray();
        Assert.Equal(managed.Length, logits.Length);
        Assert.Equal(32, embeddings[0].Length);
        for (int i = 0; i < logits.Length; i++)
        {
            float p1 = 1f / (1f + MathF.Exp(logits[i][0] - logits[i][1]));
            Assert.Equal(managed[i], p1, 1e-4f); // a tolerance, not rounding to 4 places: 0.11864998 and 0.11865003 round apart
        }
        // The engine also scores through ONNX Runtime on request, with the same predictions.
        var viaOrt = t.Classifier.UseOnnxRuntime().Transform(t.Data);
        var a = t.Classifier.Transform(t.Data).GetColumn<bool>("PredictedLabel").ToArray();
        Assert.Equal(a, viaOrt.GetColumn<bool>("PredictedLabel").ToArray());
        var pa = viaOrt.GetColumn<float>("Probability").ToArray();
        for (int i = 0; i < pa.Length; i++) Assert.Equal(managed[i], pa[i], 1e-4f);
    }

    [Fact]
    public void OnnxPipeline_SavesWithItsOnnxFile_AndLoadsWithTheSameOutputs()
    {
        string dir = Directory.CreateTempSubdirectory().FullName;
        string onnxPath = Path.Combine(dir, "cls.onnx"), modelPath = Path.Combine(dir, "pipeline.mlnt");
        t.Ml.Model.ExportTransformerToOnnx(t.Classifier, onnxPath);
        var tokenizer = new TokenizerTransformer(t.Classifier.Tokenizer);
        var onnx = t.Ml.Transforms.ApplyTransformerOnnxModel(onnxPath).Fit(tokenizer.Transform(t.Data));
        var pipeline = new TransformerChain<ITransformer>(tokenizer, onnx, t.Classifier);
        var before = pipeline.Transform(t.Data).GetColumn<float[]>("logits").ToArray();
        TransformerModel.Save(t.Ml, pipeline, t.Data.Schema, modelPath);
        File.Delete(onnxPath); // the ONNX model travels inside the model file
        var loaded = TransformerModel.Load(new MLContext(2), modelPath, out var schema);
        var parts = TransformerModel.Parts(loaded).ToArray();
        Assert.IsType<OnnxModelTransformer>(parts[1]);
        var after = loaded.Transform(t.Data).GetColumn<float[]>("logits").ToArray();
        Assert.Equal(before.Length, after.Length);
        for (int i = 0; i < before.Length; i++) Assert.Equal(before[i], after[i]);
        Assert.Equal(t.Classifier.Transform(t.Data).GetColumn<float>("Probability"), loaded.Transform(t.Data).GetColumn<float>("Probability"));

        // A file that changed under a loaded transformer is not saved as if it were the model that runs.
        t.Ml.Model.ExportTransformerToOnnx(t.Classifier, onnxPath);
        var fromFile = t.Ml.Transforms.ApplyTransformerOnnxModel(onnxPath).Fit(tokenizer.Transform(t.Data));
        File.WriteAllBytes(onnxPath, OnnxExporter.Export(new TransformerClassifier(ExportParityTests.Small())));
        var ex = Assert.Throws<InvalidOperationException>(() => TransformerModel.Save(t.Ml, fromFile, tokenizer.Transform(t.Data).Schema, Path.Combine(dir, "x.mlnt")));
        Assert.Contains(onnxPath, ex.Message);
        Assert.False(File.Exists(Path.Combine(dir, "x.mlnt")));
    }

    [Fact]
    public void OnnxModelTransformer_PoolsAHiddenStateOutput()
    {
        var lm = new TransformerLanguageModel(ExportParityTests.Small(), 2);
        var bytes = OnnxExporter.Export(lm);
        var ml = new MLContext(1);
        var rows = new[] { new Ids { TokenIds = new long[] { 1, 2, 3, 4, 0, 0 }, AttentionMask = new long[] { 1, 1, 1, 1, 0, 0 } },
                           new Ids { TokenIds = new long[] { 5, 6, 7, 8, 9, 10 }, AttentionMask = new long[] { 1, 1, 1, 1, 1, 1 } } };
        var data = ml.Data.LoadFromEnumerable(rows, SchemaDefinition.Create(typeof(Ids)).WithSize(6));
        var options = new OnnxModelOptions { ModelBytes = bytes, PoolOutput = "logits", OutputColumns = new() };
        var pooled = ml.Transforms.ApplyTransformerOnnxModel(options).Fit(data).Transform(data).GetColumn<float[]>("Embedding").ToArray();
        var managed = lm.Forward(new TokenBatch(2, 6, rows.SelectMany(r => r.TokenIds).Select(x => (int)x).ToArray(), rows.SelectMany(r => r.AttentionMask).Select(x => (int)x).ToArray()));
        for (int v = 0; v < 50; v++)
        {
            float mean0 = 0; for (int s = 0; s < 4; s++) mean0 += managed[s * 50 + v];
            Assert.Equal(mean0 / 4, pooled[0][v], 3);
        }
    }

    [Fact]
    public void MismatchedBindings_NameTheColumnAndInput()
    {
        var bytes = OnnxExporter.Export(new TransformerClassifier(ExportParityTests.Small()));
        var ml = new MLContext(1);
        var floats = ml.Data.LoadFromEnumerable(new[] { new FloatIds { TokenIds = new float[4], AttentionMask = new long[4] } }, SchemaDefinition.Create(typeof(FloatIds)).WithSize(4));
        var ex = Assert.ThrowsAny<ArgumentException>(() => ml.Transforms.ApplyTransformerOnnxModel(new OnnxModelOptions { ModelBytes = bytes }).Fit(floats));
        Assert.Contains("'TokenIds'", ex.Message);
        Assert.Contains("input_ids", ex.Message);
        var missing = ml.Data.LoadFromEnumerable(new[] { new { Other = 1f } });
        Assert.Contains("'TokenIds'", Assert.ThrowsAny<ArgumentException>(() => ml.Transforms.ApplyTransformerOnnxModel(new OnnxModelOptions { ModelBytes = bytes }).Fit(missing)).Message);
        var unbound = new OnnxModelOptions { ModelBytes = bytes, InputColumns = new() { ["input_ids"] = "TokenIds" } };
        Assert.Contains("attention_mask", Assert.Throws<ArgumentException>(() => new OnnxModelTransformer(unbound)).Message);
    }

    public sealed class Ids { public long[] TokenIds { get; set; } = []; public long[] AttentionMask { get; set; } = []; }
    public sealed class FloatIds { public float[] TokenIds { get; set; } = []; public long[] AttentionMask { get; set; } = []; }
}

internal static class SchemaDefinitionExtensions
{
    public static SchemaDefinition WithSize(this SchemaDefinition d, int size)
    {
        foreach (var c in d)
            if (c.ColumnType is VectorDataViewType v) c.ColumnType = new VectorDataViewType(v.ItemType, size);
        return d;
    }
}

/// <summary>A test of what happens without ONNX Runtime's CUDA provider: skipped, visibly, on a machine that has it.</summary>
public sealed class FactWithoutCudaRuntimeAttribute : FactAttribute
{
    public FactWithoutCudaRuntimeAttribute()
    {
        if (OnnxSessionFactory.Resolve(new OnnxExecutionOptions { Provider = OnnxProvider.Cuda }).Provider == OnnxProvider.Cuda)
            Skip = "This machine has ONNX Runtime's CUDA provider: there is no missing-runtime error or fallback to test.";
    }
}

public class OnnxChecksumTests
{
    [Fact]
    public void AnExportWithOneWeightChanged_IsRefusedByImportAndVerify()
    {
        var model = new TransformerClassifier(ExportParityTests.Small() with { NGramBuckets = 7 }, 3);
        var onnx = OnnxExporter.Export(model);
        Assert.Equal(model.Parameters.Data, OnnxImporter.Import(onnx).Model.Parameters.Data); // intact: imports

        var proto = MLNetTransformers.Onnx.Proto.ModelProto.Parser.ParseFrom(onnx);
        var weight = proto.Graph.Initializer.First(t => t.Name == "layers.0.linear1.weight");
        var raw = weight.RawData.ToByteArray();
        raw[5] ^= 0x10; // one bit of one float
        weight.RawData = Google.Protobuf.ByteString.CopyFrom(raw);
        var tampered = proto.ToByteArray();
        var ex = Assert.Throws<InvalidDataException>(() => OnnxImporter.Import(tampered, "tampered.onnx"));
        Assert.Contains("checksum", ex.Message);

        string path = Path.Combine(Directory.CreateTempSubdirectory().FullName, "tampered.onnx");
        File.WriteAllBytes(path, tampered);
        Assert.Contains("tampered.onnx", Assert.Throws<InvalidDataException>(() => OnnxImporter.Verify(path)).Message);
    }

    [Fact]
    public void AChangedTokenizerOrOpset_IsRefusedToo_AndCraftedMetadataFailsCleanly()
    {
        var tokenizer = TextTokenizer.Learn(new[] { "a good film", "a bad film" }, 16, 40, 1, true);
        var model = new TransformerClassifier(ExportParityTests.Small() with { VocabSize = tokenizer.VocabularySize }, 3);
        var onnx = OnnxExporter.Export(model, tokenizer);
        // Found by the fuzz suite: the graph checksum did not cover the tokenizer in the metadata, nor the opset.
        var proto = ModelProto.Parser.ParseFrom(onnx);
        var tok = proto.MetadataProps.Single(p => p.Key == "mlnettransformers.tokenizer");
        tok.Value = tok.Value.Replace("\"LowerCase\":true", "\"LowerCase\":false"); // a valid tokenizer that tokenizes differently
        Assert.NotEqual(ModelProto.Parser.ParseFrom(onnx).MetadataProps.Single(p => p.Key == "mlnettransformers.tokenizer").Value, tok.Value);
        Assert.Contains("checksum", Assert.Throws<InvalidDataException>(() => OnnxImporter.Import(proto.ToByteArray(), "t.onnx")).Message);
        proto = ModelProto.Parser.ParseFrom(onnx);
        proto.OpsetImport[0].Version = 13;
        Assert.Contains("checksum", Assert.Throws<InvalidDataException>(() => OnnxImporter.Import(proto.ToByteArray(), "t.onnx")).Message);

        // An attacker who recomputes the checksums gets clean errors naming the file, not ArgumentExceptions.
        static byte[] Rechecksum(ModelProto m)
        {
            foreach (var p in m.MetadataProps.Where(p => p.Key == "mlnettransformers.graph_sha256"))
                p.Value = Convert.ToHexString(System.Security.Cryptography.SHA256.HashData(m.Graph.ToByteArray()));
            string whole = OnnxExporter.ModelChecksum(m);
            foreach (var p in m.MetadataProps.Where(p => p.Key == "mlnettransformers.sha256")) p.Value = whole;
            return m.ToByteArray();
        }
        proto = ModelProto.Parser.ParseFrom(onnx);
        proto.MetadataProps.Single(p => p.Key == "mlnettransformers.tokenizer").Value = "{\"Kind\":\"Learned\",\"MaxTokens\":16,\"LowerCase\":true,\"Vocabulary\":\"x\"}";
        Assert.Contains("crafted.onnx", Assert.Throws<InvalidDataException>(() => OnnxImporter.Import(Rechecksum(proto), "crafted.onnx")).Message);
        proto = ModelProto.Parser.ParseFrom(onnx);
        proto.Graph.Initializer.Add(proto.Graph.Initializer[0].Clone());
        Assert.Contains("two weights named", Assert.Throws<InvalidDataException>(() => OnnxImporter.Import(Rechecksum(proto), "crafted.onnx")).Message);
    }
}
