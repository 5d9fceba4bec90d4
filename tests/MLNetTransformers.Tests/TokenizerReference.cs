using System.Text.Json;
using MLNetTransformers.Tokenization;

namespace MLNetTransformers.Tests;

/// <summary>A tokenizer fixture's tokenizer_reference.json (texts, their reference ids, the model's pieces) and a text's ids.</summary>
internal sealed record TokenizerReference(string[] Texts, int[][] Ids, int Pieces)
{
    public static TokenizerReference Load(string folder)
    {
        using var doc = JsonDocument.Parse(File.ReadAllText(Path.Combine(folder, "tokenizer_reference.json")));
        var root = doc.RootElement;
        return new(root.GetProperty("texts").EnumerateArray().Select(t => t.GetString()!).ToArray(),
            root.GetProperty("ids").EnumerateArray().Select(r => r.EnumerateArray().Select(v => v.GetInt32()).ToArray()).ToArray(),
            root.GetProperty("pieces").GetInt32());
    }

    /// <summary>The ids <paramref name="tokenizer"/> encodes <paramref name="text"/> to, specials included, no padding.</summary>
    public static int[] Encode(TextTokenizer tokenizer, string text)
    {
        var ids = new int[tokenizer.MaxTokens];
        int n = tokenizer.Encode(text, ids, new int[ids.Length]);
        return ids[..n];
    }
}
