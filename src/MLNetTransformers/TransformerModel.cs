using System.IO.Compression;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using MLNetTransformers.Persistence;

namespace MLNetTransformers;

/// <summary>
/// Saves and loads fitted pipelines that contain this library's transformers. ML.NET keeps the writer of its
/// model files internal to its own assemblies, so <c>mlContext.Model.Save</c> cannot store them; this format wraps
/// it instead: a zip whose runs of stock transformers are stored by <c>mlContext.Model.Save</c> itself (nested
/// ML.NET models) and whose transformer-library parts hold the tokenizer description and a checksummed
/// weights checkpoint. Writing is atomic (temporary file, then rename).
/// </summary>
public static class TransformerModel
{
    private const string Format = "MLNetTransformers.Model";
    // 3: each segment names the assembly of its part and the manifest lists every entry's size (decompression stops
    // there); 2: manifest.json lists the SHA-256 of every other entry and manifest.sha256 holds its own; 1: no
    // checksums. All three are read.
    private const int Version = 3;

    /// <summary>Writes <paramref name="model"/> (any chain of stock and MLNetTransformers transformers) to <paramref name="path"/>.</summary>
    /// <param name="mlContext">The ML.NET context.</param>
    /// <param name="model">The fitted pipeline (a chain of stock and MLNetTransformers transformers).</param>
    /// <param name="inputSchema">Schema of the data the model reads.</param>
    /// <param name="path">The model file to write (atomically).</param>
    public static void Save(MLContext mlContext, ITransformer model, DataViewSchema inputSchema, string path)
    {
        ArgumentNullException.ThrowIfNull(mlContext);
        ArgumentNullException.ThrowIfNull(model);
        ArgumentException.ThrowIfNullOrEmpty(path);
        var parts = Parts(model).ToList();
        using var buffer = new MemoryStream();
        using (var zip = new ZipArchive(buffer, ZipArchiveMode.Create, leaveOpen: true))
        {
            var hashes = new JsonObject();
            var sizes = new JsonObject();
            void Write(string entry, byte[] bytes)
            {
                var e = zip.CreateEntry(entry);
                e.LastWriteTime = EntryTime;
                using (var s = e.Open()) s.Write(bytes);
                hashes[entry] = Convert.ToHexString(SHA256.HashData(bytes));
                sizes[entry] = bytes.Length;
            }
            byte[] Stock(ITransformer chain, DataViewSchema schemaIn)
            {
                using var ms = new MemoryStream();
                mlContext.Model.Save(chain, schemaIn, ms);
                // ML.NET stamps its own zip entries with the time of saving: fix them so the same model saves to the same bytes.
                using (var inner = new ZipArchive(ms, ZipArchiveMode.Update, leaveOpen: true))
                    foreach (var e in inner.Entries) e.LastWriteTime = EntryTime;
                return ms.ToArray();
            }
            var segments = new JsonArray();
            var schema = inputSchema;
            Write("input-schema.mlnet", Stock(new TransformerChain<ITransformer>(), inputSchema));
            var stock = new List<ITransformer>();
            var stockSchema = schema;
            void FlushStock()
            {
                if (stock.Count == 0) return;
                string entry = $"segment{segments.Count}.mlnet";
                Write(entry, Stock(new TransformerChain<ITransformer>(stock.ToArray()), stockSchema));
                segments.Add(new JsonObject { ["kind"] = "mlnet", ["entry"] = entry });
                stock.Clear();
            }
            foreach (var t in parts)
            {
                var segment = Describe(t, Write, segments.Count);
                if (segment is null)
                {
                    if (stock.Count == 0) stockSchema = schema;
                    stock.Add(t);
                }
                else
                {
                    FlushStock();
                    segments.Add(segment);
                }
                schema = t.GetOutputSchema(schema);
            }
            FlushStock();
            var manifest = new JsonObject { ["format"] = Format, ["version"] = Version, ["segments"] = segments, ["sha256"] = hashes, ["sizes"] = sizes };
            byte[] manifestBytes = JsonSerializer.SerializeToUtf8Bytes(manifest, Indented);
            Write("manifest.json", manifestBytes);
            Write("manifest.sha256", Encoding.ASCII.GetBytes(Convert.ToHexString(SHA256.HashData(manifestBytes))));
        }
        Checkpoint.WriteAtomically(path, buffer.GetBuffer().AsSpan(0, (int)buffer.Length));
    }

    /// <summary>Reads a model written by <see cref="Save"/>.</summary>
    /// <exception cref="InvalidDataException">The file is not such a model, or is truncated or corrupt.</exception>
    /// <param name="mlContext">The ML.NET context.</param>
    /// <param name="path">The model file.</param>
    /// <param name="inputSchema">Receives the schema of the data the model reads.</param>
    public static ITransformer Load(MLContext mlContext, string path, out DataViewSchema inputSchema)
    {
        ArgumentNullException.ThrowIfNull(mlContext);
        if (!File.Exists(path)) throw new FileNotFoundException($"Model file '{path}' does not exist.", path);
        try
        {
            using var zip = ZipFile.OpenRead(path);
            var manifestEntry = zip.GetEntry("manifest.json") ?? throw new InvalidDataException($"'{path}' is not an MLNetTransformers model (no manifest).");
            JsonNode manifest;
            byte[] manifestBytes = ReadAll(zip, "manifest.json", path, null, limit: ManifestLimit);
            manifest = JsonNode.Parse(manifestBytes) ?? throw new InvalidDataException($"'{path}': empty manifest.");
            if ((string?)manifest["format"] != Format) throw new InvalidDataException($"'{path}' is not an MLNetTransformers model.");
            int version = (int?)manifest["version"] ?? -1;
            if (version is < 1 or > Version) throw new InvalidDataException($"'{path}' has model format version {version}; this build reads versions 1 to {Version}.");
            JsonObject? checks = null;
            if (version >= 2)
            {
                // Every byte that affects a prediction is checked: the manifest against its own hash, each entry against the manifest.
                string expected = Encoding.ASCII.GetString(ReadAll(zip, "manifest.sha256", path, null, limit: 64));
                if (!string.Equals(expected, Convert.ToHexString(SHA256.HashData(manifestBytes)), StringComparison.OrdinalIgnoreCase))
                    throw new InvalidDataException($"Model file '{path}' is corrupt: its manifest does not match its checksum.");
                if (manifest["sha256"] is not JsonObject) throw new InvalidDataException($"Model file '{path}' is corrupt: its manifest lists no checksums.");
                checks = manifest.AsObject();
            }
            using (var s = Seekable(zip, "input-schema.mlnet", path, checks)) LoadStock(mlContext, s, path, "input-schema.mlnet", out inputSchema);
            var parts = new List<ITransformer>();
            foreach (var seg in (manifest["segments"] as JsonArray) ?? throw new InvalidDataException($"Model file '{path}' lists no segments."))
            {
                string? kind = (string?)seg?["kind"];
                if (kind == "mlnet")
                {
                    string entry = (string?)seg!["entry"] ?? throw new InvalidDataException($"Model file '{path}' has an ML.NET segment without an entry.");
                    using var s = Seekable(zip, entry, path, checks);
                    parts.Add(LoadStock(mlContext, s, path, entry, out _));
                }
                else parts.Add(Restore(seg ?? throw new InvalidDataException($"Model file '{path}' has an empty segment."), zip, path, checks));
            }
            return new TransformerChain<ITransformer>(parts.ToArray());
        }
        catch (Exception e) when (e is InvalidDataException or JsonException or ArgumentException or InvalidCastException or KeyNotFoundException or FormatException or InvalidOperationException)
        {
            throw e is InvalidDataException ide && ide.Message.Contains(path) && !ide.Message.Contains('\n') ? ide : new InvalidDataException($"Model file '{path}' is corrupt or truncated: {e.Message.ReplaceLineEndings(" ")}", e);
        }
    }

    /// <summary>
    /// A nested ML.NET model. ML.NET's reader throws many kinds of exception on a malformed model (end of stream,
    /// invalid assembly names, format errors): each becomes one <see cref="InvalidDataException"/> naming the file.
    /// </summary>
    private static ITransformer LoadStock(MLContext mlContext, Stream stream, string path, string entry, out DataViewSchema schema)
    {
        try { return mlContext.Model.Load(stream, out schema); }
        catch (Exception e) when (e is not (OutOfMemoryException or OperationCanceledException))
        {
            throw new InvalidDataException($"Model file '{path}': its ML.NET part '{entry}' cannot be read: {e.Message.ReplaceLineEndings(" ")}", e);
        }
    }

    /// <summary>The transformers of a fitted pipeline in order, nested chains flattened (a single transformer yields itself).</summary>
    /// <param name="model">A fitted pipeline or a single transformer.</param>
    public static IEnumerable<ITransformer> Parts(ITransformer model) =>
        model is IEnumerable<ITransformer> chain ? chain.SelectMany(Parts) : new[] { model };

    /// <summary>The manifest segment of a library transformer (its record, kind and assembly), or null for a stock one.</summary>
    private static JsonObject? Describe(ITransformer t, Action<string, byte[]> write, int index)
    {
        if (t is not IModelPart part) return null;
        var type = t.GetType();
        var segment = JsonSerializer.SerializeToNode(part.SavePart(new ModelPartWriter(write, index)), ModelPartReader.Json)!.AsObject();
        segment.Insert(0, "kind", PartKind(type));
        segment.Insert(1, "assembly", type.Assembly.GetName().Name);
        return segment;
    }

    private static ITransformer Restore(JsonNode seg, ZipArchive zip, string path, JsonObject? checks)
    {
        string kind = (string?)seg["kind"] ?? throw new InvalidDataException($"Model file '{path}' has a segment without a kind.");
        // Files of format 1 and 2 name no assembly: their parts all live in this one.
        string assembly = (string?)seg["assembly"] ?? typeof(TransformerModel).Assembly.GetName().Name!;
        var loader = Loaders(assembly, path).GetValueOrDefault(kind)
            ?? throw new InvalidDataException($"Model file '{path}' has a segment of unknown kind '{kind}' (from {assembly}).");
        return loader(new ModelPartReader(seg, entry => ReadAll(zip, entry, path, checks), path));
    }

    // Part loaders by assembly, then kind: found by type, not listed here.
    private static readonly Dictionary<string, Dictionary<string, Func<ModelPartReader, ITransformer>>> LoaderCache = new();

    private static Dictionary<string, Func<ModelPartReader, ITransformer>> Loaders(string assemblyName, string path)
    {
        lock (LoaderCache)
        {
            if (LoaderCache.TryGetValue(assemblyName, out var known)) return known;
            // Only this library's assemblies are searched: a file cannot make the reader load arbitrary code.
            if (!(assemblyName == "MLNetTransformers" || assemblyName.StartsWith("MLNetTransformers.", StringComparison.Ordinal)))
                throw new InvalidDataException($"Model file '{path}' names assembly '{assemblyName}', which is not part of MLNetTransformers.");
            System.Reflection.Assembly assembly;
            try { assembly = System.Reflection.Assembly.Load(assemblyName); }
            catch (Exception e) when (e is FileNotFoundException or FileLoadException or BadImageFormatException)
            {
                throw new InvalidDataException($"Model file '{path}' needs {assemblyName}: reference that package to load it.", e);
            }
            var loaders = new Dictionary<string, Func<ModelPartReader, ITransformer>>(StringComparer.Ordinal);
            var via = typeof(TransformerModel).GetMethod(nameof(LoadVia), System.Reflection.BindingFlags.NonPublic | System.Reflection.BindingFlags.Static)!;
            foreach (var type in assembly.GetTypes())
                if (type.GetInterfaces().Any(i => i.IsGenericType && i.GetGenericTypeDefinition() == typeof(IModelPartLoader<>) && i.GenericTypeArguments[0] == type))
                {
                    var load = via.MakeGenericMethod(type).CreateDelegate<Func<ModelPartReader, ITransformer>>();
                    loaders.Add(PartKind(type), load);
                }
            return LoaderCache[assemblyName] = loaders;
        }
    }

    private static ITransformer LoadVia<T>(ModelPartReader reader) where T : IModelPartLoader<T> => T.LoadPart(reader);
    private static string KindOf<T>() where T : IModelPartLoader<T> => T.Kind;

    private static string PartKind(Type type) =>
        (string)typeof(TransformerModel).GetMethod(nameof(KindOf), System.Reflection.BindingFlags.NonPublic | System.Reflection.BindingFlags.Static)!
            .MakeGenericMethod(type).Invoke(null, null)!;

    private static readonly JsonSerializerOptions Indented = new() { WriteIndented = true };
    private const long ManifestLimit = 1 << 20;
    // Every entry carries this time, so saving the same model twice gives the same bytes.
    private static readonly DateTimeOffset EntryTime = new(2000, 1, 1, 0, 0, 0, TimeSpan.Zero);

    /// <summary>
    /// An entry's bytes, decompressed up to a bound: the size the (checksummed) manifest declares for it (format 3), else
    /// <paramref name="limit"/> when given, else 64 MiB plus 100 times the compressed size (weights compress a little,
    /// a zip bomb's zeros a thousandfold), never past 2 GiB. The sizes the zip itself declares are not trusted:
    /// reading stops at the bound. With <paramref name="checks"/> (the manifest of format 2 and later) the bytes must
    /// match their SHA-256.
    /// </summary>
    private static byte[] ReadAll(ZipArchive zip, string entry, string path, JsonObject? checks, long? limit = null)
    {
        var e = zip.GetEntry(entry) ?? throw new InvalidDataException($"Model file '{path}' lacks '{entry}'.");
        long? declared = checks?["sizes"]?[entry] is JsonValue v && v.TryGetValue(out long d) ? d : null;
        if (declared is < 0 or > int.MaxValue - 64) throw new InvalidDataException($"Model file '{path}' declares an impossible size for '{entry}'.");
        long bound = declared ?? limit ?? Math.Min(int.MaxValue - 64, (64L << 20) + 100 * e.CompressedLength);
        using var s = e.Open();
        // With a declared size the buffer is allocated once, at that size; reading one byte more is an error.
        using var ms = declared is { } size ? new MemoryStream((int)size) : new MemoryStream();
        var chunk = new byte[1 << 16];
        int n;
        while ((n = s.Read(chunk, 0, chunk.Length)) > 0)
        {
            if (ms.Length + n > bound)
                throw new InvalidDataException(declared is null
                    ? $"Model file '{path}': entry '{entry}' decompresses to more than {bound:N0} bytes; the file is corrupt or crafted."
                    : $"Model file '{path}' is corrupt: entry '{entry}' is longer than the {bound:N0} bytes its manifest declares.");
            ms.Write(chunk, 0, n);
        }
        var bytes = declared is not null && ms.Length == ms.Capacity ? ms.GetBuffer() : ms.ToArray();
        if (checks is not null && !string.Equals((string?)checks["sha256"]?[entry], Convert.ToHexString(SHA256.HashData(bytes)), StringComparison.OrdinalIgnoreCase))
            throw new InvalidDataException($"Model file '{path}' is corrupt: entry '{entry}' does not match its checksum.");
        return bytes;
    }

    private static MemoryStream Seekable(ZipArchive zip, string entry, string path, JsonObject? checks) => new(ReadAll(zip, entry, path, checks));
}
