using System.Text.Json;
using Microsoft.ML;
using MLNetTransformers.Classification;
using MLNetTransformers.Core.Models;
using MLNetTransformers.Core.Pretrained;
using MLNetTransformers.QuestionAnswering;
using MLNetTransformers.TokenClassification;
using Xunit;
using Xunit.Abstractions;

namespace MLNetTransformers.Onnx.Tests;

/// <summary>
/// Task models exported to ONNX by PyTorch as optimum and transformers.js lay them out (Fixtures/tasks/&lt;name&gt;:
/// onnx/model.onnx, config.json and the tokenizer, no weights; make_task_onnx.py writes them from modules with Hugging
/// Face's names and the Core fixtures' weights, with PyTorch's outputs in expected.json): read into the engine, they give
/// PyTorch's logits; as ML.NET transformers they answer as the model read from a weights folder would.
/// </summary>
public class TaskExportTests(ITestOutputHelper output)
{
    internal static string Folder(string name) => QuantizedGraphTests.PathOf("tasks/" + name);

    private static JsonElement Expected(string name) => JsonDocument.Parse(File.ReadAllText(Path.Combine(Folder(name), "expected.json"))).RootElement;

    private static TokenBatch Batch(JsonElement expected, bool types)
    {
        int[][] Rows(string key) => expected.GetProperty(key).EnumerateArray().Select(r => r.EnumerateArray().Select(v => v.GetInt32()).ToArray()).ToArray();
        var ids = Rows("input_ids");
        int b = ids.Length, t = ids[0].Length;
        return new TokenBatch(b, t, ids.SelectMany(r => r).ToArray(), Rows("attention_mask").SelectMany(r => r).ToArray())
        { TokenTypeIds = types ? Rows("token_type_ids").SelectMany(r => r).ToArray() : null };
    }

    private static float[] Floats(JsonElement expected, string key) => expected.GetProperty(key).EnumerateArray().Select(v => v.GetSingle()).ToArray();

    // PyTorch's values at every real token (per token) or every value (per sequence), within 1e-4 of the largest.
    private void AssertClose(float[] expected, float[] actual, int[]? mask, int width, string what)
    {
        Assert.Equal(expected.Length, actual.Length);
        double scale = Math.Max(1.0, expected.Max(v => Math.Abs(v))), worst = 0;
        for (int i = 0; i < expected.Length; i++)
        {
            if (mask is not null && mask[i / width] == 0) continue;
            worst = Math.Max(worst, Math.Abs(expected[i] - actual[i]));
        }
        output.WriteLine($"{what}: largest difference from PyTorch {worst:G3}");
        Assert.True(worst <= 1e-4 * scale, $"{what}: {worst:G3} from PyTorch's");
    }

    [Theory]
    [InlineData("bert-classifier", "BERT", 3)] // the pooler (dense + tanh) on [CLS], then classifier; token types
    [InlineData("roberta-classifier", "RoBERTa", 2)] // classifier.dense + tanh on <s>, then classifier.out_proj; positions from the ids
    [InlineData("distilbert-classifier", "DistilBERT", 2)] // pre_classifier + ReLU, then classifier
    public void ASequenceClassifierExportedByPyTorch_GivesPyTorchsLogits(string name, string family, int labels)
    {
        var expected = Expected(name);
        var loaded = OnnxEncoderCheckpoint.LoadSequenceClassifier(Folder(name)); // the folder's onnx/model.onnx, config.json one folder up
        Assert.Equal(family, loaded.Family.Name);
        Assert.Equal(labels, loaded.Labels.Count);
        var batch = Batch(expected, types: loaded.Model.Config.TypeVocabSize > 1);
        AssertClose(Floats(expected, "logits"), loaded.Model.Forward(batch).AsSpan(0, batch.BatchSize * labels).ToArray(), null, labels, name);
        // The file itself reads the same.
        var again = OnnxEncoderCheckpoint.LoadSequenceClassifier(Path.Combine(Folder(name), "onnx", "model.onnx"));
        Assert.Equal(loaded.Model.Parameters.Data, again.Model.Parameters.Data);
    }

    [Fact]
    public void ATokenClassifierExportedByPyTorch_GivesPyTorchsLogitsAtEveryRealToken()
    {
        var expected = Expected("bert-token-classifier");
        var loaded = OnnxEncoderCheckpoint.LoadTokenClassifier(Folder("bert-token-classifier"));
        Assert.Equal(["O", "B-PER", "I-PER", "B-LOC", "I-LOC"], loaded.Labels);
        var batch = Batch(expected, types: true);
        int n = batch.BatchSize * batch.SeqLen * 5;
        AssertClose(Floats(expected, "logits"), loaded.Model.Forward(batch).AsSpan(0, n).ToArray(), batch.AttentionMask, 5, "bert-token-classifier");
    }

    [Theory]
    [InlineData("bert-qa", "BERT")]
    [InlineData("roberta-qa", "RoBERTa")]
    public void AQuestionAnswererExportedByPyTorch_GivesPyTorchsStartAndEndLogits(string name, string family)
    {
        var expected = Expected(name);
        var loaded = OnnxEncoderCheckpoint.LoadQuestionAnswerer(Folder(name));
        Assert.Equal(family, loaded.Family.Name);
        var batch = Batch(expected, types: loaded.Model.Config.TypeVocabSize > 1);
        var logits = loaded.Model.Forward(batch);
        int n = batch.BatchSize * batch.SeqLen;
        AssertClose(Floats(expected, "start_logits"), Enumerable.Range(0, n).Select(i => logits[2 * i]).ToArray(), batch.AttentionMask, 1, name + " start");
        AssertClose(Floats(expected, "end_logits"), Enumerable.Range(0, n).Select(i => logits[2 * i + 1]).ToArray(), batch.AttentionMask, 1, name + " end");
    }

    // Task models of the other families as PyTorch exports them (make_pretrained.py's export_task_onnx: the encoder under its
    // prefix, the head as nn.Linear and LayerNorm modules under Hugging Face's names), beside the same model's weights: the
    // graph reads to those weights bit for bit (bias-free heads named by their nodes' scopes, DeBERTa's pooler outside the
    // encoder's prefix, ALBERT's shared layers) and gives PyTorch's outputs.
    [Theory]
    [InlineData("electra-classifier", "ELECTRA")] // embeddings_project; classifier.dense + GELU, classifier.out_proj
    [InlineData("roformer-classifier", "RoFormer")] // RoFormer's rotary positions computed from the graph's sinusoidal table
    [InlineData("mpnet-classifier", "MPNet")] // relative position biases; classifier.dense + tanh
    [InlineData("albert-classifier", "ALBERT")] // four layers running two shared sets; its pooler as one Linear
    [InlineData("deberta-classifier", "DeBERTa-v2")] // the relative positions projected by a Gemm on the stored weight beside the tokens' transposed copy; the ContextPooler's pooler.dense outside deberta.
    [InlineData("deberta-v1-classifier", "DeBERTa")] // in_proj, q_bias and v_bias folded by the exporter
    [InlineData("modernbert-classifier", "ModernBERT")] // mean pooling, head.dense without a bias, head.norm without a bias
    [InlineData("modernbert-token-classifier", "ModernBERT")] // the same head at every position
    [InlineData("modernbert-qa", "ModernBERT")]
    [InlineData("nomic-classifier", "NomicBERT")] // rotary positions, SwiGLU, bias-free projections; BERT's pooler under bert.
    [InlineData("jina-classifier", "JinaBERT")] // ALiBi, GeGLU
    [InlineData("mosaic-classifier", "MosaicBERT")] // one packed Wqkv
    [InlineData("gte-classifier", "GTE")] // NTK-scaled rotary positions; new.pooler
    [InlineData("ernie-classifier", "ERNIE")] // its task type folded into the positions
    [InlineData("esm-classifier", "ESM")] // token dropout in the graph, pre-norm; RoBERTa's head
    [InlineData("megatron-classifier", "MegatronBERT")]
    [InlineData("roberta-prelayernorm-classifier", "RoBERTa-PreLayerNorm")]
    [InlineData("bert-token-classifier", "BERT")] // the Core fixtures' taggers and readers, exported beside their weights
    [InlineData("roberta-token-classifier", "RoBERTa")]
    [InlineData("distilbert-token-classifier", "DistilBERT")]
    [InlineData("bert-qa", "BERT")]
    [InlineData("roberta-qa", "RoBERTa")]
    [InlineData("distilbert-qa", "DistilBERT")]
    public void ATaskExportOfAnotherFamily_ReadsAsItsWeightsAndGivesPyTorchsOutputs(string name, string family)
    {
        string folder = QuantizedGraphTests.PathOf("families/" + name), graph = Path.Combine(folder, "model.onnx");
        var expected = JsonDocument.Parse(File.ReadAllText(Path.Combine(folder, "expected.json"))).RootElement;
        if (name.EndsWith("-qa", StringComparison.Ordinal))
        {
            var loaded = OnnxEncoderCheckpoint.LoadQuestionAnswerer(graph);
            Assert.Equal(family, loaded.Family.Name);
            Assert.Equal(PretrainedCheckpoint.LoadQuestionAnsweringFolder(folder).Model.Parameters.Data, loaded.Model.Parameters.Data);
            var batch = Batch(expected, types: loaded.Model.Config.TypeVocabSize > 1);
            var logits = loaded.Model.Forward(batch);
            int n = batch.BatchSize * batch.SeqLen;
            AssertClose(Floats(expected, "start_logits"), Enumerable.Range(0, n).Select(i => logits[2 * i]).ToArray(), batch.AttentionMask, 1, name + " start");
            AssertClose(Floats(expected, "end_logits"), Enumerable.Range(0, n).Select(i => logits[2 * i + 1]).ToArray(), batch.AttentionMask, 1, name + " end");
        }
        else if (name.Contains("token", StringComparison.Ordinal))
        {
            var loaded = OnnxEncoderCheckpoint.LoadTokenClassifier(graph);
            Assert.Equal(family, loaded.Family.Name);
            Assert.Equal(PretrainedCheckpoint.LoadTokenClassifierFolder(folder).Model.Parameters.Data, loaded.Model.Parameters.Data);
            var batch = Batch(expected, types: loaded.Model.Config.TypeVocabSize > 1);
            int tags = loaded.Labels.Count;
            AssertClose(Floats(expected, "logits"), loaded.Model.Forward(batch).AsSpan(0, batch.BatchSize * batch.SeqLen * tags).ToArray(), batch.AttentionMask, tags, name);
        }
        else
        {
            var loaded = OnnxEncoderCheckpoint.LoadSequenceClassifier(graph);
            Assert.Equal(family, loaded.Family.Name);
            Assert.Equal(PretrainedCheckpoint.LoadSequenceClassifierFolder(folder).Model.Parameters.Data, loaded.Model.Parameters.Data);
            var batch = Batch(expected, types: loaded.Model.Config.TypeVocabSize > 1);
            int labels = loaded.Labels.Count;
            AssertClose(Floats(expected, "logits"), loaded.Model.Forward(batch).AsSpan(0, batch.BatchSize * labels).ToArray(), null, labels, name);
        }
    }

    // A task model's export read as a pretrained encoder (to fine-tune a new head on, or to embed with), as a folder of the
    // task model's weights reads: the encoder's own tensors (BERT's pooler among them), the head's left unused; its hidden
    // states are those of the task model read from the same graph.
    [Theory]
    [InlineData("bert-classifier", true, "classifier.weight")]
    [InlineData("roberta-classifier", false, "classifier.dense.weight")] // RoBERTa's head's dense layer is the head's, not the encoder's pooler
    [InlineData("distilbert-classifier", false, "pre_classifier.weight")]
    [InlineData("bert-token-classifier", false, "classifier.weight")]
    [InlineData("roberta-qa", false, "qa_outputs.weight")]
    public void ATaskExport_ReadsAsItsEncoder(string name, bool pooler, string unusedHead)
    {
        var read = OnnxEncoderCheckpoint.Load(Path.Combine(Folder(name), "onnx", "model.onnx"));
        Assert.Equal(pooler, read.Encoder.Config.Pooler);
        Assert.Contains(unusedHead, read.Unused);
        var task = name.EndsWith("-qa", StringComparison.Ordinal) ? OnnxEncoderCheckpoint.LoadQuestionAnswerer(Folder(name)).Model.Encoder
            : name.Contains("token", StringComparison.Ordinal) ? OnnxEncoderCheckpoint.LoadTokenClassifier(Folder(name)).Model.Encoder
            : OnnxEncoderCheckpoint.LoadSequenceClassifier(Folder(name)).Model.Encoder;
        var batch = Batch(Expected(name), types: read.Encoder.Config.TypeVocabSize > 1);
        var padding = batch.AttentionMask!.Select(m => m == 0).ToArray();
        int n = batch.BatchSize * batch.SeqLen * read.Encoder.Config.ModelDim;
        Assert.Equal(task.Forward(batch.Ids, batch.TokenTypeIds, batch.BatchSize, batch.SeqLen, padding, training: false).AsSpan(0, n).ToArray(),
            read.Encoder.Forward(batch.Ids, batch.TokenTypeIds, batch.BatchSize, batch.SeqLen, padding, training: false).AsSpan(0, n).ToArray());
        // The folder holding only the export, with its tokenizer, is a pretrained encoder as the trainers take it.
        var pretrained = OnnxEncoderCheckpoint.LoadFolder(Folder(name));
        Assert.Equal(read.Encoder.Parameters.Data, pretrained.Encoder.Parameters.Data);
        Assert.InRange(pretrained.Tokenizer.VocabularySize, 2, read.Encoder.Config.VocabSize); // the folder's tokenizer, fitting the embeddings
    }

    // The ML.NET transformers read from an export score as the same model written back as a Hugging Face folder (weights)
    // and read from there: an export converts to a folder of weights, and both paths are one model.
    [Fact]
    public void FromOnnxExport_ScoresAsTheFolderItWritesBack()
    {
        var ml = new MLContext(seed: 1);
        var texts = new[] { "the film was great", "a dull plot , the worst ever", "i loved it", "not good" };
        var classifier = TransformerClassificationTransformer.FromOnnxExport(Folder("bert-classifier"));
        string folder = Directory.CreateTempSubdirectory("export-to-folder").FullName;
        try
        {
            classifier.SaveHuggingFaceFolder(folder);
            var fromFolder = TransformerClassificationTransformer.FromHuggingFaceFolder(folder);
            Assert.Equal(["negative", "neutral", "positive"], classifier.ClassNames);
            var data = ml.Data.LoadFromEnumerable(texts.Select(t => new Row { Text = t }));
            var a = ml.Data.CreateEnumerable<Scored>(classifier.Transform(data), reuseRowObject: false).ToList();
            var b = ml.Data.CreateEnumerable<Scored>(fromFolder.Transform(data), reuseRowObject: false).ToList();
            for (int i = 0; i < texts.Length; i++) Assert.Equal(a[i].Score, b[i].Score);
            Assert.Contains(a, r => Math.Abs(r.Score[0] - a[0].Score[0]) > 1e-4); // the texts score differently: the model reads them
        }
        finally { Directory.Delete(folder, recursive: true); }

        var tagger = TokenClassificationTransformer.FromOnnxExport(Folder("bert-token-classifier"));
        var reference = TokenClassificationTransformer.FromLoaded(OnnxEncoderCheckpoint.LoadTokenClassifier(Folder("bert-token-classifier")), Folder("bert-token-classifier"), null);
        foreach (var text in texts) Assert.Equal(reference.Predict(text).Select(w => w.Tag), tagger.Predict(text).Select(w => w.Tag));
        Assert.Equal(texts[1].Split(' ').Length, tagger.Predict(texts[1]).Count);

        var reader = QuestionAnsweringTransformer.FromOnnxExport(Path.Combine(Folder("roberta-qa"), "onnx", "model.onnx"));
        var answer = reader.Answer("what was the film ?", "the film was great and the cast was fun");
        Assert.NotNull(answer);
        Assert.Contains(answer.Text, "the film was great and the cast was fun", StringComparison.Ordinal);
    }

    // A dynamically quantized export (optimum's model_quantized.onnx) is read as the float model of its weights, within the
    // quantization's rounding of what ONNX Runtime computes with the quantized graph.
    [Fact]
    public void AQuantizedTaskExport_IsReadAsTheFloatModelOfItsWeights()
    {
        string dir = Directory.CreateTempSubdirectory("quantized-task").FullName;
        try
        {
            var onnx = File.ReadAllBytes(Path.Combine(Folder("bert-classifier"), "onnx", "model.onnx"));
            File.WriteAllBytes(Path.Combine(dir, "model_quantized.onnx"), DynamicQuantization.Quantize(onnx, new(SignedWeights: true, PerChannel: true)));
            File.Copy(Path.Combine(Folder("bert-classifier"), "config.json"), Path.Combine(dir, "config.json"));
            var quantized = OnnxEncoderCheckpoint.LoadSequenceClassifier(dir);
            var original = OnnxEncoderCheckpoint.LoadSequenceClassifier(Folder("bert-classifier"));
            var diff = original.Model.Parameters.Data.Zip(quantized.Model.Parameters.Data, (x, y) => Math.Abs(x - y)).ToArray();
            Assert.True(diff.Max() > 0, "the weights were quantized");
            Assert.True(diff.Max() < 0.02, $"weights within a step of 8-bit rounding; largest difference {diff.Max()}");
        }
        finally { Directory.Delete(dir, recursive: true); }
    }

    [Fact]
    public void BadTaskExports_AreRefusedNamingTheFileAndTheProblem()
    {
        string dir = Directory.CreateTempSubdirectory("bad-task").FullName;
        try
        {
            string onnx = Path.Combine(dir, "model.onnx");
            File.Copy(Path.Combine(Folder("bert-classifier"), "onnx", "model.onnx"), onnx);
            // No config.json: the labels and the family are nowhere.
            var e = Assert.Throws<FileNotFoundException>(() => OnnxEncoderCheckpoint.LoadSequenceClassifier(onnx));
            Assert.Contains("config.json", e.Message);
            Assert.Contains(onnx, e.Message);
            // A classifier's graph read as a reader: its config.json names a sequence classifier.
            File.Copy(Path.Combine(Folder("bert-classifier"), "config.json"), Path.Combine(dir, "config.json"));
            var wrongTask = Assert.Throws<InvalidDataException>(() => OnnxEncoderCheckpoint.LoadQuestionAnswerer(onnx));
            Assert.Contains("BertForSequenceClassification", wrongTask.Message);
            // config.json's labels disagree with the graph's head: the head's shapes are named.
            var config = File.ReadAllText(Path.Combine(dir, "config.json")).Replace("\"2\": \"positive\"", "\"2\": \"positive\", \"3\": \"mixed\"", StringComparison.Ordinal);
            File.WriteAllText(Path.Combine(dir, "config.json"), config);
            var labels = Assert.Throws<InvalidDataException>(() => OnnxEncoderCheckpoint.LoadSequenceClassifier(onnx));
            Assert.Contains("classifier.weight", labels.Message);
            output.WriteLine(labels.Message);
            // A bare encoder's graph (no head) read as a classifier.
            File.Copy(QuantizedGraphTests.PathOf("pretrained/small-bert.onnx"), onnx, overwrite: true);
            File.Copy(Path.Combine(Folder("bert-classifier"), "config.json"), Path.Combine(dir, "config.json"), overwrite: true);
            var encoder = Assert.Throws<InvalidDataException>(() => OnnxEncoderCheckpoint.LoadSequenceClassifier(onnx));
            Assert.Contains(onnx, encoder.Message);
            output.WriteLine(encoder.Message);
            // A folder with neither weights nor an export.
            File.Delete(onnx);
            var none = Assert.Throws<FileNotFoundException>(() => OnnxEncoderCheckpoint.LoadSequenceClassifier(dir));
            Assert.Contains("holds no ONNX export", none.Message);
        }
        finally { Directory.Delete(dir, recursive: true); }
    }

    // A graph whose arithmetic is edited (the pooler's tanh made a ReLU) has the same weights: ONNX Runtime's check refuses it.
    [Fact]
    public void AnEditedTaskGraph_IsRefusedByOnnxRuntimesCheck()
    {
        string dir = Directory.CreateTempSubdirectory("edited-task").FullName;
        try
        {
            var proto = Proto.ModelProto.Parser.ParseFrom(File.ReadAllBytes(Path.Combine(Folder("bert-classifier"), "onnx", "model.onnx")));
            proto.Graph.Node.Single(n => n.OpType == "Tanh").OpType = "Relu";
            string onnx = Path.Combine(dir, "model.onnx");
            File.WriteAllBytes(onnx, Google.Protobuf.MessageExtensions.ToByteArray(proto));
            File.Copy(Path.Combine(Folder("bert-classifier"), "config.json"), Path.Combine(dir, "config.json"));
            var e = Assert.Throws<InvalidDataException>(() => OnnxEncoderCheckpoint.LoadSequenceClassifier(onnx));
            Assert.Contains("logits of probe sequence", e.Message);
            Assert.Contains("computes something else", e.Message);
        }
        finally { Directory.Delete(dir, recursive: true); }
    }

    // 500 mutated exports each (bytes, truncations, dimensions, operators, wiring, removed nodes and initializers, constants,
    // attributes), beside the model's config.json: each refused naming the file, or loaded computing what ONNX Runtime
    // computes with the mutated graph (logits within 1e-3 of the largest).
    [Theory]
    [InlineData("bert-classifier", 20261207)]
    [InlineData("roberta-qa", 20261208)]
    [InlineData("families/modernbert-classifier", 20261209)] // its bias-free head named by node scopes
    public async Task MutatedTaskExports_AreRefusedNamingTheFile_OrComputeWhatOnnxRuntimeComputes(string name, int seed)
    {
        // transformers.js' layout (tasks/<name>/onnx/model.onnx), or the graph beside its weights (families/<name>/model.onnx).
        bool beside = name.StartsWith("families/", StringComparison.Ordinal);
        string folder = beside ? QuantizedGraphTests.PathOf(name) : Folder(name);
        var original = File.ReadAllBytes(beside ? Path.Combine(folder, "model.onnx") : Path.Combine(folder, "onnx", "model.onnx"));
        var proto = Proto.ModelProto.Parser.ParseFrom(original);
        var expected = JsonDocument.Parse(File.ReadAllText(Path.Combine(folder, "expected.json"))).RootElement;
        bool reader = name.EndsWith("-qa", StringComparison.Ordinal), types = proto.Graph.Input.Any(i => i.Name == "token_type_ids");
        string dir = Directory.CreateTempSubdirectory("fuzz-task").FullName;
        File.Copy(Path.Combine(folder, "config.json"), Path.Combine(dir, "config.json"));
        var rng = new Random(seed);
        int cases = 0, refused = 0, loaded = 0;
        var failures = new List<string>();
        try
        {
            foreach (var (kind, n) in OnnxEncoderFuzzTests.Counts)
                for (int c = 0; c < n; c++, cases++)
                {
                    byte[] bytes = OnnxEncoderFuzzTests.Mutate(kind, original, proto, rng);
                    string source = Path.Combine(dir, $"fuzz-{kind}-{c}.onnx");
                    File.WriteAllBytes(source, bytes);
                    var model = await OnnxEncoderFuzzTests.LoadedOrRefused(() => reader ? (object)OnnxEncoderCheckpoint.LoadQuestionAnswerer(source) : OnnxEncoderCheckpoint.LoadSequenceClassifier(source),
                        source, failures);
                    if (model is null)
                    {
                        refused++;
                        continue;
                    }
                    loaded++;
                    // What the loaded model computes against ONNX Runtime on the mutated graph, on the fixture's batch.
                    var batch = Batch(expected, types);
                    float[] engine, runtime;
                    try { runtime = RunOnnxRuntime(bytes, batch, reader); }
                    catch (Microsoft.ML.OnnxRuntime.OnnxRuntimeException ortError) { failures.Add($"{source}: loaded, but ONNX Runtime cannot run it: {ortError.Message}"); continue; }
                    if (model is LoadedQuestionAnswerer qa)
                    {
                        var logits = qa.Model.Forward(batch);
                        int m = batch.BatchSize * batch.SeqLen;
                        engine = [.. Enumerable.Range(0, m).Select(i => logits[2 * i]), .. Enumerable.Range(0, m).Select(i => logits[2 * i + 1])];
                    }
                    else engine = ((LoadedClassifier)model).Model.Forward(batch).AsSpan(0, runtime.Length).ToArray();
                    double scale = runtime.Max(v => Math.Abs(v)) + 1e-6, worst = 0;
                    for (int i = 0; i < runtime.Length; i++)
                        if (!reader || batch.AttentionMask![i % (batch.BatchSize * batch.SeqLen)] != 0) worst = Math.Max(worst, Math.Abs(engine[i] - runtime[i]));
                    if (engine.Length != runtime.Length || worst > 1e-3 * scale) failures.Add($"{source}: loaded as a model that computes something other than the graph ({worst:G3})");
                }
        }
        finally { Directory.Delete(dir, recursive: true); }
        output.WriteLine($"{name}: {cases} cases: {refused} refused, {loaded} loaded, {failures.Count} failures");
        Assert.True(cases >= 500);
        Assert.True(failures.Count == 0, string.Join("\n", failures.Take(20)));
    }

    // ONNX Runtime's logits (a classifier's) or start then end logits (a reader's) on the batch.
    private static float[] RunOnnxRuntime(byte[] onnx, TokenBatch batch, bool reader)
    {
        using var session = new Microsoft.ML.OnnxRuntime.InferenceSession(onnx);
        int[] shape = [batch.BatchSize, batch.SeqLen];
        var feeds = new List<Microsoft.ML.OnnxRuntime.NamedOnnxValue>();
        foreach (var (input, values) in new[] { ("input_ids", batch.Ids), ("attention_mask", batch.AttentionMask!), ("token_type_ids", batch.TokenTypeIds) })
            if (values is not null && session.InputMetadata.ContainsKey(input))
                feeds.Add(Microsoft.ML.OnnxRuntime.NamedOnnxValue.CreateFromTensor(input, new Microsoft.ML.OnnxRuntime.Tensors.DenseTensor<long>(values.Select(v => (long)v).ToArray(), shape)));
        string[] outputs = reader ? ["start_logits", "end_logits"] : ["logits"];
        using var results = session.Run(feeds, outputs.Where(session.OutputMetadata.ContainsKey).ToArray());
        return results.SelectMany(r => r.AsTensor<float>().ToArray()).ToArray();
    }

    private sealed class Row { public string Text { get; set; } = ""; }
    private sealed class Scored { public float[] Score { get; set; } = []; }
}
