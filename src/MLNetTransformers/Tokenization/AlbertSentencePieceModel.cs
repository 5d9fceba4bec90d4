using Google.Protobuf;

namespace MLNetTransformers.Tokenization;

/// <summary>
/// ALBERT's <c>spiece.model</c>: a SentencePiece model whose specials are pieces of its own (<c>&lt;pad&gt;</c> 0,
/// <c>&lt;unk&gt;</c> 1, <c>[CLS]</c> 2, <c>[SEP]</c> 3, <c>[MASK]</c> 4 in the released models), trained without
/// <c>&lt;s&gt;</c> and <c>&lt;/s&gt;</c> (bos_id and eos_id −1). Microsoft.ML.Tokenizers needs both ids, so the model it
/// reads names <c>[CLS]</c> and <c>[SEP]</c> as them (as transformers' AlbertTokenizer does: its bos and eos tokens); the
/// file itself is kept unchanged.
/// </summary>
internal static class AlbertSentencePieceModel
{
    /// <summary>The specials ALBERT's sequences and masked LM use.</summary>
    public static readonly string[] Specials = ["[CLS]", "[SEP]", "<pad>", "<unk>", "[MASK]"];

    /// <summary>
    /// The model's pieces in id order, and the bytes Microsoft.ML.Tokenizers reads: the file with a second trainer spec
    /// appended (protobuf merges repeated messages field by field) that sets bos and eos to [CLS] and [SEP].
    /// </summary>
    /// <param name="model">The spiece.model bytes.</param>
    public static (List<string> Pieces, byte[] ForTokenizers) Read(byte[] model)
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
        int Id(string special) => pieces.IndexOf(special) is int i and >= 0 ? i
            : throw new InvalidDataException($"The SentencePiece model has no piece {special}; ALBERT's models hold {string.Join(", ", Specials)}.");
        foreach (var special in Specials) Id(special);

        using var output = new MemoryStream();
        output.Write(model);
        var o = new CodedOutputStream(output);
        using var spec = new MemoryStream();
        var m = new CodedOutputStream(spec);
        m.WriteTag(41, WireFormat.WireType.Varint); m.WriteInt32(Id("[CLS]"));          // bos_id
        m.WriteTag(42, WireFormat.WireType.Varint); m.WriteInt32(Id("[SEP]"));          // eos_id
        m.WriteTag(46, WireFormat.WireType.LengthDelimited); m.WriteString("[CLS]");    // bos_piece
        m.WriteTag(47, WireFormat.WireType.LengthDelimited); m.WriteString("[SEP]");    // eos_piece
        m.Flush();
        o.WriteTag(2, WireFormat.WireType.LengthDelimited);                             // ModelProto.trainer_spec
        o.WriteBytes(ByteString.CopyFrom(spec.ToArray()));
        o.Flush();
        return (pieces, output.ToArray());
    }
}
