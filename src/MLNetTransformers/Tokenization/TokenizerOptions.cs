namespace MLNetTransformers.Tokenization;

/// <summary>Options of <see cref="TokenizerEstimator"/> and of the tokenizer inside the transformer trainers.</summary>
public sealed class TokenizerOptions
{
    /// <summary>Algorithm and vocabulary source.</summary>
    public TokenizerKind Kind { get; set; } = TokenizerKind.Learned;
    /// <summary>Largest <see cref="MaxTokens"/> accepted (a model file claiming more is refused before anything is allocated).</summary>
    public const int MaxTokensLimit = 1 << 16;
    /// <summary>Length of the id and mask vectors, [CLS] and [SEP] included.</summary>
    public int MaxTokens { get; set; } = 128;
    /// <summary>Learned vocabularies: target size, special tokens included.</summary>
    public int VocabularySize { get; set; } = 8000;
    /// <summary>Learned vocabularies: pairs rarer than this are not merged.</summary>
    public int MinFrequency { get; set; } = 2;
    /// <summary>WordPiece (learned or from file): lower-case and strip accents first.</summary>
    public bool LowerCase { get; set; } = true;
    /// <summary>
    /// <see cref="TokenizerKind.WordPiece"/>: vocab.txt; <see cref="TokenizerKind.Bpe"/> and <see cref="TokenizerKind.ByteLevelBpe"/>: vocab.json;
    /// <see cref="TokenizerKind.SentencePiece"/>: the .model file (XLM-RoBERTa's, ALBERT's or DeBERTa's, told apart by its pieces).
    /// For any of these a Hugging Face <c>tokenizer.json</c> may be given instead (no <see cref="MergesFile"/>), read as its
    /// model says (a Unigram one as <see cref="TokenizerKind.SentencePiece"/>), which must be <see cref="Kind"/>.
    /// </summary>
    public string? VocabularyFile { get; set; }
    /// <summary><see cref="TokenizerKind.Bpe"/> and <see cref="TokenizerKind.ByteLevelBpe"/>: merges.txt.</summary>
    public string? MergesFile { get; set; }
    /// <summary><see cref="TokenizerKind.Tiktoken"/>: <c>cl100k_base</c> or <c>o200k_base</c>.</summary>
    public string TiktokenEncoding { get; set; } = "cl100k_base";

    /// <summary>A copy with another <see cref="MaxTokens"/>.</summary>
    internal TokenizerOptions With(int maxTokens) => new()
    {
        Kind = Kind, MaxTokens = maxTokens, VocabularySize = VocabularySize, MinFrequency = MinFrequency, LowerCase = LowerCase,
        VocabularyFile = VocabularyFile, MergesFile = MergesFile, TiktokenEncoding = TiktokenEncoding,
    };

    /// <summary>Builds the tokenizer; for <see cref="TokenizerKind.Learned"/> the vocabulary is learned from <paramref name="texts"/>.</summary>
    internal TextTokenizer Build(Func<IEnumerable<string?>> texts) => Kind switch
    {
        TokenizerKind.WordPiece or TokenizerKind.Bpe or TokenizerKind.ByteLevelBpe or TokenizerKind.SentencePiece when VocabularyFile is { } file && TokenizerJson.Is(file) => FromTokenizerJson(file),
        TokenizerKind.Learned => TextTokenizer.Learn(texts(), MaxTokens, VocabularySize, MinFrequency, LowerCase),
        TokenizerKind.WordPiece => TextTokenizer.FromWordPieceVocabulary(VocabularyFile ?? throw new ArgumentException("WordPiece tokenization needs VocabularyFile (a vocab.txt)."), MaxTokens, LowerCase),
        TokenizerKind.Bpe => TextTokenizer.FromBpeFiles(
            VocabularyFile ?? throw new ArgumentException("BPE tokenization needs VocabularyFile (vocab.json)."),
            MergesFile ?? throw new ArgumentException("BPE tokenization needs MergesFile (merges.txt)."), MaxTokens),
        TokenizerKind.ByteLevelBpe => TextTokenizer.FromByteLevelBpeFiles(
            VocabularyFile ?? throw new ArgumentException("Byte-level BPE tokenization needs VocabularyFile (a vocab.json)."),
            MergesFile ?? throw new ArgumentException("Byte-level BPE tokenization needs MergesFile (a merges.txt)."), MaxTokens),
        TokenizerKind.Tiktoken => TextTokenizer.FromTiktoken(TiktokenEncoding, MaxTokens),
        // A SentencePiece model keeps its family's own text rules (LowerCase is not used): XLM-RoBERTa's, ALBERT's or DeBERTa's, told by its pieces.
        TokenizerKind.SentencePiece => TextTokenizer.FromSentencePieceModelOfAnyLayout(
            VocabularyFile ?? throw new ArgumentException("SentencePiece tokenization needs VocabularyFile (a SentencePiece .model file)."), MaxTokens),
        TokenizerKind.Character => TextTokenizer.LearnCharacters(texts(), MaxTokens),
        TokenizerKind.Esm => TextTokenizer.FromEsmVocabulary(VocabularyFile ?? throw new ArgumentException("ESM tokenization needs VocabularyFile (its vocab.txt)."), MaxTokens),
        _ => throw new InvalidOperationException($"Unknown tokenizer kind {Kind}."),
    };

    // A tokenizer.json given for Kind: read as its model says, which must be Kind.
    private TextTokenizer FromTokenizerJson(string file)
    {
        var tokenizer = TextTokenizer.FromTokenizerJson(file, MaxTokens);
        return tokenizer.Kind == Kind ? tokenizer
            : throw new ArgumentException($"'{file}' holds a {tokenizer.Kind} tokenizer, but the tokenizer kind is {Kind}; set it to {tokenizer.Kind}.");
    }

    /// <summary>Throws naming the first invalid setting.</summary>
    internal void Validate()
    {
        if (MaxTokens is < 3 or > MaxTokensLimit)
            throw new ArgumentOutOfRangeException(nameof(MaxTokens), MaxTokens, $"MaxTokens must be between 3 ([CLS], one token, [SEP]) and {MaxTokensLimit:N0}.");
        if (Kind == TokenizerKind.Learned && VocabularySize <= WordPieceVocabularyLearner.SpecialTokens.Length)
            throw new ArgumentOutOfRangeException(nameof(VocabularySize), VocabularySize, "A learned vocabulary needs more entries than its 5 special tokens.");
        if (MinFrequency < 1) throw new ArgumentOutOfRangeException(nameof(MinFrequency), MinFrequency, "MinFrequency must be at least 1.");
    }
}
