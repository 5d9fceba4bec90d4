using System.Text.Json;
using Google.Protobuf;

namespace MLNetTransformers.Tokenization;

/// <summary>
/// A fast tokenizer's file (<c>tokenizer.json</c> with a Unigram model, as Hugging Face's converter writes it from a
/// SentencePiece model) turned back into the SentencePiece model it came from, for folders that ship only the JSON.
/// XLM-RoBERTa's: its vocabulary is fairseq's numbering (<c>&lt;s&gt; &lt;pad&gt; &lt;/s&gt; &lt;unk&gt;</c>, the pieces
/// from the model's fourth on with their scores, <c>&lt;mask&gt;</c> last). ALBERT's: the model's own pieces in order
/// (<c>&lt;pad&gt; &lt;unk&gt; [CLS] [SEP] [MASK]</c> among them), its normalizers saying whether text is lower-cased and
/// accents stripped. CamemBERT's: <c>&lt;s&gt;NOTUSED &lt;pad&gt; &lt;/s&gt;NOTUSED &lt;unk&gt; &lt;unk&gt;NOTUSED</c>, the model's pieces from its
/// second on, <c>&lt;mask&gt;</c> last. DeBERTa's: the model's own pieces in order, <c>[PAD] [CLS] [SEP] [UNK]</c> first, <c>[MASK]</c> an
/// added token after them. The normalizer's precompiled character map is the model's. The model is written as SentencePiece's
/// <c>ModelProto</c> (pieces, a unigram trainer spec, the normalizer spec). Other Unigram layouts (T5's) are refused by name.
/// </summary>
internal static class UnigramTokenizerJson
{
    private static readonly string[] FairseqSpecials = ["<s>", "<pad>", "</s>", "<unk>"], DebertaSpecials = ["[PAD]", "[CLS]", "[SEP]", "[UNK]"],
        CamembertSpecials = ["<s>NOTUSED", "<pad>", "</s>NOTUSED", "<unk>", "<unk>NOTUSED"];

    /// <summary>The tokenizer of a tokenizer.json root whose model is a Unigram of XLM-RoBERTa's or ALBERT's layout; <paramref name="path"/> names the file.</summary>
    public static TextTokenizer Read(JsonElement root, string path, int maxTokens)
    {
        string source = $"'{path}'";
        var model = root.GetProperty("model");
        var vocab = Vocabulary(model, source);
        int unk = model.TryGetProperty("unk_id", out var u) && u.ValueKind == JsonValueKind.Number ? u.GetInt32() : -1;
        if (model.TryGetProperty("byte_fallback", out var fallback) && fallback.ValueKind == JsonValueKind.True)
            throw new NotSupportedException($"{source}: a Unigram tokenizer with byte fallback is not read.");
        var normalizers = Normalizers(root.TryGetProperty("normalizer", out var n) ? n : default).ToList();
        var charsmap = normalizers.Select(PrecompiledCharsmap).FirstOrDefault(m => m is not null)
            ?? throw new NotSupportedException($"{source}: its normalizer has no precompiled character map (SentencePiece's normalization), which XLM-RoBERTa's and ALBERT's tokenizer.json hold.");
        if (vocab.Count >= 9 && vocab.Take(5).Select(v => v.Piece).SequenceEqual(CamembertSpecials) && vocab[5].Piece == "<s>" && vocab[6].Piece == "</s>" && vocab[^1].Piece == "<mask>" && unk == 3)
            return TextTokenizer.FromSentencePieceBytes(Camembert(vocab, charsmap), maxTokens, path, SentencePieceLayout.Camembert);
        if (vocab.Count >= 6 && vocab.Take(4).Select(v => v.Piece).SequenceEqual(FairseqSpecials) && vocab[^1].Piece == "<mask>" && unk == 3)
            return TextTokenizer.FromSentencePieceBytes(Fairseq(vocab, charsmap), maxTokens, path);
        var pieces = vocab.Select(v => v.Piece).ToList();
        if (SentencePieceSpecials.Albert.All(pieces.Contains) && unk >= 0 && unk < vocab.Count && vocab[unk].Piece == "<unk>")
        {
            bool Has(string type) => normalizers.Any(x => x.TryGetProperty("type", out var t) && t.GetString() == type);
            return TextTokenizer.FromSentencePieceBytes(Albert(vocab, unk, charsmap), maxTokens, path, SentencePieceLayout.Albert, lowerCase: Has("Lowercase"), keepAccents: !Has("StripAccents"));
        }
        if (vocab.Count >= 5 && vocab.Take(4).Select(v => v.Piece).SequenceEqual(DebertaSpecials) && unk == 3)
        {
            bool lower = normalizers.Any(x => x.TryGetProperty("type", out var t) && t.GetString() == "Lowercase");
            return TextTokenizer.FromSentencePieceBytes(Deberta(vocab, charsmap), maxTokens, path, SentencePieceLayout.DebertaV2, lowerCase: lower);
        }
        throw new NotSupportedException($"{source} holds a Unigram tokenizer numbered neither as XLM-RoBERTa's (<s> <pad> </s> <unk> first, <mask> last, unk_id 3), CamemBERT's (<s>NOTUSED <pad> </s>NOTUSED <unk> <unk>NOTUSED first), ALBERT's (<pad> <unk> [CLS] [SEP] [MASK] among its pieces) nor DeBERTa's ([PAD] [CLS] [SEP] [UNK] first, unk_id 3); give its SentencePiece model file instead.");
    }

    private static List<(string Piece, float Score)> Vocabulary(JsonElement model, string source) =>
        model.GetProperty("vocab").EnumerateArray().Select(e =>
        {
            if (e.ValueKind != JsonValueKind.Array || e.GetArrayLength() != 2 || e[0].ValueKind != JsonValueKind.String || e[1].ValueKind != JsonValueKind.Number)
                throw new InvalidDataException($"{source}: a Unigram vocabulary entry is {e}, not [piece, score].");
            return (Piece: e[0].GetString()!, Score: (float)e[1].GetDouble());
        }).ToList();

    // XLM-RoBERTa's: SentencePiece's own numbering is <unk> 0, <s> 1, </s> 2, then the pieces (fairseq's id − 1).
    private static byte[] Fairseq(List<(string Piece, float Score)> vocab, byte[] charsmap) => ModelProto(charsmap, unkId: 0, padId: -1, bosId: 1, eosId: 2, o =>
    {
        WritePiece(o, "<unk>", 0f, type: 2);
        WritePiece(o, "<s>", 0f, type: 3);
        WritePiece(o, "</s>", 0f, type: 3);
        for (int i = 4; i < vocab.Count - 1; i++) WritePiece(o, vocab[i].Piece, vocab[i].Score, type: 1);
    });

    // CamemBERT's: SentencePiece's own numbering is <unk> 0, then the pieces from the sixth on (<s> 1, </s> 2, …: CamemBERT's id − 4).
    private static byte[] Camembert(List<(string Piece, float Score)> vocab, byte[] charsmap) => ModelProto(charsmap, unkId: 0, padId: -1, bosId: 1, eosId: 2, o =>
    {
        WritePiece(o, "<unk>", 0f, type: 2);
        for (int i = 5; i < vocab.Count - 1; i++) WritePiece(o, vocab[i].Piece, vocab[i].Score, type: i is 5 or 6 ? 3 : 1);
    });

    // ALBERT's: the pieces as they are, <unk> unknown, its other specials control pieces (never produced from text).
    private static byte[] Albert(List<(string Piece, float Score)> vocab, int unk, byte[] charsmap) =>
        ModelProto(charsmap, unkId: unk, padId: vocab.FindIndex(v => v.Piece == "<pad>"), bosId: -1, eosId: -1, o =>
        {
            for (int i = 0; i < vocab.Count; i++)
                WritePiece(o, vocab[i].Piece, vocab[i].Score, type: i == unk ? 2 : SentencePieceSpecials.Albert.Contains(vocab[i].Piece) ? 3 : 1);
        });

    // DeBERTa's: the pieces as they are, [PAD] [CLS] [SEP] the model's pad, bos and eos, [UNK] its unknown piece.
    private static byte[] Deberta(List<(string Piece, float Score)> vocab, byte[] charsmap) => ModelProto(charsmap, unkId: 3, padId: 0, bosId: 1, eosId: 2, o =>
    {
        for (int i = 0; i < vocab.Count; i++) WritePiece(o, vocab[i].Piece, vocab[i].Score, type: i == 3 ? 2 : i < 3 ? 3 : 1);
    });

    private static byte[] ModelProto(byte[] charsmap, int unkId, int padId, int bosId, int eosId, Action<CodedOutputStream> pieces)
    {
        using var output = new MemoryStream();
        var o = new CodedOutputStream(output);
        pieces(o);
        Message(o, 2, m =>
        {
            m.WriteTag(3, WireFormat.WireType.Varint); m.WriteEnum(1);        // model_type: UNIGRAM
            m.WriteTag(40, WireFormat.WireType.Varint); m.WriteInt32(unkId);  // unk_id
            m.WriteTag(41, WireFormat.WireType.Varint); m.WriteInt32(bosId);  // bos_id
            m.WriteTag(42, WireFormat.WireType.Varint); m.WriteInt32(eosId);  // eos_id
            m.WriteTag(43, WireFormat.WireType.Varint); m.WriteInt32(padId);  // pad_id
        });
        Message(o, 3, m =>
        {
            m.WriteTag(1, WireFormat.WireType.LengthDelimited); m.WriteString("nmt_nfkc");
            m.WriteTag(2, WireFormat.WireType.LengthDelimited); m.WriteBytes(ByteString.CopyFrom(charsmap));
            m.WriteTag(3, WireFormat.WireType.Varint); m.WriteBool(true); // add_dummy_prefix (the Metaspace pre-tokenizer's prefix)
            m.WriteTag(4, WireFormat.WireType.Varint); m.WriteBool(true); // remove_extra_whitespaces (the " {2,}" → " " rule)
            m.WriteTag(5, WireFormat.WireType.Varint); m.WriteBool(true); // escape_whitespaces (▁)
        });
        o.Flush();
        return output.ToArray();
    }

    // A normalizer, or each of a Sequence's.
    private static IEnumerable<JsonElement> Normalizers(JsonElement normalizer)
    {
        if (normalizer.ValueKind != JsonValueKind.Object || !normalizer.TryGetProperty("type", out var type)) yield break;
        if (type.GetString() == "Sequence" && normalizer.TryGetProperty("normalizers", out var list) && list.ValueKind == JsonValueKind.Array)
        {
            foreach (var inner in list.EnumerateArray())
                foreach (var n in Normalizers(inner)) yield return n;
        }
        else yield return normalizer;
    }

    // The base64 precompiled_charsmap of a Precompiled normalizer.
    private static byte[]? PrecompiledCharsmap(JsonElement normalizer) =>
        normalizer.TryGetProperty("type", out var type) && type.GetString() == "Precompiled" && normalizer.TryGetProperty("precompiled_charsmap", out var map) && map.ValueKind == JsonValueKind.String
            ? Convert.FromBase64String(map.GetString()!) : null;

    // SentencePiece.pieces (field 1): piece (1), score (2), type (3: 1 normal, 2 unknown, 3 control).
    private static void WritePiece(CodedOutputStream o, string piece, float score, int type) => Message(o, 1, m =>
    {
        m.WriteTag(1, WireFormat.WireType.LengthDelimited); m.WriteString(piece);
        m.WriteTag(2, WireFormat.WireType.Fixed32); m.WriteFloat(score);
        m.WriteTag(3, WireFormat.WireType.Varint); m.WriteEnum(type);
    });

    private static void Message(CodedOutputStream o, int field, Action<CodedOutputStream> write)
    {
        using var inner = new MemoryStream();
        var m = new CodedOutputStream(inner);
        write(m);
        m.Flush();
        o.WriteTag(field, WireFormat.WireType.LengthDelimited);
        o.WriteBytes(ByteString.CopyFrom(inner.ToArray()));
    }
}
