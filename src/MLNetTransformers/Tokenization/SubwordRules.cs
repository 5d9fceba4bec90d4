namespace MLNetTransformers.Tokenization;

/// <summary>
/// How a tokenizer.json's subword model that is not BERT's or byte-level (a BPE over characters, or a WordPiece, as Hugging
/// Face's tokenizers trains them) splits text into words and spells its pieces.
/// </summary>
/// <param name="PreTokenizer">Hugging Face's name of the pre-tokenizer: <c>Whitespace</c>, <c>WhitespaceSplit</c> or <c>BertPreTokenizer</c>.</param>
/// <param name="UnknownToken">BPE: the token of a character outside the vocabulary; null = such characters are dropped (a WordPiece's is its specials').</param>
/// <param name="ContinuingSubwordPrefix">Spelled before every piece that continues a word (<c>##</c>); null = none.</param>
/// <param name="EndOfWordSuffix">BPE: spelled after the last piece of a word (<c>&lt;/w&gt;</c>); null = none.</param>
/// <param name="FuseUnknown">BPE: whether a run of unknown characters is one unknown token.</param>
internal sealed record SubwordRules(string PreTokenizer, string? UnknownToken, string? ContinuingSubwordPrefix, string? EndOfWordSuffix = null, bool FuseUnknown = false)
{
    /// <summary>The pre-tokenizers read.</summary>
    public static readonly string[] PreTokenizers = ["Whitespace", "WhitespaceSplit", "BertPreTokenizer"];

    /// <summary>The Microsoft.ML.Tokenizers pre-tokenizer of <see cref="PreTokenizer"/>.</summary>
    public Microsoft.ML.Tokenizers.PreTokenizer Create() => PreTokenizer switch
    {
        "Whitespace" => new WhitespacePreTokenizer(splitSymbols: true),
        "WhitespaceSplit" => new WhitespacePreTokenizer(splitSymbols: false),
        "BertPreTokenizer" => new BertPreTokenizer(),
        _ => throw new InvalidDataException($"Unknown pre-tokenizer '{PreTokenizer}' in the tokenizer description; known: {string.Join(", ", PreTokenizers)}."),
    };
}
