using System.Buffers.Binary;
using System.IO.Compression;
using System.Runtime.InteropServices;

namespace MLNetTransformers.Core.Pretrained;

/// <summary>
/// A PyTorch weights file (<c>pytorch_model.bin</c>, any <c>torch.save</c> of a state dict since PyTorch 1.6): a zip
/// archive whose <c>NAME/data.pkl</c> pickles the dict of tensors and whose <c>NAME/data/KEY</c> entries hold their
/// storages' raw little-endian bytes, each entry checked against its CRC-32. The pickle is read by a restricted machine that runs none of the code it names
/// (<see cref="RestrictedUnpickler"/>), every tensor is checked against its storage when the file is opened (the entry
/// exists, its size matches the element count, the view stays inside it), and tensors are read on demand, strided views
/// and shared storages included; F32, F16, BF16 and F64 tensors read as float32. The legacy format of PyTorch before 1.6
/// is refused with what to do instead.
/// </summary>
public sealed class PyTorchCheckpointFile : ITensorSource, IDisposable
{
    /// <summary>Largest pickle accepted (the tensors' descriptions, not their data).</summary>
    public const long MaxPickleBytes = 100_000_000;

    private readonly ZipArchive _zip;
    private readonly string _prefix;
    private readonly Dictionary<string, RestrictedUnpickler.TensorRef> _tensors;
    private readonly Dictionary<string, int[]> _shapes;

    private PyTorchCheckpointFile(ZipArchive zip, string path, string prefix, Dictionary<string, RestrictedUnpickler.TensorRef> tensors)
    {
        (_zip, Source, _prefix, _tensors) = (zip, path, prefix, tensors);
        _shapes = tensors.ToDictionary(t => t.Key, t => t.Value.Shape, StringComparer.Ordinal);
    }

    /// <inheritdoc/>
    public string Source { get; }
    /// <inheritdoc/>
    public IReadOnlyDictionary<string, int[]> Shapes => _shapes;
    /// <summary>A tensor's element type, named as in safetensors (F32, F16, BF16, F64, I64, …).</summary>
    /// <param name="name">A tensor name.</param>
    public string DType(string name) => _tensors[name].Storage.DType;

    /// <summary>Opens <paramref name="path"/> and checks every tensor; throws <see cref="InvalidDataException"/> naming the file and the problem.</summary>
    /// <param name="path">The .bin (or .pt, .pth) file.</param>
    public static PyTorchCheckpointFile Open(string path)
    {
        if (!File.Exists(path)) throw new FileNotFoundException($"PyTorch checkpoint '{path}' does not exist.", path);
        var file = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read);
        ZipArchive? zip = null;
        try
        {
            var magic = new byte[2];
            int got = file.Read(magic);
            file.Position = 0;
            if (got == 2 && magic[0] == 0x80 && magic[1] <= 5)
                throw Bad(path, "it is in PyTorch's legacy format (saved before PyTorch 1.6 or with _use_new_zipfile_serialization=False), which is not read: load it and save it again with a newer PyTorch, or convert it to safetensors");
            IReadOnlyCollection<ZipArchiveEntry> all;
            try { zip = new ZipArchive(file, ZipArchiveMode.Read); all = zip.Entries; } // the directory is read on first use
            catch (InvalidDataException e) { throw Bad(path, $"it is not a zip archive as torch.save writes ({e.Message})"); }
            var pickles = all.Where(e => e.FullName.EndsWith("/data.pkl", StringComparison.Ordinal) && e.FullName.Count(c => c == '/') == 1).ToList();
            if (pickles.Count != 1) throw Bad(path, pickles.Count == 0 ? "it has no NAME/data.pkl entry (not a torch.save archive)" : "it has more than one data.pkl");
            var entry = pickles[0];
            if (entry.Length > MaxPickleBytes) throw Bad(path, $"its data.pkl claims {entry.Length:N0} bytes, more than the {MaxPickleBytes:N0} allowed");
            CheckClaim(entry, path);
            string prefix = entry.FullName[..^"data.pkl".Length];
            var root = RestrictedUnpickler.Load(ReadEntry(entry, path), path);
            if (root is not RestrictedUnpickler.PickleDict dict) throw Bad(path, "it does not hold a dict of tensors (a state dict)");
            var tensors = new Dictionary<string, RestrictedUnpickler.TensorRef>(StringComparer.Ordinal);
            foreach (var (key, value) in dict.Items)
            {
                if (key is not string name) throw Bad(path, "a key of its state dict is not a text");
                if (value is not RestrictedUnpickler.TensorRef t) continue; // e.g. a training step count beside the weights
                Check(zip, prefix, name, t, path);
                tensors[name] = t;
            }
            if (tensors.Count == 0) throw Bad(path, "its dict holds no tensors; a state dict nested under another key (e.g. 'state_dict') is not read");
            return new PyTorchCheckpointFile(zip, path, prefix, tensors);
        }
        catch
        {
            zip?.Dispose();
            file.Dispose();
            throw;
        }
    }

    // The storage entry exists with the size its element count says, and the view's last element lies inside it.
    private static void Check(ZipArchive zip, string prefix, string name, RestrictedUnpickler.TensorRef t, string path)
    {
        var s = t.Storage;
        var entry = zip.GetEntry(prefix + "data/" + s.Key) ?? throw Bad(path, $"tensor '{name}' views storage '{s.Key}', which the archive does not hold");
        CheckClaim(entry, path);
        long size = ElementSize(s.DType);
        if (entry.Length != s.Count * size)
            throw Bad(path, $"storage '{s.Key}' of tensor '{name}' holds {entry.Length:N0} bytes; {s.Count:N0} {s.DType} elements need {s.Count * size:N0}");
        long count = 1, last = t.Offset;
        for (int i = 0; i < t.Shape.Length; i++)
        {
            count = checked(count * t.Shape[i]);
            if (count > int.MaxValue) throw Bad(path, $"tensor '{name}' of shape [{string.Join(", ", t.Shape)}] has more than {int.MaxValue:N0} elements");
            if (t.Shape[i] > 0) last = checked(last + (t.Shape[i] - 1) * t.Strides[i]);
        }
        if (count > 0 && last >= s.Count)
            throw Bad(path, $"tensor '{name}' (shape [{string.Join(", ", t.Shape)}], offset {t.Offset}, strides [{string.Join(", ", t.Strides)}]) reaches element {last} of a storage of {s.Count}");
    }

    // An entry's size is believed only as far as its bytes in the file can hold it (deflate expands at most 1,032-fold),
    // so a lying directory cannot make the reader allocate more than the file could contain.
    private static void CheckClaim(ZipArchiveEntry entry, string path)
    {
        long most = Math.Min(int.MaxValue, entry.CompressedLength * (entry.CompressedLength == entry.Length ? 1 : 1032));
        if (entry.Length > most) throw Bad(path, $"its entry '{entry.FullName}' claims {entry.Length:N0} bytes from {entry.CompressedLength:N0} stored");
    }

    private static byte[] ReadEntry(ZipArchiveEntry entry, string path)
    {
        var bytes = new byte[entry.Length];
        try
        {
            using var stream = entry.Open();
            stream.ReadExactly(bytes);
        }
        catch (Exception e) when (e is InvalidDataException or EndOfStreamException or IOException)
        {
            throw Bad(path, $"its entry '{entry.FullName}' cannot be read ({e.Message})");
        }
        // The zip's CRC-32 is the only check a corrupted byte of a weight or of the pickle meets (.NET's reader skips it).
        if (System.IO.Hashing.Crc32.HashToUInt32(bytes) != entry.Crc32) throw Bad(path, $"its entry '{entry.FullName}' fails its CRC-32 check (the file is corrupt)");
        return bytes;
    }

    private static int ElementSize(string dtype) => dtype switch
    {
        "F64" or "I64" => 8,
        "F32" or "I32" => 4,
        "F16" or "BF16" or "I16" => 2,
        _ => 1,
    };

    /// <inheritdoc/>
    public void Read(string name, Span<float> destination)
    {
        if (!_tensors.TryGetValue(name, out var t)) throw new KeyNotFoundException($"'{Source}' has no tensor '{name}'.");
        int count = t.Shape.Aggregate(1, (a, d) => a * d);
        if (destination.Length != count) throw new ArgumentException($"Tensor '{name}' holds {count} values; the destination {destination.Length}.", nameof(destination));
        var s = t.Storage;
        if (s.DType is not ("F32" or "F16" or "BF16" or "F64"))
            throw Bad(Source, $"tensor '{name}' is {s.DType}; weights are read from F32, F16, BF16 or F64 tensors");
        var bytes = ReadEntry(_zip.GetEntry(_prefix + "data/" + s.Key)!, Source);
        int size = ElementSize(s.DType);
        // A state dict's tensors are almost always whole rows of their storage, converted where they lie; a strided view
        // (e.g. a transposed weight) is gathered into row-major order first.
        var run = IsContiguous(t) ? bytes.AsSpan((int)(t.Offset * size), count * size) : Gather(bytes, t, size, count);
        ToSingle(run, s.DType, destination);
    }

    // The view's elements in row-major order: index[] counts through the shape, at is the storage element it lands on.
    private static byte[] Gather(byte[] storage, RestrictedUnpickler.TensorRef t, int size, int count)
    {
        var run = new byte[count * size];
        var index = new int[t.Shape.Length];
        long at = t.Offset;
        for (int i = 0; i < count; i++)
        {
            storage.AsSpan((int)(at * size), size).CopyTo(run.AsSpan(i * size));
            for (int d = t.Shape.Length - 1; d >= 0; d--)
            {
                at += t.Strides[d];
                if (++index[d] < t.Shape[d]) break;
                at -= t.Strides[d] * t.Shape[d];
                index[d] = 0;
            }
        }
        return run;
    }

    // Little-endian F32, F16, BF16 or F64 values as float32: in bulk on a little-endian machine, value by value elsewhere.
    private static void ToSingle(ReadOnlySpan<byte> run, string dtype, Span<float> destination)
    {
        int n = destination.Length;
        bool little = BitConverter.IsLittleEndian;
        switch (dtype)
        {
            case "F32" when little: MemoryMarshal.Cast<byte, float>(run).CopyTo(destination); break;
            case "F32": for (int i = 0; i < n; i++) destination[i] = BinaryPrimitives.ReadSingleLittleEndian(run[(4 * i)..]); break;
            case "F16" when little: System.Numerics.Tensors.TensorPrimitives.ConvertToSingle(MemoryMarshal.Cast<byte, Half>(run), destination); break;
            case "F16": for (int i = 0; i < n; i++) destination[i] = (float)BinaryPrimitives.ReadHalfLittleEndian(run[(2 * i)..]); break;
            case "BF16": for (int i = 0; i < n; i++) destination[i] = BitConverter.Int32BitsToSingle(BinaryPrimitives.ReadUInt16LittleEndian(run[(2 * i)..]) << 16); break;
            default: for (int i = 0; i < n; i++) destination[i] = (float)BinaryPrimitives.ReadDoubleLittleEndian(run[(8 * i)..]); break;
        }
    }

    // Row-major strides (dimensions of size 1 may have any stride).
    private static bool IsContiguous(RestrictedUnpickler.TensorRef t)
    {
        long expected = 1;
        for (int d = t.Shape.Length - 1; d >= 0; d--)
        {
            if (t.Shape[d] != 1 && t.Strides[d] != expected) return false;
            expected *= t.Shape[d];
        }
        return true;
    }

    private static InvalidDataException Bad(string path, string problem) => new($"PyTorch checkpoint '{path}' is invalid: {problem}.");

    /// <inheritdoc/>
    public void Dispose() => _zip.Dispose();
}
