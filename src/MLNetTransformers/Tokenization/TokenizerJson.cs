using System.Text.Json;
using System.Text.Json.Nodes;

namespace MLNetTransformers.Tokenization;

/// <summary>
/// A Hugging Face fast tokenizer's file, <c>tokenizer.json</c>, read as the tokenizer its model says and written back:
/// WordPiece (BERT's normalizer and pre-tokenizer, or a pipeline of the normalizers and pre-tokenizers read here, as
/// Hugging Face's tokenizers trains one), BPE (<see cref="BpeTokenizerJson"/>: byte-level or over characters) or Unigram
/// (<see cref="UnigramTokenizerJson"/>: XLM-RoBERTa's, ALBERT's or DeBERTa's numbering). A setting that would tokenize
/// otherwise than the file says is refused by name rather than skipped.
/// </summary>
internal static class TokenizerJson
{
    /// <summary>The normalizers read, applied in order before the pre-tokenizer.</summary>
    public static readonly string[] NormalizerNames = ["NFC", "NFD", "NFKC", "NFKD", "Lowercase", "StripAccents"];

    /// <summary>The tokenizer of the file at <paramref name="path"/>; a WordPiece vocabulary's specials are <paramref name="specials"/> (null = BERT's).</summary>
    public static TextTokenizer Read(string path, int maxTokens, WordPieceSpecials? specials)
    {
        try
        {
            using var doc = JsonDocument.Parse(File.ReadAllBytes(path));
            var root = doc.RootElement;
            var model = root.GetProperty("model");
            string type = model.TryGetProperty("type", out var t) ? t.GetString() ?? "" : "";
            if (type == "BPE") return BpeTokenizerJson.Read(root, path, maxTokens);
            if (type == "Unigram") return UnigramTokenizerJson.Read(root, path, maxTokens);
            if (type != "WordPiece") throw new NotSupportedException($"'{path}' holds a {type} tokenizer; WordPiece (BERT's), BPE (RoBERTa's byte-level one, or one over characters) and Unigram (XLM-RoBERTa's, ALBERT's) are read.");
            return WordPiece(root, model, path, maxTokens, specials);
        }
        catch (Exception e) when (e is JsonException or KeyNotFoundException or InvalidOperationException or FormatException)
        {
            throw new InvalidDataException($"'{path}' is not a tokenizer.json this reads: {e.Message}", e);
        }
    }

    // A WordPiece model: the vocabulary by id; BERT's normalizer (its lowercase flag, accents stripped with it) and
    // pre-tokenizer, or normalizers and a pre-tokenizer of those read here; "##" continuing pieces, [UNK] past 100 characters.
    private static TextTokenizer WordPiece(JsonElement root, JsonElement model, string path, int maxTokens, WordPieceSpecials? specials)
    {
        var vocab = model.GetProperty("vocab").EnumerateObject().Select(p => (Token: p.Name, Id: p.Value.GetInt32())).OrderBy(p => p.Id).ToList();
        for (int i = 0; i < vocab.Count; i++)
            if (vocab[i].Id != i) throw new InvalidDataException($"'{path}': the vocabulary has no token with id {i}.");
        string text = string.Join('\n', vocab.Select(v => v.Token)) + "\n";
        if (model.TryGetProperty("continuing_subword_prefix", out var prefix) && prefix.ValueKind == JsonValueKind.String && prefix.GetString() != "##")
            throw new NotSupportedException($"'{path}': a WordPiece with continuing_subword_prefix '{prefix.GetString()}' is not read; BERT's is '##'.");
        if (model.TryGetProperty("max_input_chars_per_word", out var max) && max.ValueKind == JsonValueKind.Number && max.GetDouble() != 100)
            throw new NotSupportedException($"'{path}': a WordPiece with max_input_chars_per_word {max.GetRawText()} is not read; BERT's is 100.");
        string pre = PreTokenizer(root);
        var normalizer = root.TryGetProperty("normalizer", out var n) && n.ValueKind == JsonValueKind.Object ? n : default;
        if (normalizer.ValueKind == JsonValueKind.Object && normalizer.TryGetProperty("type", out var nt) && nt.GetString() == "BertNormalizer")
        {
            // BERT's basic tokenization, rule for rule (BertNormalizer and BertPreTokenizer as the tokenizer.json says).
            bool Flag(string name, bool fallback) => normalizer.TryGetProperty(name, out var v) && v.ValueKind is JsonValueKind.True or JsonValueKind.False ? v.GetBoolean() : fallback;
            bool lower = Flag("lowercase", true);
            if (!Flag("clean_text", true) || !Flag("handle_chinese_chars", true))
                throw new NotSupportedException($"'{path}': a BertNormalizer without clean_text or handle_chinese_chars is not read.");
            if (normalizer.TryGetProperty("strip_accents", out var strip) && strip.ValueKind is JsonValueKind.True or JsonValueKind.False && strip.GetBoolean() != lower)
                throw new NotSupportedException($"'{path}': a BertNormalizer with strip_accents {strip.GetBoolean().ToString().ToLowerInvariant()} and lowercase {lower.ToString().ToLowerInvariant()} is not read (BERT's strips accents when it lower-cases).");
            if (pre != "BertPreTokenizer")
                throw new NotSupportedException($"'{path}': a BertNormalizer with the pre-tokenizer '{pre}' is not read; BERT's is BertPreTokenizer.");
            return TextTokenizer.FromWordPieceVocabularyText(text, maxTokens, lower, $"'{path}'", specials);
        }
        if (!SubwordRules.PreTokenizers.Contains(pre))
            throw new NotSupportedException($"'{path}': a WordPiece with the pre-tokenizer '{pre}' is not read; supported: {string.Join(", ", SubwordRules.PreTokenizers)}.");
        // The model's unknown token is the one an unknown word becomes (the specials' otherwise).
        var sp = specials ?? WordPieceSpecials.Bert;
        if (model.TryGetProperty("unk_token", out var u) && u.ValueKind == JsonValueKind.String && u.GetString() is { Length: > 0 } unk && unk != sp.Unk) sp = sp with { Unk = unk };
        return TextTokenizer.FromWordPieceRules(text, maxTokens, new SubwordRules(pre, UnknownToken: null, "##"), Normalizers(root, path), sp, $"'{path}'");
    }

    // The pre-tokenizer's type; "none" without one.
    private static string PreTokenizer(JsonElement root) =>
        root.TryGetProperty("pre_tokenizer", out var p) && p.ValueKind == JsonValueKind.Object && p.TryGetProperty("type", out var t) ? t.GetString() ?? "" : "none";

    /// <summary>
    /// A tokenizer.json's normalizers: none, one of <see cref="NormalizerNames"/>, or a Sequence of them (GPT-NeoX's
    /// tokenizer, and so ModernBERT's, has NFC; Hugging Face's WordPiece quick tour NFD, Lowercase, StripAccents); others
    /// are refused by name rather than skipped.
    /// </summary>
    public static string[] Normalizers(JsonElement root, string path)
    {
        if (!root.TryGetProperty("normalizer", out var n) || n.ValueKind != JsonValueKind.Object) return [];
        var steps = n.TryGetProperty("type", out var t) && t.GetString() == "Sequence" && n.TryGetProperty("normalizers", out var list)
            ? list.EnumerateArray().ToArray() : [n];
        return steps.Select(step =>
        {
            string type = step.ValueKind == JsonValueKind.Object && step.TryGetProperty("type", out var k) ? k.GetString() ?? "" : "";
            return NormalizerNames.Contains(type) ? type
                : throw new NotSupportedException($"'{path}': normalizer '{type}' is not read here; supported: {string.Join(", ", NormalizerNames)}.");
        }).ToArray();
    }

    /// <summary>
    /// A tokenizer.json of <paramref name="model"/>: the normalizers, the pre-tokenizer and decoder, the specials as added
    /// tokens (the mask taking the space before it when <paramref name="maskTakesSpace"/>) and the template that places them.
    /// </summary>
    public static byte[] Write(JsonObject model, JsonObject vocab, WordPieceSpecials sp, string[]? normalizers, JsonObject preTokenizer, JsonObject? decoder, bool maskTakesSpace)
    {
        var added = new JsonArray();
        foreach (var token in new[] { sp.Unk, sp.Cls, sp.Sep, sp.Pad, sp.Mask }.Distinct())
            added.Add(new JsonObject
            {
                ["id"] = vocab[token]!.GetValue<int>(), ["content"] = token, ["single_word"] = false, ["lstrip"] = maskTakesSpace && token == sp.Mask, ["rstrip"] = false, ["normalized"] = false, ["special"] = true,
            });
        static JsonObject Special(string token, int type) => new() { ["SpecialToken"] = new JsonObject { ["id"] = token, ["type_id"] = type } };
        static JsonObject Sequence(string id, int type) => new() { ["Sequence"] = new JsonObject { ["id"] = id, ["type_id"] = type } };
        var pair = new JsonArray(Special(sp.Cls, 0), Sequence("A", 0), Special(sp.Sep, 0));
        if (sp.DoubleSeparatorPairs) pair.Add(Special(sp.Sep, 0));
        pair.Add(Sequence("B", 1));
        pair.Add(Special(sp.Sep, 1));
        var json = new JsonObject
        {
            ["version"] = "1.0", ["added_tokens"] = added,
            ["normalizer"] = normalizers is { } ns ? new JsonObject
            {
                ["type"] = "Sequence", ["normalizers"] = new JsonArray(ns.Select(n => (JsonNode)new JsonObject { ["type"] = n }).ToArray()),
            } : null,
            ["pre_tokenizer"] = preTokenizer,
            ["post_processor"] = new JsonObject
            {
                ["type"] = "TemplateProcessing", ["single"] = new JsonArray(Special(sp.Cls, 0), Sequence("A", 0), Special(sp.Sep, 0)), ["pair"] = pair,
                ["special_tokens"] = new JsonObject(new[] { sp.Cls, sp.Sep }.Distinct().Select(t => KeyValuePair.Create(t, (JsonNode?)new JsonObject
                {
                    ["id"] = t, ["ids"] = new JsonArray(vocab[t]!.GetValue<int>()), ["tokens"] = new JsonArray(t),
                }))),
            },
            ["decoder"] = decoder,
            ["model"] = model,
        };
        return System.Text.Encoding.UTF8.GetBytes(json.ToJsonString(new JsonSerializerOptions { Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping }));
    }

    /// <summary>A WordPiece vocabulary (vocab.txt's lines) with its pre-tokenizer and normalizers as tokenizer.json holds it.</summary>
    public static byte[] WriteWordPiece(string vocabularyText, WordPieceSpecials sp, string[]? normalizers, SubwordRules rules)
    {
        var vocab = new JsonObject();
        var lines = vocabularyText.Split('\n');
        for (int i = 0; i < lines.Length; i++)
            if (lines[i].TrimEnd('\r') is { Length: > 0 } token) vocab[token] = i;
        var model = new JsonObject
        {
            ["type"] = "WordPiece", ["unk_token"] = sp.Unk, ["continuing_subword_prefix"] = "##", ["max_input_chars_per_word"] = 100, ["vocab"] = vocab.DeepClone(),
        };
        return Write(model, vocab, sp, normalizers, new JsonObject { ["type"] = rules.PreTokenizer }, new JsonObject { ["type"] = "WordPiece", ["prefix"] = "##", ["cleanup"] = true }, maskTakesSpace: false);
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
