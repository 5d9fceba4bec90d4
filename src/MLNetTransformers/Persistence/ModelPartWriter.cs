namespace MLNetTransformers.Persistence;

/// <summary>Writes the entries of one segment of a model file; entry names are prefixed with the segment's index.</summary>
internal sealed class ModelPartWriter(Action<string, byte[]> write, int index)
{
    /// <summary>Writes <paramref name="bytes"/> as <c>segment{index}.{suffix}</c> and returns the entry name.</summary>
    public string Entry(string suffix, byte[] bytes)
    {
        string name = $"segment{index}.{suffix}";
        write(name, bytes);
        return name;
    }

    /// <summary>Writes a tokenizer description.</summary>
    public string Tokenizer(TextTokenizer tokenizer) => Entry("tokenizer.json", tokenizer.Serialize());

    /// <summary>Writes a model's config and weights as a checksummed checkpoint.</summary>
    public string Checkpoint(ITransformerModel model) => Entry("ckpt", Core.Training.Checkpoint.ToBytes(model));
}
