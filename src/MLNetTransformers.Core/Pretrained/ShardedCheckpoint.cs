using System.Text.Json;

namespace MLNetTransformers.Core.Pretrained;

/// <summary>
/// A checkpoint split into shards, as Hugging Face saves large models: an index (<c>model.safetensors.index.json</c> or
/// <c>pytorch_model.bin.index.json</c>) whose <c>weight_map</c> names the shard file of every tensor, the shards beside
/// it. Each shard is opened once and read through its own reader; a tensor is read from the shard the index names, and
/// must be there. Shard names are plain file names in the index's folder (no paths).
/// </summary>
public sealed class ShardedCheckpoint : ITensorSource, IDisposable
{
    private readonly Dictionary<string, ITensorSource> _shardOf;
    private readonly List<IDisposable> _shards;
    private readonly Dictionary<string, int[]> _shapes;

    private ShardedCheckpoint(string source, Dictionary<string, ITensorSource> shardOf, List<IDisposable> shards, Dictionary<string, int[]> shapes) =>
        (Source, _shardOf, _shards, _shapes) = (source, shardOf, shards, shapes);

    /// <inheritdoc/>
    public string Source { get; }
    /// <inheritdoc/>
    public IReadOnlyDictionary<string, int[]> Shapes => _shapes;

    /// <summary>Opens the index at <paramref name="indexPath"/> and every shard it names with <paramref name="openShard"/>.</summary>
    /// <typeparam name="TShard">The shards' reader.</typeparam>
    /// <param name="indexPath">The index file.</param>
    /// <param name="openShard">Opens one shard file (<see cref="SafeTensorsFile.Open"/>, <see cref="PyTorchCheckpointFile.Open"/>).</param>
    public static ShardedCheckpoint Open<TShard>(string indexPath, Func<string, TShard> openShard) where TShard : ITensorSource, IDisposable
    {
        ArgumentNullException.ThrowIfNull(openShard);
        string src = $"Shard index '{indexPath}'";
        if (!File.Exists(indexPath)) throw new FileNotFoundException($"{src} does not exist.", indexPath);
        var map = new Dictionary<string, string>(StringComparer.Ordinal);
        try
        {
            using var doc = JsonDocument.Parse(File.ReadAllBytes(indexPath));
            if (doc.RootElement.ValueKind != JsonValueKind.Object || !doc.RootElement.TryGetProperty("weight_map", out var weights) || weights.ValueKind != JsonValueKind.Object)
                throw new InvalidDataException($"{src} has no weight_map object.");
            foreach (var entry in weights.EnumerateObject())
            {
                string file = entry.Value.ValueKind == JsonValueKind.String ? entry.Value.GetString()! : throw new InvalidDataException($"{src}: the shard of '{entry.Name}' is {entry.Value}, not a file name.");
                if (file.Length == 0 || file != Path.GetFileName(file) || file is "." or "..")
                    throw new InvalidDataException($"{src}: the shard of '{entry.Name}' is '{file}'; shards are file names beside the index.");
                map[entry.Name] = file;
            }
        }
        catch (JsonException e) { throw new InvalidDataException($"{src} is not valid JSON: {e.Message}", e); }
        if (map.Count == 0) throw new InvalidDataException($"{src} maps no tensors.");

        string folder = Path.GetDirectoryName(Path.GetFullPath(indexPath))!;
        var opened = new Dictionary<string, TShard>(StringComparer.Ordinal);
        var shards = new List<IDisposable>();
        try
        {
            var shardOf = new Dictionary<string, ITensorSource>(StringComparer.Ordinal);
            var shapes = new Dictionary<string, int[]>(StringComparer.Ordinal);
            foreach (var (name, file) in map)
            {
                if (!opened.TryGetValue(file, out var shard))
                {
                    string path = Path.Combine(folder, file);
                    if (!File.Exists(path)) throw new FileNotFoundException($"{src} names the shard '{file}', which is not beside it.", path);
                    shard = openShard(path);
                    opened[file] = shard;
                    shards.Add(shard);
                }
                if (!shard.Shapes.TryGetValue(name, out var shape)) throw new InvalidDataException($"{src} puts '{name}' in '{file}', which has no such tensor.");
                shardOf[name] = shard;
                shapes[name] = shape;
            }
            return new ShardedCheckpoint(indexPath, shardOf, shards, shapes);
        }
        catch
        {
            foreach (var s in shards) s.Dispose();
            throw;
        }
    }

    /// <inheritdoc/>
    public void Read(string name, Span<float> destination)
    {
        if (!_shardOf.TryGetValue(name, out var shard)) throw new KeyNotFoundException($"{Source} maps no tensor '{name}'.");
        shard.Read(name, destination);
    }

    /// <inheritdoc/>
    public void Dispose()
    {
        foreach (var s in _shards) s.Dispose();
    }
}
