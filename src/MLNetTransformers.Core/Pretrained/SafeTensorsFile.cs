using System.Buffers.Binary;
using System.Text.Json;

namespace MLNetTransformers.Core.Pretrained;

/// <summary>
/// A <c>.safetensors</c> file (Hugging Face's weight format): an 8-byte little-endian header length N, N bytes of
/// JSON mapping each tensor name to its <c>dtype</c>, <c>shape</c> and <c>data_offsets</c> [begin, end) into the data
/// that follows (plus an optional <c>__metadata__</c> map of strings), then the raw little-endian data. The header is
/// checked whole when the file is opened (offsets inside the file, in order and not overlapping, sizes that match
/// shape and dtype) and tensors are read on demand; F32, F16 and BF16 tensors read as float32.
/// </summary>
public sealed class SafeTensorsFile : ITensorSource, IDisposable
{
    /// <summary>Largest header accepted (the format's own limit).</summary>
    public const long MaxHeaderBytes = 100_000_000;

    private readonly FileStream _file;
    private readonly long _dataStart;
    private readonly Dictionary<string, Entry> _entries;
    private readonly Dictionary<string, int[]> _shapes;

    private sealed record Entry(string DType, int[] Shape, long Begin, long End);

    private SafeTensorsFile(FileStream file, long dataStart, Dictionary<string, Entry> entries, IReadOnlyDictionary<string, string> metadata)
    {
        (_file, _dataStart, _entries, Metadata) = (file, dataStart, entries, metadata);
        _shapes = entries.ToDictionary(e => e.Key, e => e.Value.Shape, StringComparer.Ordinal);
        Source = file.Name;
    }

    /// <inheritdoc/>
    public string Source { get; }
    /// <inheritdoc/>
    public IReadOnlyDictionary<string, int[]> Shapes => _shapes;
    /// <summary>The header's <c>__metadata__</c> (empty when absent).</summary>
    public IReadOnlyDictionary<string, string> Metadata { get; }
    /// <summary>A tensor's dtype as the file names it (F32, F16, BF16, …).</summary>
    /// <param name="name">A tensor name.</param>
    public string DType(string name) => _entries[name].DType;

    /// <summary>Opens <paramref name="path"/> and checks its header; throws <see cref="InvalidDataException"/> naming the file and the problem.</summary>
    /// <param name="path">The .safetensors file.</param>
    public static SafeTensorsFile Open(string path)
    {
        if (!File.Exists(path)) throw new FileNotFoundException($"Safetensors file '{path}' does not exist.", path);
        var file = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, 1, FileOptions.RandomAccess);
        try
        {
            long length = file.Length;
            if (length < 8) throw Bad(path, $"it holds {length} bytes, fewer than the 8-byte header length");
            Span<byte> head = stackalloc byte[8];
            RandomAccess.Read(file.SafeFileHandle, head, 0);
            ulong n = BinaryPrimitives.ReadUInt64LittleEndian(head);
            if (n > MaxHeaderBytes) throw Bad(path, $"its header claims {n:N0} bytes, more than the {MaxHeaderBytes:N0} allowed");
            if ((long)n > length - 8) throw Bad(path, $"its header claims {n:N0} bytes but the file has {length - 8:N0} after the length");
            var json = new byte[n];
            RandomAccess.Read(file.SafeFileHandle, json, 8);
            var (entries, metadata) = ParseHeader(json, path, length - 8 - (long)n);
            return new SafeTensorsFile(file, 8 + (long)n, entries, metadata);
        }
        catch
        {
            file.Dispose();
            throw;
        }
    }

    private static (Dictionary<string, Entry>, Dictionary<string, string>) ParseHeader(byte[] json, string path, long dataLength)
    {
        var entries = new Dictionary<string, Entry>(StringComparer.Ordinal);
        var metadata = new Dictionary<string, string>(StringComparer.Ordinal);
        if (!System.Text.Unicode.Utf8.IsValid(json)) throw Bad(path, "its header is not valid UTF-8");
        JsonDocument doc;
        try { doc = JsonDocument.Parse(json); }
        catch (JsonException e) { throw Bad(path, $"its header is not valid JSON ({e.Message})"); }
        using (doc)
        {
            if (doc.RootElement.ValueKind != JsonValueKind.Object) throw Bad(path, "its header is not a JSON object");
            foreach (var p in doc.RootElement.EnumerateObject())
            {
                if (p.Name == "__metadata__")
                {
                    if (p.Value.ValueKind != JsonValueKind.Object) throw Bad(path, "its __metadata__ is not an object");
                    foreach (var m in p.Value.EnumerateObject())
                        metadata[m.Name] = m.Value.ValueKind == JsonValueKind.String ? m.Value.GetString()! : throw Bad(path, $"__metadata__ '{m.Name}' is not a string");
                    continue;
                }
                entries[p.Name] = ParseEntry(p.Name, p.Value, path, dataLength);
            }
        }
        // Tensors tile the data in order without overlapping (the format's rule; a writer that breaks it is corrupt).
        long end = 0;
        foreach (var (name, e) in entries.OrderBy(e => e.Value.Begin).ThenBy(e => e.Value.End))
        {
            if (e.Begin < end) throw Bad(path, $"tensor '{name}' (bytes {e.Begin}-{e.End}) overlaps the tensor before it (which ends at {end})");
            end = e.End;
        }
        return (entries, metadata);
    }

    private static Entry ParseEntry(string name, JsonElement v, string path, long dataLength)
    {
        if (v.ValueKind != JsonValueKind.Object) throw Bad(path, $"tensor '{name}' is not described by an object");
        if (!v.TryGetProperty("dtype", out var dt) || dt.ValueKind != JsonValueKind.String) throw Bad(path, $"tensor '{name}' has no dtype");
        if (!v.TryGetProperty("shape", out var sh) || sh.ValueKind != JsonValueKind.Array) throw Bad(path, $"tensor '{name}' has no shape");
        if (!v.TryGetProperty("data_offsets", out var off) || off.ValueKind != JsonValueKind.Array || off.GetArrayLength() != 2)
            throw Bad(path, $"tensor '{name}' has no data_offsets [begin, end]");
        string dtype = dt.GetString()!;
        var shape = new int[sh.GetArrayLength()];
        long count = 1;
        int i = 0;
        foreach (var d in sh.EnumerateArray())
        {
            if (d.ValueKind != JsonValueKind.Number || !d.TryGetInt32(out int dim) || dim < 0) throw Bad(path, $"tensor '{name}' has an invalid dimension {d}");
            shape[i++] = dim;
            count = checked(count * dim);
            if (count > int.MaxValue) throw Bad(path, $"tensor '{name}' of shape [{string.Join(", ", shape)}] has more than {int.MaxValue:N0} elements");
        }
        if (!off[0].TryGetInt64(out long begin) || !off[1].TryGetInt64(out long end)) throw Bad(path, $"tensor '{name}' has non-integer data_offsets");
        if (begin < 0 || end < begin || end > dataLength)
            throw Bad(path, $"tensor '{name}' has data_offsets [{begin}, {end}] outside the {dataLength:N0} bytes of data");
        int size = ElementSize(dtype);
        if (size == 0) throw Bad(path, $"tensor '{name}' has the unknown dtype '{dtype}'");
        if (end - begin != count * size)
            throw Bad(path, $"tensor '{name}' ({dtype}, shape [{string.Join(", ", shape)}]) needs {count * size:N0} bytes but its data_offsets span {end - begin:N0}");
        return new Entry(dtype, shape, begin, end);
    }

    private static int ElementSize(string dtype) => dtype switch
    {
        "F64" or "I64" or "U64" => 8,
        "F32" or "I32" or "U32" => 4,
        "F16" or "BF16" or "I16" or "U16" => 2,
        "I8" or "U8" or "BOOL" or "F8_E4M3" or "F8_E5M2" => 1,
        _ => 0,
    };

    /// <inheritdoc/>
    public void Read(string name, Span<float> destination)
    {
        if (!_entries.TryGetValue(name, out var e)) throw new KeyNotFoundException($"'{Source}' has no tensor '{name}'.");
        int count = (int)((e.End - e.Begin) / ElementSize(e.DType));
        if (destination.Length != count) throw new ArgumentException($"Tensor '{name}' holds {count} values; the destination {destination.Length}.", nameof(destination));
        var bytes = new byte[e.End - e.Begin];
        if (RandomAccess.Read(_file.SafeFileHandle, bytes, _dataStart + e.Begin) != bytes.Length) throw Bad(Source, $"tensor '{name}' is cut short");
        switch (e.DType)
        {
            case "F32":
                for (int i = 0; i < count; i++) destination[i] = BinaryPrimitives.ReadSingleLittleEndian(bytes.AsSpan(4 * i));
                break;
            case "F16":
                for (int i = 0; i < count; i++) destination[i] = (float)BinaryPrimitives.ReadHalfLittleEndian(bytes.AsSpan(2 * i));
                break;
            case "BF16": // the upper half of a float32
                for (int i = 0; i < count; i++) destination[i] = BitConverter.Int32BitsToSingle(BinaryPrimitives.ReadUInt16LittleEndian(bytes.AsSpan(2 * i)) << 16);
                break;
            default:
                throw Bad(Source, $"tensor '{name}' is {e.DType}; weights are read from F32, F16 or BF16 tensors");
        }
    }

    /// <summary>
    /// Writes <paramref name="tensors"/> as F32 to <paramref name="path"/> (through a temporary file and a rename,
    /// <see cref="Training.Checkpoint.WriteAtomically(string, Action{Stream})"/>, so a failure leaves no half-written file), in the order given, with <c>__metadata__</c> <c>{"format": "pt"}</c> as PyTorch's writers set it.
    /// </summary>
    /// <param name="path">The .safetensors file to write.</param>
    /// <param name="tensors">Each tensor's name, shape and row-major values.</param>
    public static void Write(string path, IReadOnlyList<(string Name, int[] Shape, ReadOnlyMemory<float> Values)> tensors)
    {
        var header = new System.Text.Json.Nodes.JsonObject { ["__metadata__"] = new System.Text.Json.Nodes.JsonObject { ["format"] = "pt" } };
        long offset = 0;
        foreach (var (name, shape, values) in tensors)
        {
            if (shape.Aggregate(1L, (a, d) => a * d) != values.Length) throw new ArgumentException($"Tensor '{name}' of shape [{string.Join(", ", shape)}] is given {values.Length} values.", nameof(tensors));
            header[name] = new System.Text.Json.Nodes.JsonObject
            {
                ["dtype"] = "F32", ["shape"] = new System.Text.Json.Nodes.JsonArray(shape.Select(d => (System.Text.Json.Nodes.JsonNode)d).ToArray()),
                ["data_offsets"] = new System.Text.Json.Nodes.JsonArray(offset, offset + 4L * values.Length),
            };
            offset += 4L * values.Length;
        }
        var json = System.Text.Encoding.UTF8.GetBytes(header.ToJsonString());
        int padded = (json.Length + 7) / 8 * 8; // the format pads the header with spaces to a multiple of 8
        Training.Checkpoint.WriteAtomically(path, file =>
        {
            Span<byte> length = stackalloc byte[8];
            BinaryPrimitives.WriteUInt64LittleEndian(length, (ulong)padded);
            file.Write(length);
            file.Write(json);
            for (int i = json.Length; i < padded; i++) file.WriteByte((byte)' ');
            var buffer = new byte[4 * 4096];
            foreach (var (_, _, values) in tensors)
                for (int start = 0; start < values.Length; start += 4096)
                {
                    var chunk = values.Span.Slice(start, Math.Min(4096, values.Length - start));
                    for (int i = 0; i < chunk.Length; i++) BinaryPrimitives.WriteSingleLittleEndian(buffer.AsSpan(4 * i), chunk[i]);
                    file.Write(buffer, 0, 4 * chunk.Length);
                }
        });
    }

    private static InvalidDataException Bad(string path, string problem) => new($"Safetensors file '{path}' is invalid: {problem}.");

    /// <inheritdoc/>
    public void Dispose() => _file.Dispose();
}
