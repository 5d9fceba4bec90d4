using System.IO.Compression;
using System.Text;
using System.Text.Json;
using MLNetTransformers.Core.Pretrained;
using Xunit;

namespace MLNetTransformers.Core.Tests;

/// <summary>
/// PyTorch's own weights files (<c>pytorch_model.bin</c>, written by make_pretrained.py with torch.save): read without
/// running their pickle, to the same weights as the safetensors of the same checkpoint; bad and unsafe files refused by name.
/// </summary>
public class PyTorchCheckpointTests
{
    private static string Fixture(string name) => Path.Combine(AppContext.BaseDirectory, "Fixtures", "pretrained", name);

    [Fact]
    public void PickleFolder_LoadsTheSameEncoderAsItsSafetensors()
    {
        var fromPickle = PretrainedCheckpoint.LoadFolder(Fixture("bert-pickle"));
        var fromSafetensors = PretrainedCheckpoint.LoadFolder(Fixture("bert"));
        Assert.Equal(fromSafetensors.Encoder.Config, fromPickle.Encoder.Config);
        Assert.Equal(fromSafetensors.Encoder.Parameters.Data, fromPickle.Encoder.Parameters.Data); // one weight stored transposed, a strided view
        Assert.Equal(["cls.predictions.bias", "cls.predictions.decoder.weight"], fromPickle.Unused); // the decoder shares the embeddings' storage
        // The masked-LM reader goes through the same file (this checkpoint has no MLM transform, and is refused for it by name).
        Assert.Contains("pytorch_model.bin' lacks the tensor 'cls.predictions.transform.dense.weight'",
            Assert.Throws<InvalidDataException>(() => PretrainedCheckpoint.LoadMaskedLanguageModelFolder(Fixture("bert-pickle"))).Message);
    }

    [Fact]
    public void EveryDtypeViewAndSharedStorage_ReadsAsPyTorchHoldsIt()
    {
        using var file = PyTorchCheckpointFile.Open(Fixture("tensors.bin"));
        using var doc = JsonDocument.Parse(File.ReadAllText(Fixture("tensors.json")));
        foreach (var t in doc.RootElement.EnumerateObject())
        {
            var shape = t.Value.GetProperty("shape").EnumerateArray().Select(d => d.GetInt32()).ToArray();
            Assert.Equal(shape, file.Shapes[t.Name]);
            var expected = t.Value.GetProperty("values").EnumerateArray().Select(v => (float)v.GetDouble()).ToArray();
            var actual = new float[expected.Length];
            file.Read(t.Name, actual);
            Assert.Equal(expected, actual);
        }
        Assert.Equal(["bf16", "f16", "f32", "f64", "ids", "scalar", "transposed", "view"], file.Shapes.Keys.Order());
        Assert.Equal("I64", file.DType("ids"));
        Assert.Contains("tensor 'ids' is I64", Assert.Throws<InvalidDataException>(() => file.Read("ids", new float[4])).Message);
    }

    // A torch.save archive made here: NAME/data.pkl and NAME/data/KEY entries, stored as PyTorch stores them.
    internal static byte[] Archive(byte[] pickle, params (string Key, byte[] Data)[] storages)
    {
        using var ms = new MemoryStream();
        using (var zip = new ZipArchive(ms, ZipArchiveMode.Create, leaveOpen: true))
        {
            void Add(string name, byte[] data)
            {
                using var s = zip.CreateEntry(name, CompressionLevel.NoCompression).Open();
                s.Write(data);
            }
            Add("archive/data.pkl", pickle);
            foreach (var (key, data) in storages) Add("archive/data/" + key, data);
        }
        return ms.ToArray();
    }

    // The pickle torch.save writes for {name: tensor}, a float32 tensor of the given size/stride/offset over storage '0' of count elements.
    internal static byte[] StateDict(string name, int count, int offset, int[] size, int[] stride)
    {
        var p = new List<byte> { 0x80, 2 };
        void Text(string s) { var b = Encoding.UTF8.GetBytes(s); p.Add((byte)'X'); p.AddRange(BitConverter.GetBytes(b.Length)); p.AddRange(b); }
        void Int(int v) { p.Add((byte)'J'); p.AddRange(BitConverter.GetBytes(v)); }
        void Tuple(int[] v) { p.Add((byte)'('); foreach (int x in v) Int(x); p.Add((byte)'t'); }
        p.AddRange("ccollections\nOrderedDict\n)R("u8.ToArray());
        Text(name);
        p.AddRange("ctorch._utils\n_rebuild_tensor_v2\n(("u8.ToArray());
        Text("storage"); p.AddRange("ctorch\nFloatStorage\n"u8.ToArray()); Text("0"); Text("cpu"); Int(count);
        p.AddRange("tQ"u8.ToArray());
        Int(offset); Tuple(size); Tuple(stride);
        p.AddRange([0x89, (byte)'N', (byte)'t', (byte)'R', (byte)'u', (byte)'.']); // requires_grad False, no hooks; the call; the dict's items
        return [.. p];
    }

    private static string Refused(byte[] file)
    {
        string path = Path.Combine(Directory.CreateTempSubdirectory("bad-pickle").FullName, "pytorch_model.bin");
        File.WriteAllBytes(path, file);
        try
        {
            var e = Assert.Throws<InvalidDataException>(() => { using var f = PyTorchCheckpointFile.Open(path); foreach (var (n, s) in f.Shapes) f.Read(n, new float[s.Aggregate(1, (a, d) => a * d)]); });
            Assert.Contains(path, e.Message);
            return e.Message;
        }
        finally { Directory.Delete(Path.GetDirectoryName(path)!, recursive: true); }
    }

    [Fact]
    public void AnArchiveBuiltHere_Reads_SoEachBadOneBelowDiffersInOneThing()
    {
        string path = Path.Combine(Directory.CreateTempSubdirectory("pickle").FullName, "w.bin");
        File.WriteAllBytes(path, Archive(StateDict("w", 6, 0, [2, 3], [3, 1]), ("0", new float[] { 1, 2, 3, 4, 5, 6 }.SelectMany(BitConverter.GetBytes).ToArray())));
        using (var f = PyTorchCheckpointFile.Open(path))
        {
            var v = new float[6];
            f.Read("w", v);
            Assert.Equal([1f, 2, 3, 4, 5, 6], v);
        }
        Directory.Delete(Path.GetDirectoryName(path)!, recursive: true);
    }

    [Fact]
    public void BadAndUnsafeFiles_AreRefusedNamingTheProblem()
    {
        byte[] six = new float[] { 1, 2, 3, 4, 5, 6 }.SelectMany(BitConverter.GetBytes).ToArray();
        var good = StateDict("w", 6, 0, [2, 3], [3, 1]);
        Assert.Contains("legacy format", Refused([0x80, 0x02, .. "some pickle"u8.ToArray()]));
        Assert.Contains("not a zip archive", Refused("a text file, not weights"u8.ToArray()));
        Assert.Contains("no NAME/data.pkl", Refused(ZipWith("weights/other.pkl")));
        // Code a pickle names is never run: os.system("ls") is refused by name.
        Assert.Contains("refers to os.system", Refused(Archive([0x80, 0x02, .. "cos\nsystem\nX"u8.ToArray(), 2, 0, 0, 0, .. "ls"u8.ToArray(), 0x85, (byte)'R', (byte)'.'])));
        Assert.Contains("refers to builtins.eval", Refused(Archive([0x80, 0x02, .. "cbuiltins\neval\n."u8.ToArray()])));
        Assert.Contains("opcode 0x69", Refused(Archive([0x80, 0x02, .. "i"u8.ToArray()])));
        Assert.Contains("ends before its STOP", Refused(Archive(good[..^3], ("0", six))));
        Assert.Contains("does not hold a dict", Refused(Archive([0x80, 0x02, .. "]."u8.ToArray()])));
        Assert.Contains("holds no tensors", Refused(Archive([0x80, 0x02, .. "}X\x0a\x00\x00\x00state_dict}s."u8.ToArray()])));
        Assert.Contains("which the archive does not hold", Refused(Archive(good)));
        Assert.Contains("storage '0' of tensor 'w' holds 20 bytes; 6 F32 elements need 24", Refused(Archive(good, ("0", six[..20]))));
        Assert.Contains("reaches element 6 of a storage of 6", Refused(Archive(StateDict("w", 6, 1, [2, 3], [3, 1]), ("0", six))));
        Assert.Contains("reaches element 9", Refused(Archive(StateDict("w", 6, 0, [2, 3], [1, 4]), ("0", six))));
        var corrupt = Archive(good, ("0", six));
        int at = corrupt.AsSpan().IndexOf(six.AsSpan());
        corrupt[at + 5] ^= 0x40;
        Assert.Contains("fails its CRC-32 check", Refused(corrupt));
    }

    private static byte[] ZipWith(string entry)
    {
        using var ms = new MemoryStream();
        using (var zip = new ZipArchive(ms, ZipArchiveMode.Create, leaveOpen: true)) zip.CreateEntry(entry);
        return ms.ToArray();
    }

    [Fact]
    public void AFolderWithoutWeights_SaysWhatItLooksFor()
    {
        string dir = Directory.CreateTempSubdirectory("no-weights").FullName;
        try
        {
            foreach (var f in new[] { "config.json", "vocab.txt" }) File.Copy(Path.Combine(Fixture("bert"), f), Path.Combine(dir, f));
            Assert.Contains("has no model.safetensors, pytorch_model.bin or index of their shards.", Assert.Throws<FileNotFoundException>(() => PretrainedCheckpoint.LoadFolder(dir)).Message);
            File.WriteAllText(Path.Combine(dir, "pytorch_model.bin.index.json"), "{}");
            Assert.Contains("pytorch_model.bin.index.json' has no weight_map object.", Assert.Throws<InvalidDataException>(() => PretrainedCheckpoint.LoadFolder(dir)).Message);
        }
        finally { Directory.Delete(dir, recursive: true); }
    }

    // The BERT fixture split as Hugging Face shards a large model: two safetensors shards and model.safetensors.index.json
    // (and bert-pickle-sharded/: two pytorch_model-*.bin shards from make_pretrained.py): the same weights as one file. An
    // index that names a missing shard, a path instead of a file name, or a shard without the tensor is refused naming it.
    [Fact]
    public void ShardedCheckpoints_ReadAsOneFile_AndBadIndexesAreRefusedByName()
    {
        var whole = PretrainedCheckpoint.LoadFolder(Fixture("bert")).Encoder;
        Assert.Equal(whole.Parameters.Data, PretrainedCheckpoint.LoadFolder(Fixture("bert-pickle-sharded")).Encoder.Parameters.Data);
        string dir = Directory.CreateTempSubdirectory("sharded").FullName;
        try
        {
            foreach (var f in new[] { "config.json", "vocab.txt" }) File.Copy(Path.Combine(Fixture("bert"), f), Path.Combine(dir, f));
            var map = new System.Text.Json.Nodes.JsonObject();
            using (var source = SafeTensorsFile.Open(Path.Combine(Fixture("bert"), "model.safetensors")))
            {
                var names = source.Shapes.Keys.Order(StringComparer.Ordinal).ToArray();
                for (int shard = 0; shard < 2; shard++)
                {
                    string file = $"model-0000{shard + 1}-of-00002.safetensors";
                    var part = names.Where((_, i) => i % 2 == shard && !names[i].EndsWith("position_ids", StringComparison.Ordinal)).Select(n =>
                    {
                        var values = new float[source.Shapes[n].Aggregate(1, (a, d) => a * d)];
                        source.Read(n, values);
                        map[n] = file;
                        return (n, source.Shapes[n], (ReadOnlyMemory<float>)values);
                    }).ToList();
                    SafeTensorsFile.Write(Path.Combine(dir, file), part);
                }
            }
            string index = Path.Combine(dir, "model.safetensors.index.json");
            void Index(System.Text.Json.Nodes.JsonObject weights) => File.WriteAllText(index, new System.Text.Json.Nodes.JsonObject { ["metadata"] = new System.Text.Json.Nodes.JsonObject(), ["weight_map"] = weights.DeepClone() }.ToJsonString());
            Index(map);
            var sharded = PretrainedCheckpoint.LoadFolder(dir);
            Assert.Equal(whole.Parameters.Data, sharded.Encoder.Parameters.Data);
            Assert.Equal(["cls.predictions.bias"], sharded.Unused);

            var wrongShard = (System.Text.Json.Nodes.JsonObject)map.DeepClone();
            wrongShard["bert.pooler.dense.weight"] = map["bert.pooler.dense.weight"]!.GetValue<string>().Contains("00001") ? "model-00002-of-00002.safetensors" : "model-00001-of-00002.safetensors";
            Index(wrongShard);
            Assert.Contains("puts 'bert.pooler.dense.weight' in", Assert.Throws<InvalidDataException>(() => PretrainedCheckpoint.LoadFolder(dir)).Message);
            var escape = (System.Text.Json.Nodes.JsonObject)map.DeepClone();
            escape["bert.pooler.dense.weight"] = "../model-00001-of-00002.safetensors";
            Index(escape);
            Assert.Contains("shards are file names beside the index", Assert.Throws<InvalidDataException>(() => PretrainedCheckpoint.LoadFolder(dir)).Message);
            File.Delete(Path.Combine(dir, "model-00002-of-00002.safetensors"));
            Index(map);
            Assert.Contains("names the shard 'model-00002-of-00002.safetensors', which is not beside it", Assert.Throws<FileNotFoundException>(() => PretrainedCheckpoint.LoadFolder(dir)).Message);
        }
        finally { Directory.Delete(dir, recursive: true); }
    }
}
