using System.Text.Json;

namespace MLNetTransformers.Tokenization;

/// <summary>
/// A Hugging Face fast tokenizer's file, <c>tokenizer.json</c>, read as the tokenizer its model says: WordPiece (the
/// vocabulary by id, lower case when its normalizer says so), BPE (<see cref="BpeTokenizerJson"/>: byte-level or over
/// characters) or Unigram (<see cref="UnigramTokenizerJson"/>: XLM-RoBERTa's, ALBERT's or DeBERTa's numbering).
/// </summary>
internal static class TokenizerJson
{
    /// <summary>The tokenizer of the file at <paramref name="path"/>; a WordPiece vocabulary's specials are <paramref name="specials"/> (null = BERT's).</summary>
    public static TextTokenizer Read(string path, int maxTokens, WordPieceSpecials? specials)
    {
        try
        {
            using var doc = JsonDocument.Parse(File.ReadAllBytes(path));
            var model = doc.RootElement.GetProperty("model");
            string type = model.TryGetProperty("type", out var t) ? t.GetString() ?? "" : "";
            if (type == "BPE") return BpeTokenizerJson.Read(doc.RootElement, path, maxTokens);
            if (type == "Unigram") return UnigramTokenizerJson.Read(doc.RootElement, path, maxTokens);
            if (type != "WordPiece") throw new NotSupportedException($"'{path}' holds a {type} tokenizer; WordPiece (BERT's), BPE (RoBERTa's byte-level one, or one over characters) and Unigram (XLM-RoBERTa's, ALBERT's) are read.");
            var vocab = model.GetProperty("vocab").EnumerateObject().Select(p => (Token: p.Name, Id: p.Value.GetInt32())).OrderBy(p => p.Id).ToList();
            for (int i = 0; i < vocab.Count; i++)
                if (vocab[i].Id != i) throw new InvalidDataException($"'{path}': the vocabulary has no token with id {i}.");
            bool lower = doc.RootElement.TryGetProperty("normalizer", out var n) && n.ValueKind == JsonValueKind.Object
                && n.TryGetProperty("lowercase", out var lc) && lc.ValueKind == JsonValueKind.True;
            return TextTokenizer.FromWordPieceVocabularyText(string.Join('\n', vocab.Select(v => v.Token)) + "\n", maxTokens, lower, $"'{path}'", specials);
        }
        catch (Exception e) when (e is JsonException or KeyNotFoundException or InvalidOperationException or FormatException)
        {
            throw new InvalidDataException($"'{path}' is not a tokenizer.json this reads: {e.Message}", e);
        }
    }

    /// <summary>Whether the JSON file at <paramref name="path"/> is a tokenizer.json (an object with a <c>model</c> object) rather than a vocab.json (tokens to ids).</summary>
    public static bool Is(string path)
    {
        if (!File.Exists(path)) return false;
        try
        {
            using var stream = File.OpenRead(path);
            using var doc = JsonDocument.Parse(stream);
            return doc.RootElement.ValueKind == JsonValueKind.Object && doc.RootElement.TryGetProperty("model", out var model) && model.ValueKind == JsonValueKind.Object;
        }
        catch (JsonException) { return false; } // not JSON: the kind's own reader names the problem
    }
}
