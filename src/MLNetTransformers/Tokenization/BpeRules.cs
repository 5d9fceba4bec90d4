namespace MLNetTransformers.Tokenization;

/// <summary>
/// How a BPE that is not byte-level (a tokenizer.json's BPE model over characters, as Hugging Face's tokenizers trains one)
/// splits and spells its words.
/// </summary>
/// <param name="PreTokenizer">Hugging Face's name of the pre-tokenizer: <c>Whitespace</c>, <c>WhitespaceSplit</c> or <c>BertPreTokenizer</c>.</param>
/// <param name="UnknownToken">The token of a character outside the vocabulary; null = such characters are dropped.</param>
/// <param name="ContinuingSubwordPrefix">Spelled before every piece that continues a word (<c>##</c>); null = none.</param>
/// <param name="EndOfWordSuffix">Spelled after the last piece of a word (<c>&lt;/w&gt;</c>); null = none.</param>
/// <param name="FuseUnknown">Whether a run of unknown characters is one unknown token.</param>
internal sealed record BpeRules(string PreTokenizer, string? UnknownToken, string? ContinuingSubwordPrefix, string? EndOfWordSuffix, bool FuseUnknown)
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
