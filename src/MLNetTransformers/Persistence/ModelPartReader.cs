using System.Text.Json;
using System.Text.Json.Nodes;

namespace MLNetTransformers.Persistence;

/// <summary>Reads one segment of a model file: its typed record and its entries, with errors that name the file.</summary>
internal sealed class ModelPartReader(JsonNode segment, Func<string, byte[]> read, string path)
{
    internal static readonly JsonSerializerOptions Json = new() { PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower, RespectNullableAnnotations = true, RespectRequiredConstructorParameters = true };

    /// <summary>The model file, for messages.</summary>
    public string Path => path;

    /// <summary>The segment as the part's record type; a missing or mistyped field is an <see cref="InvalidDataException"/>.</summary>
    public T Record<T>() where T : class
    {
        try { return segment.Deserialize<T>(Json) ?? throw new JsonException("the segment is null."); }
        catch (JsonException e) { throw new InvalidDataException($"Model file '{path}' has a malformed {typeof(T).Name.Replace("Record", "")} segment: {e.Message.ReplaceLineEndings(" ")}", e); }
    }

    /// <summary>The bytes of an entry (bounded and checksummed).</summary>
    public byte[] Entry(string name) => read(name);

    /// <summary>A tokenizer entry.</summary>
    public TextTokenizer Tokenizer(string entry) => TextTokenizer.Deserialize(read(entry));

    /// <summary>A checkpoint entry holding a model of type <typeparamref name="T"/>.</summary>
    public T Checkpoint<T>(string entry) where T : ITransformerModel
    {
        var model = Core.Training.Checkpoint.FromBytes(read(entry), path).Model;
        return model is T t ? t : throw new InvalidDataException($"Model file '{path}': entry '{entry}' holds a {model.Kind} model where a {typeof(T).Name} belongs.");
    }
}
