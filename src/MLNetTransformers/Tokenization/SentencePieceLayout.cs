using Google.Protobuf;

namespace MLNetTransformers.Tokenization;

/// <summary>How a SentencePiece tokenizer numbers its ids and names its special tokens.</summary>
internal enum SentencePieceLayout
{
    /// <summary>XLM-RoBERTa's: fairseq's numbering (&lt;s&gt; 0, &lt;pad&gt; 1, &lt;/s&gt; 2, &lt;unk&gt; 3, piece p as p + 1, &lt;mask&gt; last).</summary>
    Fairseq,
    /// <summary>ALBERT's: the model's own ids, specials its pieces &lt;pad&gt; &lt;unk&gt; [CLS] [SEP] [MASK]; AlbertTokenizerFast's text rules.</summary>
    Albert,
    /// <summary>DeBERTa-v2/v3's: the model's own ids, specials its pieces [PAD] [CLS] [SEP] [UNK], [MASK] after them unless a piece.</summary>
    DebertaV2,
    /// <summary>
    /// CamemBERT's: fairseq's numbering with four ids ahead of the pieces (&lt;s&gt;NOTUSED 0, &lt;pad&gt; 1, &lt;/s&gt;NOTUSED 2,
    /// &lt;unk&gt; 3), piece p as p + 4 (its own &lt;unk&gt; as 3), its &lt;s&gt; and &lt;/s&gt; pieces (5 and 6) the specials, &lt;mask&gt; last.
    /// </summary>
    Camembert,
}

/// <summary>
/// A SentencePiece model that numbers its own special pieces (<see cref="SentencePieceLayout.Albert"/>,
/// <see cref="SentencePieceLayout.DebertaV2"/>): its pieces in id order, and the model as Microsoft.ML.Tokenizers reads it.
/// That reader needs a bos and an eos piece, which ALBERT's models (trained without &lt;s&gt; and &lt;/s&gt;) lack, so the
/// model it reads names [CLS] and [SEP] as them, as transformers' tokenizers do (their bos and eos tokens): a second
/// trainer spec is appended (protobuf merges repeated messages field by field); the file itself is kept unchanged.
/// </summary>
internal static class SentencePieceSpecials
{
    /// <summary>The specials' pieces (cls, sep, pad, unk, mask) of a layout.</summary>
    public static (string Cls, string Sep, string Pad, string Unk, string Mask) Of(SentencePieceLayout layout) => layout switch
    {
        SentencePieceLayout.Albert => ("[CLS]", "[SEP]", "<pad>", "<unk>", "[MASK]"),
        SentencePieceLayout.DebertaV2 => ("[CLS]", "[SEP]", "[PAD]", "[UNK]", "[MASK]"),
        _ => throw new ArgumentOutOfRangeException(nameof(layout), layout, "Fairseq's numbering has no specials among the pieces."),
    };

    /// <summary>ALBERT's specials, every one a piece of its model.</summary>
    public static readonly string[] Albert = ["[CLS]", "[SEP]", "<pad>", "<unk>", "[MASK]"];

    /// <summary>
    /// The model's pieces in id order and the bytes Microsoft.ML.Tokenizers reads (bos and eos set to the layout's cls and
    /// sep); throws naming a special the layout needs among the pieces and the model lacks.
    /// </summary>
    /// <param name="model">The model file's bytes.</param>
    /// <param name="layout">Its layout.</param>
    public static (List<string> Pieces, byte[] ForTokenizers) Read(byte[] model, SentencePieceLayout layout)
    {
        var pieces = Pieces(model);
        var (cls, sep, pad, unk, mask) = Of(layout);
        string family = layout == SentencePieceLayout.Albert ? "ALBERT's" : "DeBERTa-v2's";
        int Id(string special) => pieces.IndexOf(special) is int i and >= 0 ? i
            : throw new InvalidDataException($"The SentencePiece model has no piece {special}; {family} models hold {string.Join(", ", layout == SentencePieceLayout.Albert ? [cls, sep, pad, unk, mask] : new[] { pad, cls, sep, unk })}.");
        foreach (var special in layout == SentencePieceLayout.Albert ? [cls, sep, pad, unk, mask] : new[] { cls, sep, pad, unk }) Id(special);

        using var output = new MemoryStream();
        output.Write(model);
        var o = new CodedOutputStream(output);
        using var spec = new MemoryStream();
        var m = new CodedOutputStream(spec);
        m.WriteTag(41, WireFormat.WireType.Varint); m.WriteInt32(Id(cls));          // bos_id
        m.WriteTag(42, WireFormat.WireType.Varint); m.WriteInt32(Id(sep));          // eos_id
        m.WriteTag(46, WireFormat.WireType.LengthDelimited); m.WriteString(cls);    // bos_piece
        m.WriteTag(47, WireFormat.WireType.LengthDelimited); m.WriteString(sep);    // eos_piece
        m.Flush();
        o.WriteTag(2, WireFormat.WireType.LengthDelimited);                         // ModelProto.trainer_spec
        o.WriteBytes(ByteString.CopyFrom(spec.ToArray()));
        o.Flush();
        return (pieces, output.ToArray());
    }

    /// <summary>
    /// The layout a model's own pieces say: DeBERTa's when it starts [PAD] [CLS] [SEP] [UNK], ALBERT's when it holds
    /// &lt;pad&gt; &lt;unk&gt; [CLS] [SEP] [MASK], else fairseq's (XLM-RoBERTa's, whose specials are not pieces).
    /// </summary>
    /// <param name="model">The model file's bytes.</param>
    public static SentencePieceLayout Detect(byte[] model)
    {
        var pieces = Pieces(model);
        if (pieces.Count >= 4 && pieces.Take(4).SequenceEqual(["[PAD]", "[CLS]", "[SEP]", "[UNK]"])) return SentencePieceLayout.DebertaV2;
        return Albert.All(pieces.Contains) ? SentencePieceLayout.Albert : SentencePieceLayout.Fairseq;
    }

    // ModelProto.pieces (field 1), each SentencePiece's piece (its field 1), in id order.
    private static List<string> Pieces(byte[] model)
    {
        var pieces = new List<string>();
        var input = new CodedInputStream(model);
        try
        {
            uint tag;
            while ((tag = input.ReadTag()) != 0)
            {
                if (WireFormat.GetTagFieldNumber(tag) != 1 || WireFormat.GetTagWireType(tag) != WireFormat.WireType.LengthDelimited) { input.SkipLastField(); continue; }
                var piece = new CodedInputStream(input.ReadBytes().ToByteArray());
                string text = "";
                uint inner;
                while ((inner = piece.ReadTag()) != 0)
                {
                    if (WireFormat.GetTagFieldNumber(inner) == 1 && WireFormat.GetTagWireType(inner) == WireFormat.WireType.LengthDelimited) text = piece.ReadString();
                    else piece.SkipLastField();
                }
                pieces.Add(text);
            }
        }
        catch (InvalidProtocolBufferException e) { throw new InvalidDataException($"The SentencePiece model is not a valid ModelProto: {e.Message}", e); }
        return pieces;
    }
}
