using System.Buffers.Binary;
using System.Runtime.InteropServices;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;

namespace MLNetTransformers.Core.Training;

/// <summary>
/// Checkpoint files: config, weights and optimizer state in one little-endian binary file.
/// Layout (version 1): magic <c>MLNTCKPT</c> · u32 version · u32 model kind · config JSON · tensor table
/// (name, shape) · weights (f32) · optional optimizer (step, options JSON, m, v) · SHA-256 of all preceding bytes.
/// Writes go to a temporary file that is renamed over the target, so a crash never leaves a half-written
/// checkpoint; reads verify magic, checksum and version before building anything, so a truncated, corrupt or
/// foreign file raises <see cref="InvalidDataException"/> naming the file and never yields a partial model.
/// </summary>
public static class Checkpoint
{
    /// <summary>Format version written by this build.</summary>
    public const uint FormatVersion = 1;
    private static ReadOnlySpan<byte> Magic => "MLNTCKPT"u8;
    private const int HashSize = 32;

    /// <summary>Writes <paramref name="model"/> (and <paramref name="optimizer"/> when given) to <paramref name="path"/> atomically.</summary>
    /// <param name="path">The checkpoint file to write (atomically).</param>
    /// <param name="model">The model whose config and weights are stored.</param>
    /// <param name="optimizer">Optimizer state to store with the weights (null = weights only).</param>
    public static void Save(string path, ITransformerModel model, AdamW? optimizer = null)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        WriteAtomically(path, ToBytes(model, optimizer));
    }

    /// <summary>The checkpoint file's bytes (checksum included), for embedding in other containers.</summary>
    /// <param name="model">The model whose config and weights are stored.</param>
    /// <param name="optimizer">Optimizer state to store with the weights (null = weights only).</param>
    public static byte[] ToBytes(ITransformerModel model, AdamW? optimizer = null)
    {
        var ps = model.Parameters;
        using var body = new MemoryStream();
        using (var w = new BinaryWriter(body, Encoding.UTF8, leaveOpen: true))
        {
            w.Write(Magic);
            w.Write(FormatVersion);
            w.Write((uint)model.Kind);
            WriteString(w, model.Config.ToJson());
            w.Write(ps.Tensors.Count);
            foreach (var t in ps.Tensors)
            {
                WriteString(w, t.Name);
                w.Write(t.Shape.Length);
                foreach (int s in t.Shape) w.Write(s);
            }
            w.Write((long)ps.Count);
            WriteFloats(w, ps.Data);
            w.Write(optimizer is null ? (byte)0 : (byte)1);
            if (optimizer is not null)
            {
                w.Write(optimizer.Step);
                WriteString(w, JsonSerializer.Serialize(optimizer.Options));
                WriteFloats(w, optimizer.M);
                WriteFloats(w, optimizer.V);
            }
        }
        body.Write(SHA256.HashData(body.GetBuffer().AsSpan(0, (int)body.Length)));
        return body.ToArray();
    }

    /// <summary>
    /// Writes <paramref name="bytes"/> to a temporary file beside <paramref name="path"/> and renames it over the target.
    /// A symbolic link is written through (its final target is replaced, the link stays); a directory, device, pipe or
    /// socket at the path is refused with <see cref="IOException"/>, since the rename would destroy it.
    /// </summary>
    /// <param name="path">The file to replace (through a temporary file and a rename).</param>
    /// <param name="bytes">The bytes to write.</param>
    public static void WriteAtomically(string path, ReadOnlySpan<byte> bytes) => WriteAtomically(path, null, bytes);

    /// <summary>As <see cref="WriteAtomically(string, ReadOnlySpan{byte})"/>, the contents written by <paramref name="write"/> (a large file streamed, not held whole).</summary>
    /// <param name="path">The file to replace (through a temporary file and a rename).</param>
    /// <param name="write">Writes the contents to the temporary file.</param>
    public static void WriteAtomically(string path, Action<Stream> write) => WriteAtomically(path, write, default);

    // The contents are `write`'s when given, else `bytes` (a span cannot go into a delegate).
    private static void WriteAtomically(string path, Action<Stream>? write, ReadOnlySpan<byte> bytes)
    {
        string full = Path.GetFullPath(path);
        if (new FileInfo(full).LinkTarget is not null && File.ResolveLinkTarget(full, returnFinalTarget: true) is { } target)
            full = target.FullName;
        if (Directory.Exists(full)) throw new IOException($"Cannot write '{path}': it is a directory.");
        if (SpecialFile.Kind(full) is { } kind) throw new IOException($"Cannot write '{path}': it is a {kind}, not a regular file; give a file path.");
        string dir = Path.GetDirectoryName(full) ?? ".";
        Directory.CreateDirectory(dir);
        string tmp = Path.Combine(dir, $".{Path.GetFileName(full)}.{Guid.NewGuid():N}.tmp");
        try
        {
            using (var f = new FileStream(tmp, FileMode.CreateNew, FileAccess.Write, FileShare.None))
            {
                if (write is null) f.Write(bytes);
                else write(f);
                f.Flush(flushToDisk: true);
            }
            File.Move(tmp, full, overwrite: true);
        }
        catch
        {
            try { File.Delete(tmp); } catch (IOException) { }
            throw;
        }
    }

    /// <summary>Reads a checkpoint written by <see cref="Save"/>.</summary>
    /// <exception cref="FileNotFoundException">No file at <paramref name="path"/>.</exception>
    /// <exception cref="InvalidDataException">The file is truncated, corrupt, of another format or of an unknown version.</exception>
    /// <param name="path">The checkpoint file.</param>
    /// <param name="withOptimizer">Also read the optimizer state when the checkpoint holds one.</param>
    public static CheckpointContents Load(string path, bool withOptimizer = true)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        if (!File.Exists(path)) throw new FileNotFoundException($"Checkpoint file '{path}' does not exist.", path);
        var info = new FileInfo(path);
        if (info.Length > Array.MaxLength) throw new InvalidDataException($"Checkpoint '{path}' is {info.Length} bytes, larger than this reader supports.");
        return FromBytes(File.ReadAllBytes(path), path, withOptimizer);
    }

    /// <summary>Reads checkpoint bytes (from <see cref="ToBytes"/>); <paramref name="source"/> names them in errors.</summary>
    /// <param name="bytes">The checkpoint bytes.</param>
    /// <param name="source">Names the bytes in error messages (e.g. a file path).</param>
    /// <param name="withOptimizer">Also read the optimizer state when the checkpoint holds one.</param>
    public static CheckpointContents FromBytes(byte[] bytes, string source, bool withOptimizer = true)
    {
        string path = source;
        if (bytes.Length < Magic.Length || !bytes.AsSpan(0, Magic.Length).SequenceEqual(Magic))
            throw new InvalidDataException($"'{path}' is not an MLNetTransformers checkpoint (wrong magic number).");
        if (bytes.Length < Magic.Length + 8 + HashSize)
            throw new InvalidDataException($"Checkpoint '{path}' is truncated ({bytes.Length} bytes).");
        var body = bytes.AsSpan(0, bytes.Length - HashSize);
        if (!SHA256.HashData(body).AsSpan().SequenceEqual(bytes.AsSpan(bytes.Length - HashSize)))
            throw new InvalidDataException($"Checkpoint '{path}' is truncated or corrupt (checksum mismatch).");
        try
        {
            return Parse(bytes, bytes.Length - HashSize, withOptimizer, path);
        }
        catch (Exception e) when (e is EndOfStreamException or ArgumentException or JsonException or OverflowException)
        {
            throw new InvalidDataException($"Checkpoint '{path}' is malformed: {e.Message.ReplaceLineEndings(" ")}", e);
        }
    }

    private static CheckpointContents Parse(byte[] bytes, int length, bool withOptimizer, string path)
    {
        using var r = new BinaryReader(new MemoryStream(bytes, 0, length, writable: false), Encoding.UTF8);
        r.ReadBytes(Magic.Length);
        uint version = r.ReadUInt32();
        if (version != FormatVersion)
            throw new InvalidDataException($"Checkpoint '{path}' has format version {version}; this build reads version {FormatVersion}.");
        var kind = (ModelKind)r.ReadUInt32();
        var config = TransformerConfig.FromJson(ReadString(r), kind);
        // Before building (and allocating) the model: the file must hold at least the weights its config implies.
        long available = (length - r.BaseStream.Position) / sizeof(float);
        if (config.MinimumParameterCount(kind) > available)
            throw new InvalidDataException($"Checkpoint '{path}': its config implies at least {config.MinimumParameterCount(kind):N0} weights, but the file holds at most {available:N0}.");
        ITransformerModel model = kind switch
        {
            ModelKind.Encoder => new TransformerEncoder(config),
            ModelKind.Seq2Seq => new TransformerSeq2Seq(config),
            ModelKind.RnnSeq2Seq => new RnnSeq2Seq((Seq2SeqConfig)config),
            ModelKind.Classifier => new TransformerClassifier((ClassifierConfig)config),
            ModelKind.LanguageModel => new TransformerLanguageModel(config),
            ModelKind.MaskedLanguageModel => new MaskedLanguageModel(config),
            ModelKind.TokenClassifier => new TransformerTokenClassifier((ClassifierConfig)config),
            ModelKind.QuestionAnswerer => new TransformerQuestionAnswerer((ClassifierConfig)config),
            _ => throw new InvalidDataException($"Checkpoint '{path}' holds an unknown model kind {(uint)kind}."),
        };
        var ps = model.Parameters;
        int count = r.ReadInt32();
        if (count != ps.Tensors.Count)
            throw new InvalidDataException($"Checkpoint '{path}' lists {count} tensors; its config builds a model with {ps.Tensors.Count}.");
        foreach (var t in ps.Tensors)
        {
            string name = ReadString(r);
            int rank = r.ReadInt32();
            if (rank is < 0 or > 8) throw new InvalidDataException($"Checkpoint '{path}': tensor '{name}' has rank {rank}.");
            var shape = new int[rank];
            for (int i = 0; i < rank; i++) shape[i] = r.ReadInt32();
            if (name != t.Name || !shape.AsSpan().SequenceEqual(t.Shape))
                throw new InvalidDataException($"Checkpoint '{path}': tensor '{name}' [{string.Join(", ", shape)}] does not match the model's '{t.Name}' [{string.Join(", ", t.Shape)}].");
        }
        long total = r.ReadInt64();
        if (total != ps.Count) throw new InvalidDataException($"Checkpoint '{path}' holds {total} weights; the model has {ps.Count}.");
        ReadFloats(r, ps.Data);
        AdamW? optimizer = null;
        if (r.ReadByte() == 1 && withOptimizer)
        {
            long step = r.ReadInt64();
            var options = JsonSerializer.Deserialize<AdamWOptions>(ReadString(r)) ?? new AdamWOptions();
            optimizer = new AdamW(ps, options) { Step = step };
            ReadFloats(r, optimizer.M);
            ReadFloats(r, optimizer.V);
        }
        return new CheckpointContents(model, optimizer);
    }

    private static void WriteString(BinaryWriter w, string s)
    {
        var b = Encoding.UTF8.GetBytes(s);
        w.Write(b.Length);
        w.Write(b);
    }

    private static string ReadString(BinaryReader r)
    {
        int n = r.ReadInt32();
        long left = r.BaseStream.Length - r.BaseStream.Position;
        if (n < 0 || n > left) throw new EndOfStreamException($"a string of {n} bytes runs past the end of the data.");
        return Encoding.UTF8.GetString(r.ReadBytes(n));
    }

    private static void WriteFloats(BinaryWriter w, float[] data)
    {
        if (BitConverter.IsLittleEndian) w.Write(MemoryMarshal.AsBytes(data.AsSpan()));
        else foreach (float f in data) w.Write(f); // BinaryWriter writes little-endian
    }

    private static void ReadFloats(BinaryReader r, float[] dst)
    {
        var bytes = MemoryMarshal.AsBytes(dst.AsSpan());
        if (r.Read(bytes) != bytes.Length) throw new EndOfStreamException($"expected {dst.Length} floats.");
        if (!BitConverter.IsLittleEndian)
            for (int i = 0; i < dst.Length; i++)
                dst[i] = BinaryPrimitives.ReadSingleLittleEndian(bytes.Slice(i * 4, 4));
    }
}
