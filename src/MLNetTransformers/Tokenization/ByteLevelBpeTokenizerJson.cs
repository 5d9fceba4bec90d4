using System.Text.Json;
using System.Text.Json.Nodes;

namespace MLNetTransformers.Tokenization;

/// <summary>
/// A fast tokenizer's file (<c>tokenizer.json</c>) with a byte-level BPE model, read and written: RoBERTa's, and ModernBERT's,
/// whose special tokens are added tokens past the vocabulary placed by a TemplateProcessing post-processor and whose text
/// is NFC-normalized first. GPT-2's pre-tokenization is what runs; a ByteLevel pre-tokenizer set otherwise, other
/// normalizers and other templates are refused by name.
/// </summary>
internal static class ByteLevelBpeTokenizerJson
{
    /// <summary>
    /// The tokenizer of a tokenizer.json root whose model is a BPE over GPT-2's byte-level alphabet: the model's vocabulary
    /// with the added tokens it lacks (ModernBERT's specials are only there), its normalizers, and the specials its
    /// post-processor places; <paramref name="path"/> names the file.
    /// </summary>
    public static TextTokenizer Read(JsonElement root, string path, int maxTokens)
    {
        var model = root.GetProperty("model");
        // GPT-2's pre-tokenization exactly: its regex, no space added before the text.
        var pre = root.GetProperty("pre_tokenizer");
        if (pre.TryGetProperty("add_prefix_space", out var prefix) && prefix.ValueKind == JsonValueKind.True)
            throw new NotSupportedException($"'{path}': a ByteLevel pre-tokenizer with add_prefix_space true is not read; RoBERTa's and ModernBERT's leave it false.");
        if (pre.TryGetProperty("use_regex", out var regex) && regex.ValueKind == JsonValueKind.False)
            throw new NotSupportedException($"'{path}': a ByteLevel pre-tokenizer with use_regex false is not read; GPT-2's pattern splits the text.");
        // Every token one id of its own (a repeated id would make two tokens one), the added tokens after them.
        var vocab = new JsonObject();
        var byId = new Dictionary<int, string>();
        void Add(string token, JsonElement id, string what)
        {
            if (id.ValueKind != JsonValueKind.Number || !id.TryGetInt32(out int value) || value < 0)
                throw new InvalidDataException($"'{path}': {what} '{token}' has the id {id}, not a whole number of at least 0.");
            if (byId.TryGetValue(value, out var other)) throw new InvalidDataException($"'{path}': {what} '{token}' has id {value}, which '{other}' already has.");
            (vocab[token], byId[value]) = (value, token);
        }
        foreach (var entry in model.GetProperty("vocab").EnumerateObject()) Add(entry.Name, entry.Value, "the vocabulary's token");
        if (root.TryGetProperty("added_tokens", out var added) && added.ValueKind == JsonValueKind.Array)
            foreach (var t in added.EnumerateArray())
            {
                string content = t.GetProperty("content").GetString() ?? throw new InvalidDataException($"'{path}': an added token has no content.");
                if (!vocab.ContainsKey(content)) Add(content, t.GetProperty("id"), "the added token");
            }
        var merges = model.GetProperty("merges").EnumerateArray().Select(m => m.ValueKind == JsonValueKind.Array
            ? string.Join(' ', m.EnumerateArray().Select(x => x.GetString())) : m.GetString()!);
        return TextTokenizer.FromByteLevelBpeText(vocab.ToJsonString(), "#version: 0.2\n" + string.Join('\n', merges) + "\n", maxTokens,
            PostProcessorSpecials(root, vocab, path), $"'{path}'", Normalizers(root, path));
    }

    // A byte-level BPE's normalizers: none, one of NFC, NFD, NFKC, NFKD and Lowercase, or a Sequence of them (GPT-NeoX's
    // tokenizer, and so ModernBERT's, has NFC); others are refused by name rather than skipped.
    private static string[] Normalizers(JsonElement root, string path)
    {
        if (!root.TryGetProperty("normalizer", out var n) || n.ValueKind != JsonValueKind.Object) return [];
        var steps = n.TryGetProperty("type", out var t) && t.GetString() == "Sequence" && n.TryGetProperty("normalizers", out var list)
            ? list.EnumerateArray().ToArray() : [n];
        return steps.Select(step =>
        {
            string type = step.TryGetProperty("type", out var k) ? k.GetString() ?? "" : "";
            return type is "NFC" or "NFD" or "NFKC" or "NFKD" or "Lowercase" ? type
                : throw new NotSupportedException($"'{path}': normalizer '{type}' is not read for a byte-level BPE; supported: NFC, NFD, NFKC, NFKD, Lowercase.");
        }).ToArray();
    }

    // The specials a byte-level BPE's post-processor places: RobertaProcessing's cls and sep, or a TemplateProcessing of
    // X $A Y whose pairs are X $A Y $B Y (BERT's form, ModernBERT's) or X $A Y Y $B Y (RoBERTa's); padding, mask and unknown
    // by their usual names. Without a post-processor: RoBERTa's (null).
    private static WordPieceSpecials? PostProcessorSpecials(JsonElement root, JsonObject vocab, string path)
    {
        if (!root.TryGetProperty("post_processor", out var pp) || pp.ValueKind != JsonValueKind.Object) return null;
        if (pp.TryGetProperty("type", out var seqType) && seqType.GetString() == "Sequence" && pp.TryGetProperty("processors", out var inner))
        {
            var placing = inner.EnumerateArray().Where(p => p.TryGetProperty("type", out var t) && t.GetString() is "TemplateProcessing" or "RobertaProcessing" or "BertProcessing").ToList();
            if (placing.Count == 0) return null;
            pp = placing[0];
        }
        string type = pp.TryGetProperty("type", out var k) ? k.GetString() ?? "" : "";
        string cls, sep;
        bool doubled;
        if (type is "RobertaProcessing" or "BertProcessing")
            (cls, sep, doubled) = (pp.GetProperty("cls")[0].GetString()!, pp.GetProperty("sep")[0].GetString()!, type == "RobertaProcessing");
        else if (type == "TemplateProcessing")
        {
            static string Piece(JsonElement p) => p.TryGetProperty("SpecialToken", out var s) ? "special:" + s.GetProperty("id").GetString()
                : p.TryGetProperty("Sequence", out var q) ? "$" + q.GetProperty("id").GetString() : "?";
            var single = pp.GetProperty("single").EnumerateArray().Select(Piece).ToArray();
            var pair = pp.TryGetProperty("pair", out var pr) ? pr.EnumerateArray().Select(Piece).ToArray() : [];
            static bool IsSpecial(string piece) => piece.StartsWith("special:", StringComparison.Ordinal);
            if (single.Length != 3 || !IsSpecial(single[0]) || single[1] != "$A" || !IsSpecial(single[2]))
                throw new NotSupportedException($"'{path}': its post-processor's template [{string.Join(" ", single)}] is not read; supported: one special token before the text and one after.");
            var (x, y) = (single[0], single[2]);
            (cls, sep) = (x["special:".Length..], y["special:".Length..]);
            doubled = pair.SequenceEqual([x, "$A", y, y, "$B", y]);
            if (!doubled && !pair.SequenceEqual([x, "$A", y, "$B", y]))
                throw new NotSupportedException($"'{path}': its post-processor's pair template [{string.Join(" ", pair)}] is not read; supported: {cls} A {sep} B {sep} and {cls} A {sep} {sep} B {sep}.");
        }
        else throw new NotSupportedException($"'{path}': post-processor '{type}' is not read; supported: TemplateProcessing, RobertaProcessing, BertProcessing.");
        string Named(string[] names, string role) => names.FirstOrDefault(vocab.ContainsKey)
            ?? throw new InvalidDataException($"'{path}' has no {role} token ({string.Join(", ", names)}).");
        var specials = new WordPieceSpecials(cls, sep, Named(["[PAD]", "<pad>", "<|padding|>"], "padding"), Named(["[MASK]", "<mask>"], "mask"),
            Named(["[UNK]", "<unk>", "<|endoftext|>"], "unknown"), doubled);
        return specials == TextTokenizer.RobertaSpecials ? null : specials;
    }

    /// <summary>
    /// A byte-level BPE as tokenizer.json holds it (what <see cref="Read"/> takes back): its normalizers, the BPE model,
    /// ByteLevel pre-tokenizer and decoder, the specials as added tokens (the mask taking the space before it) and the
    /// template that places them.
    /// </summary>
    /// <param name="vocabularyJson">vocab.json's text (token → id).</param>
    /// <param name="mergesText">merges.txt's text.</param>
    /// <param name="sp">The special tokens and the pairs' form.</param>
    /// <param name="normalizers">The normalizers, in order; null = none.</param>
    public static byte[] Write(string vocabularyJson, string mergesText, WordPieceSpecials sp, string[]? normalizers)
    {
        var vocab = JsonNode.Parse(vocabularyJson)!.AsObject();
        var merges = new JsonArray();
        foreach (var line in mergesText.Split('\n'))
        {
            var l = line.TrimEnd('\r');
            if (l.Length == 0 || l.StartsWith("#version", StringComparison.Ordinal)) continue;
            int space = l.IndexOf(' ');
            merges.Add(new JsonArray(l[..space], l[(space + 1)..]));
        }
        var added = new JsonArray();
        foreach (var token in new[] { sp.Unk, sp.Cls, sp.Sep, sp.Pad, sp.Mask }.Distinct())
            added.Add(new JsonObject
            {
                ["id"] = vocab[token]!.GetValue<int>(), ["content"] = token, ["single_word"] = false, ["lstrip"] = token == sp.Mask, ["rstrip"] = false, ["normalized"] = false, ["special"] = true,
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
            ["pre_tokenizer"] = new JsonObject { ["type"] = "ByteLevel", ["add_prefix_space"] = false, ["trim_offsets"] = true, ["use_regex"] = true },
            ["post_processor"] = new JsonObject
            {
                ["type"] = "TemplateProcessing", ["single"] = new JsonArray(Special(sp.Cls, 0), Sequence("A", 0), Special(sp.Sep, 0)), ["pair"] = pair,
                ["special_tokens"] = new JsonObject(new[] { sp.Cls, sp.Sep }.Distinct().Select(t => KeyValuePair.Create(t, (JsonNode?)new JsonObject
                {
                    ["id"] = t, ["ids"] = new JsonArray(vocab[t]!.GetValue<int>()), ["tokens"] = new JsonArray(t),
                }))),
            },
            ["decoder"] = new JsonObject { ["type"] = "ByteLevel", ["add_prefix_space"] = true, ["trim_offsets"] = true, ["use_regex"] = true },
            ["model"] = new JsonObject { ["type"] = "BPE", ["vocab"] = vocab, ["merges"] = merges },
        };
        return System.Text.Encoding.UTF8.GetBytes(json.ToJsonString(new JsonSerializerOptions { Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping }));
    }
}
