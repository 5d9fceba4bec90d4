using System.Text.Json;
using MLNetTransformers.Tokenization;
using Xunit;

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

    /// <summary>
    /// Asserts that <paramref name="tokenizer"/> encodes the texts and pairs of <paramref name="folder"/>'s
    /// tokenizer_reference.json (texts, ids, pairs, pair_ids, pair_types) to their reference ids and token types.
    /// </summary>
    public static void AssertEncodesAsReference(TextTokenizer tokenizer, string folder)
    {
        using var doc = JsonDocument.Parse(File.ReadAllText(Path.Combine(folder, "tokenizer_reference.json")));
        var r = doc.RootElement;
        int[][] Ints(string name) => r.GetProperty(name).EnumerateArray().Select(a => a.EnumerateArray().Select(v => v.GetInt32()).ToArray()).ToArray();
        string[] Strings(JsonElement e) => e.EnumerateArray().Select(v => v.GetString()!).ToArray();
        var (texts, expected, pairs, pairIds, pairTypes) = (Strings(r.GetProperty("texts")), Ints("ids"), r.GetProperty("pairs").EnumerateArray().Select(Strings).ToArray(), Ints("pair_ids"), Ints("pair_types"));
        for (int i = 0; i < texts.Length; i++)
        {
            var ids = Encode(tokenizer, texts[i]);
            Assert.True(expected[i].SequenceEqual(ids), $"'{texts[i]}': [{string.Join(", ", ids)}], expected [{string.Join(", ", expected[i])}]");
        }
        for (int i = 0; i < pairs.Length; i++)
        {
            var (ids, mask, types) = (new int[tokenizer.MaxTokens], new int[tokenizer.MaxTokens], new int[tokenizer.MaxTokens]);
            int n = tokenizer.EncodePair(pairs[i][0], pairs[i][1], ids, mask, types, out _);
            Assert.Equal(pairIds[i], ids[..n]);
            Assert.Equal(pairTypes[i], types[..n]);
        }
    }
}
