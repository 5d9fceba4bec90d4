using System.IO.Compression;
using System.Text;
using MLNetTransformers.Pretrained;
using Xunit;
using Xunit.Abstractions;

namespace MLNetTransformers.Tests;

/// <summary>
/// Mutated Hugging Face model folders (the BERT fixture of Fixtures/pretrained): bytes of the safetensors header and
/// its length changed, the file cut short, config.json and vocab.txt edited. Every case must load or fail with an
/// exception that names the file; none may crash or hang. A safetensors header that still loads after a mutation must
/// describe the same weights (the header has no checksum, but its offsets, sizes and shapes must all agree). The same
/// for the checkpoint as PyTorch's pytorch_model.bin, whole and in shards.
/// </summary>
[Collection("Fuzz")]
public sealed class PretrainedFuzzTests(ITestOutputHelper output)
{
    private static readonly string Source = Path.Combine(AppContext.BaseDirectory, "Fixtures", "pretrained", "bert");

    private enum Mutation { HeaderBytes, HeaderLength, Truncate, Config, Vocabulary }

    [Fact]
    public async Task MutatedCheckpoints_LoadOrFailNamingTheFile()
    {
        var weights = File.ReadAllBytes(Path.Combine(Source, "model.safetensors"));
        var config = File.ReadAllText(Path.Combine(Source, "config.json"));
        var vocab = File.ReadAllText(Path.Combine(Source, "vocab.txt"));
        long headerLength = BitConverter.ToInt64(weights, 0);
        var counts = new Dictionary<Mutation, int> { [Mutation.HeaderBytes] = 300, [Mutation.HeaderLength] = 50, [Mutation.Truncate] = 50, [Mutation.Config] = 100, [Mutation.Vocabulary] = 100 };
        await Fuzz(Source, counts, 20261203, kind => kind is Mutation.HeaderBytes or Mutation.HeaderLength or Mutation.Truncate, (kind, rng, folder) =>
        {
            byte[] w = (byte[])weights.Clone();
            string cfg = config, voc = vocab;
            switch (kind)
            {
                case Mutation.HeaderBytes:
                    for (int k = rng.Next(1, 4); k > 0; k--) w[8 + rng.Next((int)headerLength)] = (byte)rng.Next(256);
                    break;
                case Mutation.HeaderLength:
                    BitConverter.GetBytes(rng.Next(3) switch { 0 => rng.NextInt64(), 1 => headerLength + rng.Next(-64, 64), _ => (long)rng.Next(200_000_000) }).CopyTo(w, 0);
                    break;
                case Mutation.Truncate:
                    Array.Resize(ref w, rng.Next(w.Length));
                    break;
                case Mutation.Config:
                    cfg = Edit(config, rng);
                    break;
                case Mutation.Vocabulary:
                    voc = rng.Next(3) == 0 ? string.Join('\n', vocab.Split('\n').Where((_, i) => i != rng.Next(40))) : Edit(vocab, rng);
                    break;
            }
            File.WriteAllBytes(Path.Combine(folder, "model.safetensors"), w);
            File.WriteAllText(Path.Combine(folder, "config.json"), cfg);
            File.WriteAllText(Path.Combine(folder, "vocab.txt"), voc);
        });
    }

    private enum PickleMutation { PickleBytes, FileBytes, Truncate }

    // The same checkpoint as PyTorch's pytorch_model.bin: bytes of its pickle changed (the archive rebuilt around it,
    // so the zip's checksums agree and the unpickler meets the change: a valid pickle may then describe other weights),
    // bytes of the file changed (which the checksums must catch wherever they could change a weight), the file cut short.
    [Fact]
    public async Task MutatedPyTorchCheckpoints_LoadOrFailNamingTheFile()
    {
        string source = Path.Combine(AppContext.BaseDirectory, "Fixtures", "pretrained", "bert-pickle");
        var file = File.ReadAllBytes(Path.Combine(source, "pytorch_model.bin"));
        var entries = new List<(string Name, byte[] Data)>();
        using (var zip = new ZipArchive(new MemoryStream(file)))
            foreach (var e in zip.Entries)
            {
                using var s = e.Open();
                var data = new byte[e.Length];
                s.ReadExactly(data);
                entries.Add((e.FullName, data));
            }
        var counts = new Dictionary<PickleMutation, int> { [PickleMutation.PickleBytes] = 250, [PickleMutation.FileBytes] = 150, [PickleMutation.Truncate] = 100 };
        await Fuzz(source, counts, 20261206, kind => kind is not PickleMutation.PickleBytes, (kind, rng, folder) =>
        {
            byte[] w = (byte[])file.Clone();
            switch (kind)
            {
                case PickleMutation.PickleBytes:
                    var pickle = (byte[])entries[0].Data.Clone();
                    for (int k = rng.Next(1, 4); k > 0; k--) pickle[rng.Next(pickle.Length)] = (byte)rng.Next(256);
                    w = Rebuilt(entries.Select((e, i) => i == 0 ? (e.Name, pickle) : e));
                    break;
                case PickleMutation.FileBytes:
                    for (int k = rng.Next(1, 4); k > 0; k--) w[rng.Next(w.Length)] ^= (byte)rng.Next(1, 256);
                    break;
                case PickleMutation.Truncate:
                    Array.Resize(ref w, rng.Next(w.Length));
                    break;
            }
            File.WriteAllBytes(Path.Combine(folder, "pytorch_model.bin"), w);
            foreach (var f in new[] { "config.json", "vocab.txt" }) File.Copy(Path.Combine(source, f), Path.Combine(folder, f));
        });
    }

    private enum IndexMutation { Edit }

    // A checkpoint in two pytorch_model-*.bin shards: its pytorch_model.bin.index.json edited (names, shard file names,
    // the JSON itself). Every case loads the same weights or fails naming the file.
    [Fact]
    public async Task MutatedShardIndexes_LoadTheSameWeightsOrFailNamingTheFile()
    {
        string source = Path.Combine(AppContext.BaseDirectory, "Fixtures", "pretrained", "bert-pickle-sharded");
        string index = File.ReadAllText(Path.Combine(source, "pytorch_model.bin.index.json"));
        await Fuzz(source, new Dictionary<IndexMutation, int> { [IndexMutation.Edit] = 500 }, 20261210, _ => true, (_, rng, folder) =>
        {
            foreach (var f in Directory.GetFiles(source)) File.Copy(f, Path.Combine(folder, Path.GetFileName(f)));
            File.WriteAllText(Path.Combine(folder, "pytorch_model.bin.index.json"), Edit(index, rng));
        });
    }

    private enum ClassifierMutation { Config, HeaderBytes }

    // A BertForSequenceClassification (ElectraForSequenceClassification: embedding_size among the config's keys;
    // MPNetForSequenceClassification: relative_attention_num_buckets, its tokenizer's specials from model_type;
    // AlbertForSequenceClassification: num_hidden_groups and spiece.model; DebertaV2ForSequenceClassification: its relative attention's
    // settings and spm.model) folder read
    // as a ready classifier: config.json edited (id2label among it) and bytes of the safetensors header changed. Every case
    // loads or fails naming the file; a header change that loads gives the same weights.
    [Theory]
    [InlineData("bert-classifier", 20261207)]
    [InlineData("electra-classifier", 20261208)]
    [InlineData("roformer-classifier", 20261240)] // its sinusoidal table checked against the config's
    [InlineData("mpnet-classifier", 20261209)]
    [InlineData("albert-classifier", 20261210)]
    [InlineData("deberta-classifier", 20261216)]
    [InlineData("modernbert-classifier", 20261217)]
    [InlineData("nomic-classifier", 20261218)]
    [InlineData("jina-classifier", 20261219)]
    [InlineData("mosaic-classifier", 20261228)]
    [InlineData("deberta-v1-classifier", 20261230)]
    [InlineData("ernie-classifier", 20261231)]
    [InlineData("esm-classifier", 20261232)]
    [InlineData("megatron-classifier", 20261234)]
    [InlineData("roberta-prelayernorm-classifier", 20261235)]
    [InlineData("gte-classifier", 20261220)]
    public Task MutatedSequenceClassifiers_LoadOrFailNamingTheFile(string fixture, int seed) =>
        MutatedTaskFolders(fixture, seed, folder => Classification.TransformerClassificationTransformer.FromHuggingFaceFolder(folder, maxTokens: 16).Model.Parameters);

    // The same mutations of BertForTokenClassification, RobertaForTokenClassification and ModernBertForTokenClassification folders read as taggers.
    [Theory]
    [InlineData("bert-token-classifier", 20261236)]
    [InlineData("roberta-token-classifier", 20261237)]
    [InlineData("modernbert-token-classifier", 20261238)]
    public Task MutatedTokenClassifiers_LoadOrFailNamingTheFile(string fixture, int seed) =>
        MutatedTaskFolders(fixture, seed, folder => TokenClassification.TokenClassificationTransformer.FromHuggingFaceFolder(folder, maxTokens: 16).Model.Parameters);

    // The same mutations of BertForQuestionAnswering, RobertaForQuestionAnswering and ModernBertForQuestionAnswering folders read as question answerers.
    [Theory]
    [InlineData("bert-qa", 20261239)]
    [InlineData("roberta-qa", 20261240)]
    [InlineData("modernbert-qa", 20261241)]
    public Task MutatedQuestionAnswerers_LoadOrFailNamingTheFile(string fixture, int seed) =>
        MutatedTaskFolders(fixture, seed, folder => QuestionAnswering.QuestionAnsweringTransformer.FromHuggingFaceFolder(folder, maxTokens: 16).Model.Parameters);

    // A task model's folder (config.json with id2label or architectures, model.safetensors, its tokenizer's files) mutated and read by load.
    private async Task MutatedTaskFolders(string fixture, int seed, Func<string, Core.Layers.ParameterSet> load)
    {
        string source = Path.Combine(AppContext.BaseDirectory, "Fixtures", "pretrained", fixture);
        var weights = File.ReadAllBytes(Path.Combine(source, "model.safetensors"));
        var config = File.ReadAllText(Path.Combine(source, "config.json"));
        long headerLength = BitConverter.ToInt64(weights, 0);
        int labels = config.IndexOf("\"id2label\"", StringComparison.Ordinal) is var at and >= 0 ? at : config.IndexOf("\"architectures\"", StringComparison.Ordinal);
        var counts = new Dictionary<ClassifierMutation, int> { [ClassifierMutation.Config] = 350, [ClassifierMutation.HeaderBytes] = 150 };
        await Fuzz(source, counts, seed, kind => kind == ClassifierMutation.HeaderBytes, (kind, rng, folder) =>
        {
            byte[] w = (byte[])weights.Clone();
            string cfg = config;
            if (kind == ClassifierMutation.HeaderBytes)
                for (int k = rng.Next(1, 4); k > 0; k--) w[8 + rng.Next((int)headerLength)] = (byte)rng.Next(256);
            else if (rng.Next(2) == 0) cfg = Edit(config, rng);
            else cfg = config[..labels] + Edit(config[labels..], rng); // most edits where the labels (or the task's class) are
            File.WriteAllBytes(Path.Combine(folder, "model.safetensors"), w);
            File.WriteAllText(Path.Combine(folder, "config.json"), cfg);
            foreach (var tokenizer in new[] { "vocab.txt", "spiece.model", "spm.model", "vocab.json", "merges.txt" }.Where(f => File.Exists(Path.Combine(source, f))))
                File.Copy(Path.Combine(source, tokenizer), Path.Combine(folder, tokenizer));
        }, load);
    }

    private enum ModulesMutation { ModulesJson, PoolingConfig, DenseConfig, DenseHeader, DenseTruncate }

    // A sentence-transformers folder with a Dense module (st-dense: Transformer, Pooling, Dense, Normalize) mutated in
    // modules.json, 1_Pooling/config.json, 2_Dense/config.json and 2_Dense/model.safetensors (header bytes, cut short):
    // each case loads (the Dense weights unchanged when only their file's header was touched and it still loads) or
    // fails naming the file.
    [Fact]
    public async Task MutatedSentenceTransformersModules_LoadOrFailNamingTheFile()
    {
        string source = Path.Combine(AppContext.BaseDirectory, "Fixtures", "pretrained", "st-dense");
        string Read(string f) => File.ReadAllText(Path.Combine(source, f));
        string modules = Read("modules.json"), pooling = Read(Path.Combine("1_Pooling", "config.json")), dense = Read(Path.Combine("2_Dense", "config.json"));
        var denseWeights = File.ReadAllBytes(Path.Combine(source, "2_Dense", "model.safetensors"));
        long headerLength = BitConverter.ToInt64(denseWeights, 0);
        var counts = new Dictionary<ModulesMutation, int>
        {
            [ModulesMutation.ModulesJson] = 150, [ModulesMutation.PoolingConfig] = 80, [ModulesMutation.DenseConfig] = 150, [ModulesMutation.DenseHeader] = 100, [ModulesMutation.DenseTruncate] = 30,
        };
        await Fuzz(source, counts, 20261223, kind => kind == ModulesMutation.DenseHeader, (kind, rng, folder) =>
        {
            foreach (var f in new[] { "config.json", "vocab.txt", "model.safetensors" }) File.Copy(Path.Combine(source, f), Path.Combine(folder, f));
            Directory.CreateDirectory(Path.Combine(folder, "1_Pooling"));
            Directory.CreateDirectory(Path.Combine(folder, "2_Dense"));
            byte[] w = (byte[])denseWeights.Clone();
            if (kind == ModulesMutation.DenseHeader) for (int k = rng.Next(1, 4); k > 0; k--) w[8 + rng.Next((int)headerLength)] = (byte)rng.Next(256);
            if (kind == ModulesMutation.DenseTruncate) Array.Resize(ref w, rng.Next(w.Length));
            File.WriteAllText(Path.Combine(folder, "modules.json"), kind == ModulesMutation.ModulesJson ? (rng.Next(2) == 0 ? Edit(modules, rng) : Restructured(modules, rng)) : modules);
            File.WriteAllText(Path.Combine(folder, "1_Pooling", "config.json"), kind == ModulesMutation.PoolingConfig ? (rng.Next(2) == 0 ? Edit(pooling, rng) : Restructured(pooling, rng)) : pooling);
            File.WriteAllText(Path.Combine(folder, "2_Dense", "config.json"), kind == ModulesMutation.DenseConfig ? (rng.Next(2) == 0 ? Edit(dense, rng) : Restructured(dense, rng)) : dense);
            File.WriteAllBytes(Path.Combine(folder, "2_Dense", "model.safetensors"), w);
        });
    }

    private enum TokenizerJsonMutation { Characters, Truncate, Structure }

    // A BPE tokenizer.json mutated: ModernBERT's (byte-level, specials as added tokens, a template, an NFC normalizer) and
    // a DNABERT-2-shaped one (over characters, the Whitespace pre-tokenizer, an unknown token): characters edited, the file
    // cut short, and JSON nodes removed, retyped or renumbered (in the vocabulary, merges, added tokens, post-processor,
    // pre-tokenizer, normalizer and model options). Every case loads with the encoder (and then tokenizes texts and pairs)
    // or fails naming the file.
    [Theory]
    [InlineData("modernbert-bpe", 20261219)]
    [InlineData("mosaic-dna", 20261229)]
    public async Task MutatedBpeTokenizerJson_LoadsAndTokenizesOrFailsNamingTheFile(string fixture, int seed)
    {
        string source = Path.Combine(AppContext.BaseDirectory, "Fixtures", "pretrained", fixture);
        string json = File.ReadAllText(Path.Combine(source, "tokenizer.json"));
        var counts = new Dictionary<TokenizerJsonMutation, int> { [TokenizerJsonMutation.Characters] = 150, [TokenizerJsonMutation.Truncate] = 50, [TokenizerJsonMutation.Structure] = 300 };
        await Fuzz(source, counts, seed, _ => true, (kind, rng, folder) =>
        {
            foreach (var f in Directory.GetFiles(source)) File.Copy(f, Path.Combine(folder, Path.GetFileName(f)));
            string mutated = kind switch
            {
                TokenizerJsonMutation.Characters => Edit(json, rng),
                TokenizerJsonMutation.Truncate => json[..rng.Next(json.Length)],
                _ => Restructured(json, rng),
            };
            File.WriteAllText(Path.Combine(folder, "tokenizer.json"), mutated);
        }, folder =>
        {
            var pretrained = PretrainedEncoder.FromHuggingFaceFolder(folder, maxTokens: 16);
            var (ids, mask, types) = (new int[16], new int[16], new int[16]);
            foreach (var text in new[] { "the film was great and fun.", "Café crème 😀 東京", "  12.5% [MASK] ok", "ACGTAGCTTAGCAAAA NNGATTACA" }) pretrained.Tokenizer.Encode(text, ids, mask);
            pretrained.Tokenizer.EncodePair("I loved it", "the plot was dull", ids, mask, types, out _);
            return pretrained.Encoder.Parameters;
        });
    }

    // One node of the JSON tree (half the time among the vocabulary, merges and added tokens, else anywhere else) removed,
    // replaced by a value of another kind, or, for a number, by another number.
    private static string Restructured(string json, Random rng)
    {
        var root = System.Text.Json.Nodes.JsonNode.Parse(json)!;
        var all = new List<(System.Text.Json.Nodes.JsonNode Parent, object Key)>();
        void Walk(System.Text.Json.Nodes.JsonNode node)
        {
            if (node is System.Text.Json.Nodes.JsonObject o)
                foreach (var (k, v) in o.ToList()) { all.Add((o, k)); if (v is not null) Walk(v); }
            else if (node is System.Text.Json.Nodes.JsonArray a)
                for (int i = 0; i < a.Count; i++) { all.Add((a, i)); if (a[i] is { } v) Walk(v); }
        }
        Walk(root);
        bool InBulk((System.Text.Json.Nodes.JsonNode Parent, object Key) n) => n.Parent.GetPath() is var path && (path.Contains(".vocab") || path.Contains(".merges") || path.Contains("added_tokens"));
        var pool = rng.Next(2) == 0 ? all.Where(InBulk).ToList() : all.Where(n => !InBulk(n)).ToList();
        if (pool.Count == 0) pool = all; // a small file (a module's config) has no bulk
        var (parent, key) = pool[rng.Next(pool.Count)];
        System.Text.Json.Nodes.JsonNode? Replacement(System.Text.Json.Nodes.JsonNode? old) => rng.Next(9) switch
        {
            0 => null, 1 => -1, 2 => 0, 3 => old is System.Text.Json.Nodes.JsonValue v && v.TryGetValue<int>(out int n) ? n + rng.Next(-3, 4) : 7,
            4 => 1e12, 5 => "[CLS]", 6 => new System.Text.Json.Nodes.JsonArray(), 7 => new System.Text.Json.Nodes.JsonObject(), _ => true,
        };
        bool remove = rng.Next(3) == 0;
        if (parent is System.Text.Json.Nodes.JsonObject obj)
        {
            if (remove) obj.Remove((string)key);
            else obj[(string)key] = Replacement(obj[(string)key]);
        }
        else if (parent is System.Text.Json.Nodes.JsonArray arr)
        {
            if (remove) arr.RemoveAt((int)key);
            else arr[(int)key] = Replacement(arr[(int)key]);
        }
        return root.ToJsonString();
    }

    // Writes each case's folder (write), loads it within 30 s, and requires that it loads (with the source's weights when
    // mustMatch says so) or fails with an exception naming the file.
    private async Task Fuzz<TKind>(string source, Dictionary<TKind, int> counts, int seed, Func<TKind, bool> mustMatch, Action<TKind, Random, string> write,
        Func<string, Core.Layers.ParameterSet>? load = null) where TKind : notnull
    {
        load ??= folder => PretrainedEncoder.FromHuggingFaceFolder(folder, maxTokens: 16).Encoder.Parameters;
        var original = load(source);
        int cases = 0, rejected = 0, loaded = 0;
        var failures = new List<string>();
        var rng = new Random(seed);
        string dir = Directory.CreateTempSubdirectory("pretrained-fuzz").FullName;
        try
        {
            foreach (var (kind, n) in counts)
                for (int c = 0; c < n; c++, cases++)
                {
                    string folder = Path.Combine(dir, $"case{cases}");
                    Directory.CreateDirectory(folder);
                    write(kind, rng, folder);
                    var (weights, failure) = await LoadOrFail(folder, $"{kind} case {c}", load);
                    if (failure is not null) failures.Add(failure);
                    if (weights is null) { rejected++; continue; }
                    loaded++;
                    if (mustMatch(kind) && !weights.Data.AsSpan().SequenceEqual(original.Data))
                        failures.Add($"{kind} case {c}: loaded different weights without an error");
                    Directory.Delete(folder, recursive: true);
                }
        }
        finally { Directory.Delete(dir, recursive: true); }
        output.WriteLine($"{cases} cases: {rejected} rejected, {loaded} loaded, {failures.Count} failures");
        Assert.True(cases >= 500);
        Assert.True(failures.Count == 0, string.Join("\n", failures.Take(20)));
    }

    // Loads folder within 30 s: its weights, or null and what went wrong if the failure was not a clean one naming the file.
    private static async Task<(Core.Layers.ParameterSet? Weights, string? Failure)> LoadOrFail(string folder, string what, Func<string, Core.Layers.ParameterSet> load)
    {
        var task = Task.Run(() => load(folder));
        if (await Task.WhenAny(task, Task.Delay(TimeSpan.FromSeconds(30))) != task) return (null, $"{what}: hung");
        if (task.Exception?.InnerException is not { } e) return (await task, null);
        if (e is not (InvalidDataException or NotSupportedException or FileNotFoundException)) return (null, $"{what}: {e.GetType().Name}: {e.Message}");
        return (null, e.Message.Contains(folder, StringComparison.Ordinal) ? null : $"{what}: the message does not name the file: {e.Message}");
    }

    private static byte[] Rebuilt(IEnumerable<(string Name, byte[] Data)> entries)
    {
        using var ms = new MemoryStream();
        using (var zip = new ZipArchive(ms, ZipArchiveMode.Create, leaveOpen: true))
            foreach (var (name, data) in entries)
            {
                using var s = zip.CreateEntry(name, CompressionLevel.NoCompression).Open();
                s.Write(data);
            }
        return ms.ToArray();
    }

    // One to three character edits: replaced, deleted or inserted.
    private static string Edit(string text, Random rng)
    {
        var sb = new StringBuilder(text);
        for (int k = rng.Next(1, 4); k > 0 && sb.Length > 0; k--)
        {
            int at = rng.Next(sb.Length);
            switch (rng.Next(3))
            {
                case 0: sb[at] = (char)rng.Next(32, 127); break;
                case 1: sb.Remove(at, 1); break;
                default: sb.Insert(at, (char)rng.Next(32, 127)); break;
            }
        }
        return sb.ToString();
    }
}
