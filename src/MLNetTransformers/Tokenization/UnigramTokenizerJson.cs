using System.Text.Json;
using Google.Protobuf;

namespace MLNetTransformers.Tokenization;

/// <summary>
/// XLM-RoBERTa's fast tokenizer file (<c>tokenizer.json</c> with a Unigram model, as Hugging Face's converter writes it
/// from <c>sentencepiece.bpe.model</c>) turned back into the SentencePiece model it came from, for folders that ship only
/// the JSON: its vocabulary is fairseq's numbering (<c>&lt;s&gt; &lt;pad&gt; &lt;/s&gt; &lt;unk&gt;</c>, the pieces from
/// the model's fourth on with their scores, <c>&lt;mask&gt;</c> last), its normalizer the model's precompiled character
/// map. The model is written as SentencePiece's <c>ModelProto</c> (pieces, a unigram trainer spec, the normalizer spec).
/// Other Unigram layouts (ALBERT's, T5's) number their pieces otherwise and are refused by name.
/// </summary>
internal static class UnigramTokenizerJson
{
    private static readonly string[] FairseqSpecials = ["<s>", "<pad>", "</s>", "<unk>"];

    /// <summary>The SentencePiece model of a tokenizer.json root whose model is XLM-RoBERTa's Unigram; <paramref name="source"/> names the file.</summary>
    public static byte[] ToSentencePieceModel(JsonElement root, string source)
    {
        var model = root.GetProperty("model");
        var vocab = model.GetProperty("vocab").EnumerateArray().Select(e =>
        {
            if (e.ValueKind != JsonValueKind.Array || e.GetArrayLength() != 2 || e[0].ValueKind != JsonValueKind.String || e[1].ValueKind != JsonValueKind.Number)
                throw new InvalidDataException($"{source}: a Unigram vocabulary entry is {e}, not [piece, score].");
            return (Piece: e[0].GetString()!, Score: (float)e[1].GetDouble());
        }).ToList();
        int unk = model.TryGetProperty("unk_id", out var u) && u.ValueKind == JsonValueKind.Number ? u.GetInt32() : -1;
        if (vocab.Count < 6 || !vocab.Take(4).Select(v => v.Piece).SequenceEqual(FairseqSpecials) || vocab[^1].Piece != "<mask>" || unk != 3)
            throw new NotSupportedException($"{source} holds a Unigram tokenizer that is not numbered as XLM-RoBERTa's (<s> <pad> </s> <unk> first, <mask> last, unk_id 3); give its SentencePiece model file instead.");
        if (model.TryGetProperty("byte_fallback", out var fallback) && fallback.ValueKind == JsonValueKind.True)
            throw new NotSupportedException($"{source}: a Unigram tokenizer with byte fallback is not read.");
        var charsmap = PrecompiledCharsmap(root.TryGetProperty("normalizer", out var n) ? n : default)
            ?? throw new NotSupportedException($"{source}: its normalizer has no precompiled character map (SentencePiece's normalization), which XLM-RoBERTa's tokenizer.json holds.");

        using var output = new MemoryStream();
        var o = new CodedOutputStream(output);
        // SentencePiece's own numbering: <unk> 0, <s> 1, </s> 2, then the pieces (fairseq's id − 1).
        WritePiece(o, "<unk>", 0f, type: 2);
        WritePiece(o, "<s>", 0f, type: 3);
        WritePiece(o, "</s>", 0f, type: 3);
        for (int i = 4; i < vocab.Count - 1; i++) WritePiece(o, vocab[i].Piece, vocab[i].Score, type: 1);
        Message(o, 2, m =>
        {
            m.WriteTag(3, WireFormat.WireType.Varint); m.WriteEnum(1);    // model_type: UNIGRAM
            m.WriteTag(40, WireFormat.WireType.Varint); m.WriteInt32(0);  // unk_id
            m.WriteTag(41, WireFormat.WireType.Varint); m.WriteInt32(1);  // bos_id
            m.WriteTag(42, WireFormat.WireType.Varint); m.WriteInt32(2);  // eos_id
            m.WriteTag(43, WireFormat.WireType.Varint); m.WriteInt32(-1); // pad_id
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

    // The base64 precompiled_charsmap of a Precompiled normalizer, alone or inside a Sequence.
    private static byte[]? PrecompiledCharsmap(JsonElement normalizer)
    {
        if (normalizer.ValueKind != JsonValueKind.Object || !normalizer.TryGetProperty("type", out var type)) return null;
        if (type.GetString() == "Precompiled" && normalizer.TryGetProperty("precompiled_charsmap", out var map) && map.ValueKind == JsonValueKind.String)
            return Convert.FromBase64String(map.GetString()!);
        if (type.GetString() == "Sequence" && normalizer.TryGetProperty("normalizers", out var list) && list.ValueKind == JsonValueKind.Array)
            return list.EnumerateArray().Select(PrecompiledCharsmap).FirstOrDefault(m => m is not null);
        return null;
    }

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
