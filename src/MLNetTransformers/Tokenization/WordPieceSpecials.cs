namespace MLNetTransformers.Tokenization;

/// <summary>
/// The special tokens of a WordPiece vocabulary and how it joins a pair: BERT's <c>[CLS] a [SEP] b [SEP]</c> with token
/// types 0 and 1, or MPNet's <c>&lt;s&gt; a &lt;/s&gt;&lt;/s&gt; b &lt;/s&gt;</c> (its vocab.txt holds BERT's tokens and
/// its own specials; the unknown token stays <c>[UNK]</c>). A byte-level BPE whose tokenizer.json names other specials
/// than RoBERTa's (ModernBERT's [CLS] and [SEP], its post-processor's template) keeps them here too.
/// </summary>
/// <param name="Cls">First token of every sequence.</param>
/// <param name="Sep">Token after each text.</param>
/// <param name="Pad">Padding.</param>
/// <param name="Mask">Mask token (masked-LM pretraining, fill-mask).</param>
/// <param name="Unk">Unknown word.</param>
/// <param name="DoubleSeparatorPairs">Pairs as <c>cls a sep sep b sep</c>, token types all 0 (MPNet's, RoBERTa's form).</param>
public sealed record WordPieceSpecials(string Cls, string Sep, string Pad, string Mask, string Unk, bool DoubleSeparatorPairs)
{
    /// <summary>BERT's: [CLS] [SEP] [PAD] [MASK] [UNK].</summary>
    public static WordPieceSpecials Bert { get; } = new("[CLS]", "[SEP]", "[PAD]", "[MASK]", "[UNK]", false);

    /// <summary>MPNet's (MPNetTokenizer): &lt;s&gt; &lt;/s&gt; &lt;pad&gt; &lt;mask&gt; [UNK], pairs with two separators between.</summary>
    public static WordPieceSpecials MPNet { get; } = new("<s>", "</s>", "<pad>", "<mask>", "[UNK]", true);

    internal IEnumerable<string> Tokens => [Cls, Sep, Pad, Unk, Mask];
}
