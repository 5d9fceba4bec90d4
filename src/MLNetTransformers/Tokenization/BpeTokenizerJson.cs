using System.Text.Json;
using System.Text.Json.Nodes;

namespace MLNetTransformers.Tokenization;

/// <summary>
/// A fast tokenizer's file (<c>tokenizer.json</c>) with a BPE model, read and written. Byte-level: RoBERTa's, and
/// ModernBERT's, whose special tokens are added tokens past the vocabulary placed by a TemplateProcessing post-processor
/// and whose text is NFC-normalized first; GPT-2's pre-tokenization is what runs. Over characters, as Hugging Face's
/// tokenizers trains one (its quick tour's, DNABERT-2's): the Whitespace, WhitespaceSplit or BertPreTokenizer
/// pre-tokenizer, an unknown token, a continuing-subword prefix, an end-of-word suffix and fused unknowns as the model
/// says. Other pre-tokenizers, normalizers, templates and model options (byte fallback, dropout, ignore_merges) are refused by name.
/// </summary>
internal static class BpeTokenizerJson
{
    /// <summary>
    /// The tokenizer of a tokenizer.json root whose model is a BPE: the model's vocabulary with the added tokens it lacks
    /// (ModernBERT's specials are only there), its normalizers, its pre-tokenizer and model options, and the specials its
    /// post-processor places; <paramref name="path"/> names the file.
    /// </summary>
    public static TextTokenizer Read(JsonElement root, string path, int maxTokens)
    {
        var model = root.GetProperty("model");
        var pre = root.TryGetProperty("pre_tokenizer", out var p) && p.ValueKind == JsonValueKind.Object ? p : default;
        string preType = pre.ValueKind == JsonValueKind.Object && pre.TryGetProperty("type", out var pt) ? pt.GetString() ?? "" : "none";
        bool byteLevel = preType == "ByteLevel";
        SubwordRules? rules = null;
        if (byteLevel)
        {
            // GPT-2's pre-tokenization exactly: its regex, no space added before the text.
            if (pre.TryGetProperty("add_prefix_space", out var prefix) && prefix.ValueKind == JsonValueKind.True)
                throw new NotSupportedException($"'{path}': a ByteLevel pre-tokenizer with add_prefix_space true is not read; RoBERTa's and ModernBERT's leave it false.");
            if (pre.TryGetProperty("use_regex", out var regex) && regex.ValueKind == JsonValueKind.False)
                throw new NotSupportedException($"'{path}': a ByteLevel pre-tokenizer with use_regex false is not read; GPT-2's pattern splits the text.");
        }
        else
        {
            if (!SubwordRules.PreTokenizers.Contains(preType))
                throw new NotSupportedException($"'{path}': a BPE over characters with the pre-tokenizer '{preType}' is not read; supported: ByteLevel, {string.Join(", ", SubwordRules.PreTokenizers)}.");
            string? Text(string name) => model.TryGetProperty(name, out var v) && v.ValueKind == JsonValueKind.String && v.GetString() is { Length: > 0 } s ? s : null;
            bool True(string name) => model.TryGetProperty(name, out var v) && v.ValueKind == JsonValueKind.True;
            if (True("byte_fallback")) throw new NotSupportedException($"'{path}': a BPE with byte_fallback is not read.");
            if (True("ignore_merges")) throw new NotSupportedException($"'{path}': a BPE with ignore_merges is not read.");
            if (model.TryGetProperty("dropout", out var dropout) && dropout.ValueKind == JsonValueKind.Number && dropout.GetDouble() > 0)
                throw new NotSupportedException($"'{path}': a BPE with dropout {dropout.GetDouble()} is not read (it tokenizes at random); set it to null.");
            rules = new SubwordRules(preType, Text("unk_token"), Text("continuing_subword_prefix"), Text("end_of_word_suffix"), True("fuse_unk"));
        }
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
        if (rules?.UnknownToken is { } unk && !vocab.ContainsKey(unk)) throw new InvalidDataException($"'{path}': its unknown token '{unk}' is not in the vocabulary.");
        // merges.txt's lines "a b": a piece with a space in it cannot be one of them (a BPE over characters split only at spaces has none).
        var merges = model.GetProperty("merges").EnumerateArray().Select(m =>
        {
            var parts = m.ValueKind == JsonValueKind.Array ? m.EnumerateArray().Select(x => x.GetString() ?? "").ToArray() : (m.GetString() ?? "").Split(' ');
            if (parts.Length != 2 || parts.Any(x => x.Length == 0 || x.Contains(' ')))
                throw new InvalidDataException($"'{path}': the merge {m.GetRawText()} is not two pieces without spaces.");
            return parts[0] + " " + parts[1];
        }).ToList();
        string mergesText = "#version: 0.2\n" + string.Join('\n', merges) + "\n";
        var specials = PostProcessorSpecials(root, vocab, path, byteLevel, rules?.UnknownToken);
        return byteLevel
            ? TextTokenizer.FromByteLevelBpeText(vocab.ToJsonString(), mergesText, maxTokens, specials, $"'{path}'", TokenizerJson.Normalizers(root, path))
            : TextTokenizer.FromBpeText(vocab.ToJsonString(), mergesText, maxTokens, specials!, rules!, $"'{path}'", TokenizerJson.Normalizers(root, path));
    }

    // The specials a BPE's post-processor places: RobertaProcessing's cls and sep, or a TemplateProcessing of X $A Y whose
    // pairs are X $A Y $B Y (BERT's form, ModernBERT's) or X $A Y Y $B Y (RoBERTa's); padding, mask and unknown by their
    // usual names (the model's unknown token first). Without a post-processor: RoBERTa's (null) for a byte-level BPE,
    // else [CLS] and [SEP] (or <s> and </s>) from the vocabulary.
    private static WordPieceSpecials? PostProcessorSpecials(JsonElement root, JsonObject vocab, string path, bool byteLevel, string? unknown)
    {
        string Named(string[] names, string role) => names.FirstOrDefault(vocab.ContainsKey)
            ?? throw new InvalidDataException($"'{path}' has no {role} token ({string.Join(", ", names)}).");
        string cls, sep;
        bool doubled;
        var pp = root.TryGetProperty("post_processor", out var found) && found.ValueKind == JsonValueKind.Object ? found : default;
        if (pp.ValueKind == JsonValueKind.Object && pp.TryGetProperty("type", out var seqType) && seqType.GetString() == "Sequence" && pp.TryGetProperty("processors", out var inner))
            pp = inner.EnumerateArray().FirstOrDefault(p => p.TryGetProperty("type", out var t) && t.GetString() is "TemplateProcessing" or "RobertaProcessing" or "BertProcessing");
        string type = pp.ValueKind != JsonValueKind.Object ? "" : pp.TryGetProperty("type", out var k) ? k.GetString() ?? "" : "";
        if (type == "" && byteLevel) return null;
        if (type == "")
        {
            cls = Named(["[CLS]", "<s>"], "first (classification)");
            (sep, doubled) = (cls == "<s>" ? Named(["</s>"], "separator") : Named(["[SEP]"], "separator"), cls == "<s>");
        }
        else if (type is "RobertaProcessing" or "BertProcessing")
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
        var specials = new WordPieceSpecials(cls, sep, Named(["[PAD]", "<pad>", "<|padding|>"], "padding"), Named(["[MASK]", "<mask>"], "mask"),
            unknown ?? Named(["[UNK]", "<unk>", "<|endoftext|>"], "unknown"), doubled);
        return byteLevel && specials == TextTokenizer.RobertaSpecials ? null : specials;
    }

    /// <summary>
    /// A BPE as tokenizer.json holds it (what <see cref="Read"/> takes back): its normalizers, the BPE model, the
    /// pre-tokenizer (and for a byte-level one its decoder), the specials as added tokens (a byte-level BPE's mask taking
    /// the space before it) and the template that places them.
    /// </summary>
    /// <param name="vocabularyJson">vocab.json's text (token → id).</param>
    /// <param name="mergesText">merges.txt's text.</param>
    /// <param name="sp">The special tokens and the pairs' form.</param>
    /// <param name="normalizers">The normalizers, in order; null = none.</param>
    /// <param name="rules">A BPE over characters: its pre-tokenizer and model options; null = byte-level.</param>
    public static byte[] Write(string vocabularyJson, string mergesText, WordPieceSpecials sp, string[]? normalizers, SubwordRules? rules = null)
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
        var model = rules is null ? new JsonObject { ["type"] = "BPE", ["vocab"] = vocab, ["merges"] = merges } : new JsonObject
        {
            ["type"] = "BPE", ["dropout"] = null, ["unk_token"] = rules.UnknownToken, ["continuing_subword_prefix"] = rules.ContinuingSubwordPrefix,
            ["end_of_word_suffix"] = rules.EndOfWordSuffix, ["fuse_unk"] = rules.FuseUnknown, ["byte_fallback"] = false, ["vocab"] = vocab, ["merges"] = merges,
        };
        return rules is null
            ? TokenizerJson.Write(model, vocab, sp, normalizers, new JsonObject { ["type"] = "ByteLevel", ["add_prefix_space"] = false, ["trim_offsets"] = true, ["use_regex"] = true },
                new JsonObject { ["type"] = "ByteLevel", ["add_prefix_space"] = true, ["trim_offsets"] = true, ["use_regex"] = true }, maskTakesSpace: true)
            : TokenizerJson.Write(model, vocab, sp, normalizers, new JsonObject { ["type"] = rules.PreTokenizer }, decoder: null, maskTakesSpace: false);
    }
}
