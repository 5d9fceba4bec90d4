using System.Text;
using System.Text.Json;
using Microsoft.ML.Tokenizers;

namespace MLNetTransformers.Tokenization;

/// <summary>
/// Turns text into the fixed-size model input of a transformer: token ids and an attention mask of
/// <see cref="MaxTokens"/> entries, <c>[CLS] tokens… [SEP] [PAD]…</c>, truncated to fit. Encoding is done by
/// Microsoft.ML.Tokenizers (BERT WordPiece, BPE, Tiktoken). Special tokens are the vocabulary's own: BPE and
/// Tiktoken vocabularies are searched by role (see <see cref="SpecialRoles"/>), so GPT-2's and tiktoken's
/// <c>&lt;|endoftext|&gt;</c> starts and ends every sequence and pads it, and a vocabulary without a mask token has none
/// (<see cref="MaskId"/> is -1).
/// Null, empty or whitespace text encodes as <c>[CLS] [SEP]</c>; invalid UTF-16 (lone surrogates) is replaced by
/// U+FFFD before encoding. Thread-safe: the underlying tokenizers are immutable.
/// </summary>
public sealed class TextTokenizer
{
    private readonly Tokenizer? _tokenizer;
    private readonly Dictionary<char, int>? _chars;
    private readonly Dictionary<string, int>? _wholeTokens; // ESM's vocabulary, matched whole
    private readonly string[]? _tokenTexts;                 // ESM's tokens by id
    private readonly int _longestToken;
    private readonly string? _alphabet;
    private readonly State _state;
    private readonly Dictionary<int, string>? _specialNames; // the vocabulary's own spelling of the special ids it supplied
    private readonly string? _source; // the file a SentencePiece model came from, for errors (not saved)

    // Checked where a caller passes it, so that the error names the caller's parameter (the constructor checks again for
    // a state read back from a saved model).
    private static int Checked(int maxTokens) => maxTokens is < 2 or > TokenizerOptions.MaxTokensLimit
        ? throw new ArgumentOutOfRangeException(nameof(maxTokens), maxTokens, $"MaxTokens must be between 2 and {TokenizerOptions.MaxTokensLimit:N0}.")
        : maxTokens;

    private TextTokenizer(State state, string? source = null)
    {
        _source = source;
        if (state.MaxTokens is < 2 or > TokenizerOptions.MaxTokensLimit)
            throw new ArgumentOutOfRangeException(nameof(state), state.MaxTokens, $"MaxTokens must be between 2 and {TokenizerOptions.MaxTokensLimit:N0}.");
        _state = state;
        switch (state.Kind)
        {
            case TokenizerKind.Learned:
            case TokenizerKind.WordPiece:
                // Vocabularies made elsewhere are read with Hugging Face's basic tokenization exactly (BertNormalizer,
                // BertPreTokenizer); learned ones, and files saved before that, keep Microsoft.ML.Tokenizers' own.
                // A tokenizer.json's own pipeline (its normalizers, applied before encoding, and pre-tokenizer) when it has one.
                var options = state.Rules is { } wordRules
                    ? new BertOptions { ApplyBasicTokenization = false, LowerCaseBeforeTokenization = false, RemoveNonSpacingMarks = false, PreTokenizer = wordRules.Create() }
                    : state.HuggingFaceRules
                    ? new BertOptions { ApplyBasicTokenization = false, Normalizer = new BertNormalizer(state.LowerCase), PreTokenizer = new BertPreTokenizer() }
                    : new BertOptions { LowerCaseBeforeTokenization = state.LowerCase, RemoveNonSpacingMarks = state.LowerCase };
                if (state.Specials is { } own)
                    (options.ClassificationToken, options.SeparatorToken, options.PaddingToken, options.MaskingToken, options.UnknownToken) = (own.Cls, own.Sep, own.Pad, own.Mask, own.Unk);
                var bert = BertTokenizer.Create(new MemoryStream(Encoding.UTF8.GetBytes(state.Vocabulary!)), options);
                _tokenizer = bert;
                (ClsId, SepId, PadId, MaskId, UnkId) = (bert.ClassificationTokenId, bert.SeparatorTokenId, bert.PaddingTokenId, bert.MaskingTokenId, bert.UnknownTokenId);
                BaseVocabularySize = state.Vocabulary!.Split('\n', StringSplitOptions.RemoveEmptyEntries).Length;
                VocabularySize = BaseVocabularySize;
                break;
            case TokenizerKind.ByteLevelBpe:
            case TokenizerKind.Bpe when state.Rules is not null:
                Dictionary<string, int> vocab;
                try { vocab = JsonSerializer.Deserialize<Dictionary<string, int>>(state.Vocabulary!) ?? throw new InvalidDataException("The BPE vocabulary is empty."); }
                catch (JsonException e) { throw new InvalidDataException($"The BPE vocabulary is not a JSON map of tokens to ids: {e.Message}", e); }
                // RoBERTa's specials, or those a tokenizer.json's post-processor names (ModernBERT's [CLS] and [SEP]).
                var names = state.Specials ?? RobertaSpecials;
                var rules = state.Rules;
                _tokenizer = BpeTokenizer.Create(new BpeOptions(vocab)
                {
                    Merges = state.Merges!.Split('\n').Select(l => l.TrimEnd('\r')).Where(l => l.Length > 0 && !l.StartsWith("#version", StringComparison.Ordinal)),
                    ByteLevel = rules is null, UnknownToken = rules is null ? names.Unk : rules.UnknownToken,
                    PreTokenizer = rules is null ? new Gpt2PreTokenizer() : rules.Create(),
                    ContinuingSubwordPrefix = rules?.ContinuingSubwordPrefix, EndOfWordSuffix = rules?.EndOfWordSuffix, FuseUnknownTokens = rules?.FuseUnknown ?? false,
                });
                int Special(string token) => vocab.TryGetValue(token, out int id) ? id
                    : throw new InvalidDataException(state.Specials is null ? $"The BPE vocabulary has no {token}; RoBERTa vocabularies hold <s>, </s>, <pad>, <unk> and <mask>."
                        : $"The BPE vocabulary has no {token}, which its tokenizer names as a special token.");
                (ClsId, SepId, PadId, MaskId, UnkId) = (Special(names.Cls), Special(names.Sep), Special(names.Pad), Special(names.Mask), Special(names.Unk));
                BaseVocabularySize = VocabularySize = vocab.Values.Max() + 1;
                break;
            case TokenizerKind.Bpe:
                var bpe = BpeTokenizer.Create(new MemoryStream(Encoding.UTF8.GetBytes(state.Vocabulary!)), new MemoryStream(Encoding.UTF8.GetBytes(state.Merges!)));
                _tokenizer = bpe;
                BaseVocabularySize = bpe.Vocabulary.Values.Max() + 1;
                (ClsId, SepId, PadId, MaskId, VocabularySize) = state.SpecialsFromVocabulary
                    ? SpecialRoles.From(bpe.Vocabulary, BaseVocabularySize, out _specialNames) : SpecialRoles.Appended(BaseVocabularySize);
                break;
            case TokenizerKind.Character:
                _alphabet = state.Vocabulary!;
                _chars = new Dictionary<char, int>();
                for (int i = 0; i < _alphabet.Length; i++) _chars[_alphabet[i]] = Specials + i;
                (PadId, UnkId, ClsId, SepId, MaskId) = (0, 1, 2, 3, 4);
                BaseVocabularySize = VocabularySize = Specials + _alphabet.Length;
                break;
            case TokenizerKind.Esm:
                _tokenTexts = state.Vocabulary!.Split('\n').Select(l => l.TrimEnd('\r')).ToArray();
                if (_tokenTexts.Length > 0 && _tokenTexts[^1].Length == 0) _tokenTexts = _tokenTexts[..^1];
                var whole = _wholeTokens = new Dictionary<string, int>(StringComparer.Ordinal);
                for (int i = 0; i < _tokenTexts.Length; i++)
                {
                    // EsmTokenizer keeps the last id of a repeated token; an empty line or one with spaces would never match.
                    if (_tokenTexts[i].Length == 0 || _tokenTexts[i].Any(char.IsWhiteSpace))
                        throw new InvalidDataException($"The ESM vocabulary's line {i + 1} is {(_tokenTexts[i].Length == 0 ? "empty" : $"'{_tokenTexts[i]}', which holds whitespace")}; every line is one token.");
                    _wholeTokens[_tokenTexts[i]] = i;
                    _longestToken = Math.Max(_longestToken, _tokenTexts[i].Length);
                }
                int Esm(string token) => whole.TryGetValue(token, out int id) ? id
                    : throw new InvalidDataException($"The ESM vocabulary has no {token}; ESM's holds <cls>, <eos>, <pad>, <unk> and <mask>.");
                (ClsId, SepId, PadId, MaskId, UnkId) = (Esm("<cls>"), Esm("<eos>"), Esm("<pad>"), Esm("<mask>"), Esm("<unk>"));
                BaseVocabularySize = VocabularySize = _tokenTexts.Length;
                break;
            case TokenizerKind.Tiktoken:
                var tk = TiktokenTokenizer.CreateForEncoding(state.Encoding!);
                _tokenizer = tk;
                int maxSpecial = tk.SpecialTokens?.Values.DefaultIfEmpty(0).Max() ?? 0;
                BaseVocabularySize = Math.Max(maxSpecial + 1, state.Encoding == "o200k_base" ? 200019 : 100277);
                (ClsId, SepId, PadId, MaskId, VocabularySize) = state.SpecialsFromVocabulary
                    ? SpecialRoles.From(tk.SpecialTokens ?? new Dictionary<string, int>(), BaseVocabularySize, out _specialNames) : SpecialRoles.Appended(BaseVocabularySize);
                break;
            case TokenizerKind.SentencePiece:
                SentencePieceTokenizer sp;
                List<string>? pieces = null;
                try
                {
                    var model = Convert.FromBase64String(state.Vocabulary!);
                    if (state.Layout is not (SentencePieceLayout.Fairseq or SentencePieceLayout.Camembert)) (pieces, model) = SentencePieceSpecials.Read(model, state.Layout);
                    sp = SentencePieceTokenizer.Create(new MemoryStream(model), addBeginningOfSentence: false, addEndOfSentence: false);
                    // A damaged model can parse and fail only when it encodes (an index past its tables): try it once on
                    // every kind of text here, so that it fails now, named, rather than in the middle of scoring.
                    sp.Decode(sp.EncodeToIds("Hello, World! 12.5% — “é” naïve Straße Фильм 東京の映画 😀 \t x"));
                }
                catch (Exception e) when (e is not OutOfMemoryException)
                {
                    throw new InvalidDataException($"The SentencePiece model could not be read: {e.Message}", e);
                }
                _tokenizer = sp;
                if (pieces is not null)
                {
                    // ALBERT's and DeBERTa's: the model's own ids, its specials pieces of the model (DeBERTa's [MASK] after them).
                    var (cls, sep, pad, unk, mask) = SentencePieceSpecials.Of(state.Layout);
                    (ClsId, SepId, PadId, UnkId) = (pieces.IndexOf(cls), pieces.IndexOf(sep), pieces.IndexOf(pad), pieces.IndexOf(unk));
                    MaskId = pieces.IndexOf(mask) is int m and >= 0 ? m : pieces.Count;
                    BaseVocabularySize = pieces.Count;
                    VocabularySize = Math.Max(pieces.Count, MaskId + 1);
                    break;
                }
                // fairseq's numbering: four specials, then piece p as p + 1 (its <unk>, <s>, </s> give way to the specials), <mask> last;
                // CamemBERT's: the same four, then piece p as p + 4, its own <s> and </s> (pieces 1 and 2) the specials.
                int offset = PieceOffset;
                (ClsId, PadId, SepId, UnkId) = offset == 1 ? (0, 1, 2, 3) : (sp.BeginningOfSentenceId + offset, 1, sp.EndOfSentenceId + offset, 3);
                MaskId = sp.Vocabulary.Count + offset;
                BaseVocabularySize = VocabularySize = sp.Vocabulary.Count + offset + 1;
                break;
            default:
                throw new ArgumentOutOfRangeException(nameof(state), state.Kind, "Unknown tokenizer kind.");
        }
    }

    /// <summary>The algorithm.</summary>
    public TokenizerKind Kind => _state.Kind;
    /// <summary>Length of every encoded sequence (specials included).</summary>
    public int MaxTokens => _state.MaxTokens;
    /// <summary>Model vocabulary size: every id produced is below it.</summary>
    public int VocabularySize { get; }
    /// <summary>Size of the tokenizer's own vocabulary (before any added special tokens).</summary>
    public int BaseVocabularySize { get; }
    /// <summary>Id of [CLS], the first token of every sequence (<c>&lt;s&gt;</c>, or <c>&lt;|endoftext|&gt;</c> in GPT-2 and tiktoken vocabularies).</summary>
    public int ClsId { get; }
    /// <summary>Id of [SEP], after the last text token (<c>&lt;/s&gt;</c>, or <c>&lt;|endoftext|&gt;</c> in GPT-2 and tiktoken vocabularies).</summary>
    public int SepId { get; }
    /// <summary>Id of [PAD] (attention mask 0); the end token's id when the vocabulary has no padding token (GPT-2, tiktoken), as Hugging Face users set it.</summary>
    public int PadId { get; }
    /// <summary>Id of [MASK] (masked-LM pretraining, fill-mask, token dropout); -1 when the vocabulary has no mask token (GPT-2, tiktoken).</summary>
    public int MaskId { get; }
    /// <summary><see cref="MaskId"/>, or an error naming <paramref name="purpose"/> when the vocabulary has no mask token.</summary>
    internal int RequireMaskId(string purpose) => MaskId >= 0 ? MaskId
        : throw new InvalidOperationException($"The {Kind} vocabulary{(_state.Encoding is null ? "" : $" {_state.Encoding}")} has no mask token ([MASK] or <mask>), which {purpose} needs; GPT-2 and tiktoken vocabularies have none.");

    /// <summary>Whether text is lower-cased before WordPiece encoding.</summary>
    public bool LowerCase => _state.LowerCase;
    /// <summary>The Microsoft.ML.Tokenizers tokenizer doing the work (null for character-level).</summary>
    public Tokenizer? Inner => _tokenizer;
    /// <summary>Id of the unknown token.</summary>
    public int UnkId { get; } = 1;
    private const int Specials = 5; // [PAD] [UNK] [CLS] [SEP] [MASK] head a character vocabulary

    /// <summary>A character vocabulary: every character seen at least <paramref name="minFrequency"/> times in <paramref name="texts"/>.</summary>
    /// <param name="texts">The training texts.</param>
    /// <param name="maxTokens">Length of the id and mask vectors, [CLS] and [SEP] included.</param>
    /// <param name="minFrequency">Pairs (or characters) rarer than this are not kept.</param>
    public static TextTokenizer LearnCharacters(IEnumerable<string?> texts, int maxTokens, int minFrequency = 1)
    {
        var counts = new Dictionary<char, long>();
        foreach (var t in texts)
            if (t is not null) foreach (char c in Sanitize(t)) counts[c] = counts.GetValueOrDefault(c) + 1;
        var alphabet = new string(counts.Where(kv => kv.Value >= minFrequency).Select(kv => kv.Key).Order().ToArray());
        if (alphabet.Length == 0) throw new ArgumentException("The text is empty: there are no characters to build a vocabulary from.", nameof(texts));
        return new TextTokenizer(new State(TokenizerKind.Character, Checked(maxTokens), false, alphabet, null, null));
    }

    /// <summary>All token ids of <paramref name="text"/>, no special tokens, no truncation (for language-model corpora and prompts).</summary>
    /// <param name="text">The text (not truncated, no special tokens).</param>
    public int[] EncodeAll(ReadOnlySpan<char> text)
    {
        if (text.IsEmpty) return Array.Empty<int>();
        string s = Prepared(Sanitize(text));
        if (_chars is not null)
        {
            var ids = new int[s.Length];
            for (int i = 0; i < s.Length; i++) ids[i] = _chars.TryGetValue(s[i], out int id) ? id : UnkId;
            return ids;
        }
        if (_wholeTokens is not null) return WholeTokenIds(s);
        try { return Numbered(_tokenizer is BertTokenizer bert ? bert.EncodeToIds(s, addSpecialTokens: false) : PieceIds(s)).ToArray(); }
        catch (Exception e) when (Damaged(e)) { throw DamagedModel(e); }
    }

    // ESM's tokenization (EsmTokenizer: its vocabulary split out of the text by a trie, longest match first, the rest
    // split on whitespace and each word looked up). A word of the rest is never a token (it would have matched where it
    // starts), so each is an <unk>.
    private int[] WholeTokenIds(string s)
    {
        var tokens = _wholeTokens!.GetAlternateLookup<ReadOnlySpan<char>>();
        var ids = new List<int>(s.Length);
        int rest = 0; // start of the text not yet matched
        void Unmatched(int end) // an <unk> where each run of non-whitespace characters starts
        {
            for (int k = rest; k < end; k++)
                if (!char.IsWhiteSpace(s[k]) && (k == rest || char.IsWhiteSpace(s[k - 1]))) ids.Add(UnkId);
        }
        for (int i = 0; i < s.Length;)
        {
            int found = -1, length = 0;
            for (int l = Math.Min(_longestToken, s.Length - i); l >= 1 && found < 0; l--)
                if (tokens.TryGetValue(s.AsSpan(i, l), out int id)) (found, length) = (id, l);
            if (found < 0) { i++; continue; }
            Unmatched(i);
            ids.Add(found);
            i += length;
            rest = i;
        }
        Unmatched(s.Length);
        return ids.ToArray();
    }

    // A text's ids from Microsoft.ML.Tokenizers; for SentencePiece with each run of unknown characters as one unknown
    // piece, as sentencepiece itself encodes it (Microsoft.ML.Tokenizers 2.0.1 gives one per character).
    private IReadOnlyList<int> PieceIds(string s)
    {
        var ids = _tokenizer!.EncodeToIds(s);
        if (Kind != TokenizerKind.SentencePiece) return ids;
        int unk = PieceOffset > 0 ? 0 : UnkId; // the model's own id of its unknown piece
        bool run = false;
        for (int i = 1; i < ids.Count && !run; i++) run = ids[i] == unk && ids[i - 1] == unk;
        if (!run) return ids; // most texts: nothing to merge, no copy
        var merged = new List<int>(ids.Count);
        foreach (int id in ids)
            if (id != unk || merged.Count == 0 || merged[^1] != unk) merged.Add(id);
        return merged;
    }

    // A damaged SentencePiece model that passed the load-time probe can still fail on other text (an index past its
    // tables): that is the file's fault, named as such, not an IndexOutOfRangeException from inside the tokenizer.
    private bool Damaged(Exception e) => Kind == TokenizerKind.SentencePiece && e is IndexOutOfRangeException or ArgumentOutOfRangeException or NullReferenceException or KeyNotFoundException;

    private InvalidDataException DamagedModel(Exception e) =>
        new($"The SentencePiece model{(_source is null ? "" : $" '{_source}'")} is damaged: encoding a text failed ({e.Message}).", e);

    /// <summary>
    /// ESM's tokenizer from its <c>vocab.txt</c> (<see cref="TokenizerKind.Esm"/>: one token a line, matched whole in the
    /// text; <c>&lt;cls&gt;</c>, <c>&lt;eos&gt;</c>, <c>&lt;pad&gt;</c>, <c>&lt;unk&gt;</c> and <c>&lt;mask&gt;</c> among them).
    /// </summary>
    /// <param name="vocabPath">The vocab.txt.</param>
    /// <param name="maxTokens">Length of the id and mask vectors, &lt;cls&gt; and &lt;eos&gt; included.</param>
    public static TextTokenizer FromEsmVocabulary(string vocabPath, int maxTokens)
    {
        string text = ReadFile(vocabPath, "ESM vocabulary");
        try { return new TextTokenizer(new State(TokenizerKind.Esm, Checked(maxTokens), false, text, null, null)); }
        catch (InvalidDataException e) { throw new InvalidDataException($"'{vocabPath}': {e.Message}", e); }
    }

    /// <summary>Learns a WordPiece vocabulary from <paramref name="texts"/> (see <see cref="WordPieceVocabularyLearner"/>).</summary>
    /// <param name="texts">The training texts.</param>
    /// <param name="maxTokens">Length of the id and mask vectors, [CLS] and [SEP] included.</param>
    /// <param name="vocabularySize">Target vocabulary size, special tokens included.</param>
    /// <param name="minFrequency">Pairs (or characters) rarer than this are not kept.</param>
    /// <param name="lowerCase">Lower-case and strip accents first (uncased WordPiece).</param>
    public static TextTokenizer Learn(IEnumerable<string?> texts, int maxTokens, int vocabularySize = 8000, int minFrequency = 2, bool lowerCase = true)
    {
        var vocab = WordPieceVocabularyLearner.Learn(texts, vocabularySize, minFrequency, lowerCase);
        return new TextTokenizer(new State(TokenizerKind.Learned, Checked(maxTokens), lowerCase, string.Join('\n', vocab) + "\n", null, null));
    }

    /// <summary>BERT WordPiece from a <c>vocab.txt</c> (its contents are kept, so a saved model does not need the file).</summary>
    /// <param name="vocabPath">Path of the vocab.txt (one token per line).</param>
    /// <param name="maxTokens">Length of the id and mask vectors, [CLS] and [SEP] included.</param>
    /// <param name="lowerCase">Lower-case and strip accents first (uncased WordPiece).</param>
    /// <param name="specials">The vocabulary's special tokens; null = BERT's (<see cref="WordPieceSpecials.MPNet"/> for MPNet's vocab.txt).</param>
    public static TextTokenizer FromWordPieceVocabulary(string vocabPath, int maxTokens, bool lowerCase = true, WordPieceSpecials? specials = null)
    {
        return FromWordPieceVocabularyText(ReadFile(vocabPath, "WordPiece vocabulary"), maxTokens, lowerCase, $"'{vocabPath}'", specials);
    }

    /// <summary>BERT WordPiece from the contents of a <c>vocab.txt</c> (one token per line; line i is id i).</summary>
    /// <param name="vocabulary">The vocab.txt text.</param>
    /// <param name="maxTokens">Length of the id and mask vectors, [CLS] and [SEP] included.</param>
    /// <param name="lowerCase">Lower-case and strip accents first (uncased WordPiece).</param>
    /// <param name="source">Names the vocabulary in error messages.</param>
    /// <param name="specials">The vocabulary's special tokens; null = BERT's.</param>
    public static TextTokenizer FromWordPieceVocabularyText(string vocabulary, int maxTokens, bool lowerCase = true, string source = "the vocabulary", WordPieceSpecials? specials = null) =>
        FromWordPiece(vocabulary, maxTokens, lowerCase, source, specials, rules: null, normalizers: null);

    /// <summary>
    /// A WordPiece vocabulary (vocab.txt's text) read with a tokenizer.json's own pipeline instead of BERT's basic
    /// tokenization: its normalizers in order, then its pre-tokenizer (Hugging Face's tokenizers quick tour's WordPiece).
    /// </summary>
    internal static TextTokenizer FromWordPieceRules(string vocabulary, int maxTokens, SubwordRules rules, string[] normalizers, WordPieceSpecials? specials, string source) =>
        FromWordPiece(vocabulary, maxTokens, lowerCase: false, source, specials, rules, normalizers);

    private static TextTokenizer FromWordPiece(string vocabulary, int maxTokens, bool lowerCase, string source, WordPieceSpecials? specials, SubwordRules? rules, string[]? normalizers)
    {
        ArgumentNullException.ThrowIfNull(vocabulary);
        specials ??= WordPieceSpecials.Bert;
        vocabulary = vocabulary.Replace("\r\n", "\n");
        var lines = vocabulary.Split('\n');
        // MPNet's tokenizer adds its mask token after the vocabulary when vocab.txt lacks it, as Hugging Face's added tokens are numbered.
        if (specials != WordPieceSpecials.Bert && !lines.Contains(specials.Mask))
        {
            vocabulary = vocabulary.TrimEnd('\n') + "\n" + specials.Mask + "\n";
            lines = vocabulary.Split('\n');
        }
        foreach (var special in specials.Tokens)
            if (!lines.Contains(special))
                throw new InvalidDataException($"WordPiece vocabulary {source} has no {special} line; {(specials == WordPieceSpecials.Bert ? "BERT" : "its tokenizer's")} vocabularies need {string.Join(", ", specials.Tokens)}.");
        return new TextTokenizer(new State(TokenizerKind.WordPiece, Checked(maxTokens), lowerCase, vocabulary, null, null)
        { HuggingFaceRules = true, Specials = specials == WordPieceSpecials.Bert ? null : specials, Rules = rules, Normalizers = normalizers is { Length: > 0 } ? normalizers : null });
    }

    /// <summary>
    /// The files a Hugging Face folder holds this tokenizer in (name, contents): WordPiece as <c>vocab.txt</c> with
    /// <c>tokenizer_config.json</c>'s <c>do_lower_case</c>, RoBERTa's byte-level BPE as <c>vocab.json</c> + <c>merges.txt</c>,
    /// XLM-RoBERTa's SentencePiece as <c>sentencepiece.bpe.model</c>, ALBERT's as <c>spiece.model</c>, DeBERTa's as <c>spm.model</c>.
    /// Other kinds tokenize by rules Hugging Face's tokenizers do not share, and are refused.
    /// </summary>
    internal IReadOnlyList<(string Name, byte[] Contents)> HuggingFaceFiles() => Kind switch
    {
        TokenizerKind.WordPiece when _state.Rules is { } rules =>
            [("tokenizer.json", TokenizerJson.WriteWordPiece(_state.Vocabulary!, _state.Specials ?? WordPieceSpecials.Bert, _state.Normalizers, rules))],
        TokenizerKind.WordPiece when _state.HuggingFaceRules && _state.Specials is { } sp =>
        [
            ("vocab.txt", Encoding.UTF8.GetBytes(_state.Vocabulary!)),
            ("tokenizer_config.json", Encoding.UTF8.GetBytes(new System.Text.Json.Nodes.JsonObject
            {
                ["tokenizer_class"] = "MPNetTokenizer", ["do_lower_case"] = LowerCase, ["model_max_length"] = MaxTokens, ["bos_token"] = sp.Cls, ["eos_token"] = sp.Sep,
                ["cls_token"] = sp.Cls, ["sep_token"] = sp.Sep, ["pad_token"] = sp.Pad, ["mask_token"] = sp.Mask, ["unk_token"] = sp.Unk,
            }.ToJsonString())),
        ],
        TokenizerKind.WordPiece when _state.HuggingFaceRules =>
        [
            ("vocab.txt", Encoding.UTF8.GetBytes(_state.Vocabulary!)),
            ("tokenizer_config.json", Encoding.UTF8.GetBytes(new System.Text.Json.Nodes.JsonObject { ["tokenizer_class"] = "BertTokenizer", ["do_lower_case"] = LowerCase, ["model_max_length"] = MaxTokens }.ToJsonString())),
        ],
        TokenizerKind.ByteLevelBpe when _state.Specials is not null || _state.Normalizers is not null =>
            [("tokenizer.json", BpeTokenizerJson.Write(_state.Vocabulary!, _state.Merges!, _state.Specials ?? RobertaSpecials, _state.Normalizers))],
        TokenizerKind.Bpe when _state.Rules is { } rules => [("tokenizer.json", BpeTokenizerJson.Write(_state.Vocabulary!, _state.Merges!, _state.Specials!, _state.Normalizers, rules))],
        TokenizerKind.Esm =>
        [
            ("vocab.txt", Encoding.UTF8.GetBytes(string.Join('\n', _tokenTexts!) + "\n")),
            ("tokenizer_config.json", Encoding.UTF8.GetBytes(new System.Text.Json.Nodes.JsonObject
            {
                ["tokenizer_class"] = "EsmTokenizer", ["model_max_length"] = MaxTokens, ["cls_token"] = "<cls>", ["eos_token"] = "<eos>",
                ["pad_token"] = "<pad>", ["mask_token"] = "<mask>", ["unk_token"] = "<unk>",
            }.ToJsonString())),
        ],
        TokenizerKind.ByteLevelBpe => [("vocab.json", Encoding.UTF8.GetBytes(_state.Vocabulary!)), ("merges.txt", Encoding.UTF8.GetBytes(_state.Merges!))],
        TokenizerKind.SentencePiece when _state.Layout == SentencePieceLayout.DebertaV2 =>
        [
            ("spm.model", Convert.FromBase64String(_state.Vocabulary!)),
            ("tokenizer_config.json", Encoding.UTF8.GetBytes(new System.Text.Json.Nodes.JsonObject
            {
                ["tokenizer_class"] = "DebertaV2Tokenizer", ["do_lower_case"] = LowerCase, ["split_by_punct"] = false, ["vocab_type"] = "spm", ["model_max_length"] = MaxTokens,
            }.ToJsonString())),
        ],
        TokenizerKind.SentencePiece when _state.Layout == SentencePieceLayout.Albert =>
        [
            ("spiece.model", Convert.FromBase64String(_state.Vocabulary!)),
            ("tokenizer_config.json", Encoding.UTF8.GetBytes(new System.Text.Json.Nodes.JsonObject
            {
                ["tokenizer_class"] = "AlbertTokenizer", ["do_lower_case"] = LowerCase, ["keep_accents"] = _state.KeepAccents, ["model_max_length"] = MaxTokens,
            }.ToJsonString())),
        ],
        TokenizerKind.SentencePiece when _state.Layout == SentencePieceLayout.Camembert =>
        [
            ("sentencepiece.bpe.model", Convert.FromBase64String(_state.Vocabulary!)),
            ("tokenizer_config.json", Encoding.UTF8.GetBytes(new System.Text.Json.Nodes.JsonObject { ["tokenizer_class"] = "CamembertTokenizer", ["model_max_length"] = MaxTokens }.ToJsonString())),
        ],
        TokenizerKind.SentencePiece =>
        [
            ("sentencepiece.bpe.model", Convert.FromBase64String(_state.Vocabulary!)),
            ("tokenizer_config.json", Encoding.UTF8.GetBytes(new System.Text.Json.Nodes.JsonObject { ["tokenizer_class"] = "XLMRobertaTokenizer", ["model_max_length"] = MaxTokens }.ToJsonString())),
        ],
        _ => throw new NotSupportedException($"A {Kind} tokenizer has no Hugging Face equivalent that tokenizes the same way; a pretrained encoder's WordPiece, byte-level BPE or SentencePiece tokenizer does."),
    };

    /// <summary>The same tokenizer with sequences of <paramref name="maxTokens"/> ids (specials included).</summary>
    /// <param name="maxTokens">Length of the id and mask vectors, [CLS] and [SEP] included.</param>
    public TextTokenizer WithMaxTokens(int maxTokens) => maxTokens == MaxTokens ? this : new TextTokenizer(_state with { MaxTokens = Checked(maxTokens) });

    /// <summary>BPE from Hugging Face style <c>vocab.json</c> and <c>merges.txt</c> (contents kept).</summary>
    /// <param name="vocabJsonPath">Path of the BPE vocab.json.</param>
    /// <param name="mergesPath">Path of the BPE merges.txt.</param>
    /// <param name="maxTokens">Length of the id and mask vectors, [CLS] and [SEP] included.</param>
    public static TextTokenizer FromBpeFiles(string vocabJsonPath, string mergesPath, int maxTokens)
    {
        string vocab = ReadFile(vocabJsonPath, "BPE vocabulary"), merges = ReadFile(mergesPath, "BPE merges");
        try { return new TextTokenizer(new State(TokenizerKind.Bpe, Checked(maxTokens), false, vocab, merges, null) { SpecialsFromVocabulary = true }); }
        catch (Exception e) when (e is JsonException or ArgumentException or InvalidOperationException or FormatException)
        {
            throw new InvalidDataException($"BPE files '{vocabJsonPath}' / '{mergesPath}' could not be read: {e.Message}", e);
        }
    }

    /// <summary>
    /// RoBERTa's tokenizer: GPT-2's byte-level BPE from <c>vocab.json</c> and <c>merges.txt</c> (contents kept), sequences
    /// <c>&lt;s&gt; tokens… &lt;/s&gt; &lt;pad&gt;…</c> with the special ids of the vocabulary itself.
    /// </summary>
    /// <param name="vocabJsonPath">Path of vocab.json (token → id).</param>
    /// <param name="mergesPath">Path of merges.txt.</param>
    /// <param name="maxTokens">Length of the id and mask vectors, &lt;s&gt; and &lt;/s&gt; included.</param>
    public static TextTokenizer FromByteLevelBpeFiles(string vocabJsonPath, string mergesPath, int maxTokens) =>
        FromByteLevelBpeText(ReadFile(vocabJsonPath, "BPE vocabulary"), ReadFile(mergesPath, "BPE merges"), maxTokens, $"'{vocabJsonPath}' / '{mergesPath}'");

    /// <summary>RoBERTa's tokenizer (see <see cref="FromByteLevelBpeFiles"/>) from the contents of vocab.json and merges.txt.</summary>
    /// <param name="vocabJson">vocab.json's text (token → id).</param>
    /// <param name="merges">merges.txt's text.</param>
    /// <param name="maxTokens">Length of the id and mask vectors, &lt;s&gt; and &lt;/s&gt; included.</param>
    /// <param name="source">Names the files in error messages.</param>
    public static TextTokenizer FromByteLevelBpeText(string vocabJson, string merges, int maxTokens, string source = "the BPE files") =>
        FromByteLevelBpeText(vocabJson, merges, maxTokens, null, source);

    /// <summary>
    /// A byte-level BPE whose special tokens are <paramref name="specials"/> (a tokenizer.json's, e.g. ModernBERT's [CLS] and
    /// [SEP], with BERT's pairs unless <see cref="WordPieceSpecials.DoubleSeparatorPairs"/>); null = RoBERTa's.
    /// </summary>
    internal static TextTokenizer FromByteLevelBpeText(string vocabJson, string merges, int maxTokens, WordPieceSpecials? specials, string source, string[]? normalizers = null)
    {
        try
        {
            return new TextTokenizer(new State(TokenizerKind.ByteLevelBpe, Checked(maxTokens), false, vocabJson, merges, null)
            {
                Specials = specials == RobertaSpecials ? null : specials, Normalizers = normalizers is { Length: > 0 } ? normalizers : null,
            });
        }
        catch (Exception e) when (e is JsonException or ArgumentException or InvalidOperationException or FormatException or InvalidDataException)
        {
            throw new InvalidDataException($"BPE files {source} could not be read: {e.Message}", e);
        }
    }

    /// <summary>
    /// A Hugging Face fast tokenizer's <c>tokenizer.json</c> (its contents kept): WordPiece, BPE (byte-level as RoBERTa's and
    /// ModernBERT's, or over characters as Hugging Face's tokenizers trains one) or Unigram (XLM-RoBERTa's, ALBERT's,
    /// DeBERTa's), with its normalizers and the special tokens its post-processor places. Its kind is the model's.
    /// </summary>
    /// <param name="path">Path of the tokenizer.json.</param>
    /// <param name="maxTokens">Length of the id and mask vectors, specials included.</param>
    /// <param name="specials">A WordPiece vocabulary's special tokens; null = BERT's (<see cref="WordPieceSpecials.MPNet"/> for MPNet's).</param>
    public static TextTokenizer FromTokenizerJson(string path, int maxTokens, WordPieceSpecials? specials = null)
    {
        ReadFile(path, "tokenizer.json"); // names a missing file as the other readers do
        return TokenizerJson.Read(path, Checked(maxTokens), specials);
    }

    /// <summary>
    /// A BPE over characters from a tokenizer.json (Hugging Face's tokenizers' quick-tour kind, DNABERT-2's): the vocabulary
    /// (token → id, added tokens included), merges, the specials its post-processor places, and how words are split and spelled.
    /// </summary>
    internal static TextTokenizer FromBpeText(string vocabJson, string merges, int maxTokens, WordPieceSpecials specials, SubwordRules rules, string source, string[]? normalizers = null)
    {
        try
        {
            return new TextTokenizer(new State(TokenizerKind.Bpe, Checked(maxTokens), false, vocabJson, merges, null)
            {
                Specials = specials, Rules = rules, Normalizers = normalizers is { Length: > 0 } ? normalizers : null, SpecialsFromVocabulary = true,
            });
        }
        catch (Exception e) when (e is JsonException or ArgumentException or InvalidOperationException or FormatException or InvalidDataException)
        {
            throw new InvalidDataException($"BPE tokenizer {source} could not be read: {e.Message}", e);
        }
    }

    /// <summary>
    /// XLM-RoBERTa's tokenizer: a SentencePiece model file (<c>sentencepiece.bpe.model</c>, its contents kept) with
    /// fairseq's numbering (<see cref="TokenizerKind.SentencePiece"/>), sequences <c>&lt;s&gt; pieces… &lt;/s&gt;</c>.
    /// </summary>
    /// <param name="modelPath">Path of the SentencePiece model.</param>
    /// <param name="maxTokens">Length of the id and mask vectors, &lt;s&gt; and &lt;/s&gt; included.</param>
    public static TextTokenizer FromSentencePieceModel(string modelPath, int maxTokens) =>
        FromSentencePieceBytes(ReadModel(modelPath), Checked(maxTokens), modelPath);

    /// <summary>
    /// A SentencePiece tokenizer from a model's bytes, numbered and with text rules as <paramref name="layout"/> says (the
    /// public factories' work); <paramref name="source"/> names the model in errors.
    /// </summary>
    internal static TextTokenizer FromSentencePieceBytes(byte[] model, int maxTokens, string source, SentencePieceLayout layout = SentencePieceLayout.Fairseq,
        bool lowerCase = false, bool keepAccents = false)
    {
        try
        {
            return new TextTokenizer(new State(TokenizerKind.SentencePiece, Checked(maxTokens), lowerCase, Convert.ToBase64String(model), null, null)
            { Layout = layout, KeepAccents = keepAccents }, source);
        }
        catch (InvalidDataException e) { throw new InvalidDataException($"SentencePiece model '{source}' could not be read: {e.InnerException?.Message ?? e.Message}", e); }
    }

    private static byte[] ReadModel(string path) => File.Exists(path) ? File.ReadAllBytes(path)
        : throw new FileNotFoundException($"SentencePiece model '{path}' does not exist.", path);

    /// <summary>
    /// ALBERT's tokenizer: a SentencePiece model file (<c>spiece.model</c>, its contents kept) with the model's own ids and
    /// special pieces (<c>[CLS]</c>, <c>[SEP]</c>, <c>&lt;pad&gt;</c>, <c>&lt;unk&gt;</c>, <c>[MASK]</c>), sequences
    /// <c>[CLS] pieces… [SEP]</c>, pairs as BERT's. Text first gets ALBERT's rules (<c>AlbertTokenizerFast</c>'s normalizers):
    /// <c>``</c> and <c>''</c> become <c>"</c>, accents are stripped unless <paramref name="keepAccents"/>, lower case when
    /// <paramref name="lowerCase"/>.
    /// </summary>
    /// <param name="modelPath">Path of the SentencePiece model.</param>
    /// <param name="maxTokens">Length of the id and mask vectors, [CLS] and [SEP] included.</param>
    /// <param name="lowerCase">Lower-case the text (<c>do_lower_case</c>, true for ALBERT's released models).</param>
    /// <param name="keepAccents">Keep accents (<c>keep_accents</c>, false for ALBERT's released models).</param>
    public static TextTokenizer FromAlbertSentencePieceModel(string modelPath, int maxTokens, bool lowerCase = true, bool keepAccents = false) =>
        FromSentencePieceBytes(ReadModel(modelPath), Checked(maxTokens), modelPath, SentencePieceLayout.Albert, lowerCase, keepAccents);

    /// <summary>
    /// DeBERTa-v2/v3's tokenizer: a SentencePiece model file (<c>spm.model</c>, its contents kept) with the model's own ids
    /// and special pieces (<c>[PAD]</c>, <c>[CLS]</c>, <c>[SEP]</c>, <c>[UNK]</c>; <c>[MASK]</c> after the pieces, as
    /// transformers adds it), sequences <c>[CLS] pieces… [SEP]</c>, pairs as BERT's; the text lower-cased first when
    /// <paramref name="lowerCase"/> (<c>do_lower_case</c>, false for DeBERTa-v3).
    /// </summary>
    /// <param name="modelPath">Path of the SentencePiece model.</param>
    /// <param name="maxTokens">Length of the id and mask vectors, [CLS] and [SEP] included.</param>
    /// <param name="lowerCase">Lower-case the text first.</param>
    public static TextTokenizer FromDebertaSentencePieceModel(string modelPath, int maxTokens, bool lowerCase = false) =>
        FromSentencePieceBytes(ReadModel(modelPath), Checked(maxTokens), modelPath, SentencePieceLayout.DebertaV2, lowerCase);

    /// <summary>
    /// A SentencePiece model file of any of the layouts read, told apart by its own pieces: DeBERTa-v2/v3's (it starts
    /// <c>[PAD] [CLS] [SEP] [UNK]</c>; cased), ALBERT's (it holds <c>&lt;pad&gt; &lt;unk&gt; [CLS] [SEP] [MASK]</c>;
    /// uncased, accents stripped) or else XLM-RoBERTa's (fairseq's numbering), each with its released models' text rules.
    /// </summary>
    /// <param name="modelPath">Path of the SentencePiece model.</param>
    /// <param name="maxTokens">Length of the id and mask vectors, the start and end tokens included.</param>
    public static TextTokenizer FromSentencePieceModelOfAnyLayout(string modelPath, int maxTokens)
    {
        var model = ReadModel(modelPath);
        SentencePieceLayout layout;
        try { layout = SentencePieceSpecials.Detect(model); }
        catch (InvalidDataException e) { throw new InvalidDataException($"SentencePiece model '{modelPath}' could not be read: {e.Message}", e); }
        return FromSentencePieceBytes(model, Checked(maxTokens), modelPath, layout, lowerCase: layout == SentencePieceLayout.Albert);
    }

    /// <summary>A tiktoken encoding: <c>cl100k_base</c> (GPT-4) or <c>o200k_base</c> (GPT-4o).</summary>
    /// <param name="encoding">Tiktoken encoding name: cl100k_base or o200k_base.</param>
    /// <param name="maxTokens">Length of the id and mask vectors, [CLS] and [SEP] included.</param>
    public static TextTokenizer FromTiktoken(string encoding, int maxTokens)
    {
        if (encoding is not ("cl100k_base" or "o200k_base"))
            throw new ArgumentException($"Tiktoken encoding '{encoding}' is not available; use 'cl100k_base' or 'o200k_base'.", nameof(encoding));
        return new TextTokenizer(new State(TokenizerKind.Tiktoken, Checked(maxTokens), false, null, null, encoding) { SpecialsFromVocabulary = true });
    }

    /// <summary>
    /// Encodes <paramref name="text"/> into <paramref name="ids"/> and <paramref name="mask"/> (each of length
    /// <see cref="MaxTokens"/>): [CLS], as many text tokens as fit, [SEP], then [PAD] with mask 0.
    /// </summary>
    /// <returns>The number of real tokens (mask 1), specials included.</returns>
    /// <param name="text">The text.</param>
    /// <param name="ids">Receives the ids: [CLS], the tokens (truncated), [SEP], then [PAD]s; its length is MaxTokens.</param>
    /// <param name="mask">Receives the attention mask (1 = real token, 0 = padding).</param>
    public int Encode(ReadOnlySpan<char> text, Span<int> ids, Span<int> mask) => Encode(text, ids, mask, out _);

    /// <summary>As <see cref="Encode(ReadOnlySpan{char}, Span{int}, Span{int})"/>, telling whether the text had more tokens than fit.</summary>
    /// <returns>The number of real tokens (mask 1), specials included.</returns>
    /// <param name="text">The text.</param>
    /// <param name="ids">Receives the ids: [CLS], the tokens (truncated), [SEP], then [PAD]s; its length is MaxTokens.</param>
    /// <param name="mask">Receives the attention mask (1 = real token, 0 = padding).</param>
    /// <param name="truncated">Whether tokens were cut to fit <see cref="MaxTokens"/>.</param>
    public int Encode(ReadOnlySpan<char> text, Span<int> ids, Span<int> mask, out bool truncated)
    {
        int max = MaxTokens;
        if (ids.Length < max || mask.Length < max) throw new ArgumentException($"Output spans must hold {max} entries.");
        var tokens = Tokens(text, max - 2, out truncated);
        int n = 0;
        ids[n++] = ClsId;
        for (int i = 0; i < tokens.Count && n < max - 1; i++) ids[n++] = tokens[i];
        ids[n++] = SepId;
        mask[..n].Fill(1);
        ids[n..max].Fill(PadId);
        mask[n..max].Clear();
        return n;
    }

    /// <summary>
    /// Whether an embedding of <paramref name="rows"/> rows reads this tokenizer's ids: as many rows as tokens, or for a
    /// SentencePiece model or a byte-level BPE more (multilingual checkpoints pad their embeddings past the tokenizer's
    /// 250,002 ids, ModernBERT's past its BPE's; such files give every token its id, while a line missing from a vocab.txt
    /// would shift every id after it and must not pass), or, for an embedding rounded up to a multiple of
    /// <paramref name="multiple"/> (NomicBERT's <c>pad_vocab_size_multiple</c>), the tokens rounded up the same way.
    /// </summary>
    /// <param name="rows">The embedding's rows (the encoder's vocabulary size).</param>
    /// <param name="multiple">The embedding's rows are a multiple of this (<see cref="Core.Models.TransformerConfig.VocabularyMultiple"/>); 1 = none.</param>
    public bool FitsEmbedding(int rows, int multiple = 1) => VocabularySize == rows
        || (Kind is TokenizerKind.SentencePiece or TokenizerKind.ByteLevelBpe && VocabularySize < rows)
        || (multiple > 1 && VocabularySize < rows && (VocabularySize + multiple - 1) / multiple * multiple == rows);

    /// <summary>Whether pairs take RoBERTa's form, <c>&lt;s&gt; a &lt;/s&gt;&lt;/s&gt; b &lt;/s&gt;</c> with token types all 0 (else BERT's).</summary>
    public bool RobertaPairs => (Kind is TokenizerKind.ByteLevelBpe && _state.Specials is null) || PieceOffset > 0 || _state.Specials?.DoubleSeparatorPairs == true;

    /// <summary>
    /// Whether the mask token takes the space before it (<c>lstrip</c>: RoBERTa's and XLM-RoBERTa's &lt;mask&gt;, ModernBERT's
    /// byte-level [MASK]), so fill-mask drops the space a text has before it.
    /// </summary>
    public bool MaskTakesPrecedingSpace => RobertaPairs || Kind is TokenizerKind.ByteLevelBpe;

    // RoBERTa's byte-level BPE specials, the vocabulary's own tokens.
    internal static readonly WordPieceSpecials RobertaSpecials = new("<s>", "</s>", "<pad>", "<mask>", "<unk>", true);

    /// <summary>
    /// Encodes a sentence pair as BERT reads one: <c>[CLS] a [SEP] b [SEP]</c>, token type 0 for <c>[CLS] a [SEP]</c> and 1
    /// for <c>b [SEP]</c> (RoBERTa: <c>&lt;s&gt; a &lt;/s&gt;&lt;/s&gt; b &lt;/s&gt;</c>, all type 0), then padding (mask 0, type 0).
    /// When the pair does not fit, tokens are cut from the end of the longer side, one at a time (the second on a tie):
    /// Hugging Face's <c>truncation="longest_first"</c>. An empty or null side contributes no tokens.
    /// </summary>
    /// <returns>The number of real tokens (mask 1), specials included.</returns>
    /// <param name="first">The first text (segment A).</param>
    /// <param name="second">The second text (segment B).</param>
    /// <param name="ids">Receives the ids; its length is at least MaxTokens.</param>
    /// <param name="mask">Receives the attention mask (1 = real token, 0 = padding).</param>
    /// <param name="tokenTypes">Receives the token type (segment) ids.</param>
    /// <param name="truncated">Whether tokens were cut to fit <see cref="MaxTokens"/>.</param>
    public int EncodePair(ReadOnlySpan<char> first, ReadOnlySpan<char> second, Span<int> ids, Span<int> mask, Span<int> tokenTypes, out bool truncated)
    {
        int max = MaxTokens, specials = RobertaPairs ? 4 : 3;
        if (ids.Length < max || mask.Length < max || tokenTypes.Length < max) throw new ArgumentException($"Output spans must hold {max} entries.");
        if (max <= specials) throw new InvalidOperationException($"MaxTokens is {max}: a pair needs more than its {specials} special tokens.");
        var a = Tokens(first, max - specials, out bool cutA);
        var b = Tokens(second, max - specials, out bool cutB);
        int n = LayOutPair(a, b, ids, mask, tokenTypes, out truncated);
        truncated |= cutA || cutB;
        return n;
    }

    /// <summary>
    /// Two token sequences (no specials) laid out as <see cref="EncodePair"/> does: specials, longest-first truncation,
    /// token types and padding to <see cref="MaxTokens"/>.
    /// </summary>
    internal int LayOutPair(IReadOnlyList<int> a, IReadOnlyList<int> b, Span<int> ids, Span<int> mask, Span<int> tokenTypes, out bool truncated)
    {
        int max = MaxTokens, specials = RobertaPairs ? 4 : 3, budget = max - specials;
        int la = a.Count, lb = b.Count;
        truncated = la + lb > budget;
        if (truncated)
        {
            // longest_first, removing one token at a time, is the same as this: shorten the longer side to the other's
            // length, then both alternately, the second first.
            int over = la + lb - budget, diff = Math.Abs(la - lb), fromLonger = Math.Min(over, diff);
            if (la > lb) la -= fromLonger; else lb -= fromLonger;
            over -= fromLonger;
            lb -= (over + 1) / 2;
            la -= over / 2;
        }
        int n = 0;
        ids[n++] = ClsId;
        for (int i = 0; i < la; i++) ids[n++] = a[i];
        ids[n++] = SepId;
        if (RobertaPairs) ids[n++] = SepId;
        int firstSegment = n;
        for (int i = 0; i < lb; i++) ids[n++] = b[i];
        ids[n++] = SepId;
        mask[..n].Fill(1);
        ids[n..max].Fill(PadId);
        mask[n..max].Clear();
        tokenTypes[..max].Clear();
        if (!RobertaPairs) tokenTypes[firstSegment..n].Fill(1);
        return n;
    }

    // The text's tokens without specials, at most `limit` of them; `truncated` when the text had more.
    private IReadOnlyList<int> Tokens(ReadOnlySpan<char> text, int limit, out bool truncated)
    {
        truncated = false;
        if (text.IsWhiteSpace() || limit <= 0)
        {
            truncated = !text.IsWhiteSpace();
            return Array.Empty<int>();
        }
        string s = Prepared(Sanitize(text));
        IReadOnlyList<int> tokens;
        if (_chars is not null)
        {
            tokens = EncodeAll(s.AsSpan(0, Math.Min(s.Length, limit)));
            truncated = s.Length > limit;
        }
        else if (_wholeTokens is not null) tokens = WholeTokenIds(s);
        else if (Kind == TokenizerKind.SentencePiece)
        {
            // The whole text, so that runs of unknown characters are merged before it is cut to the limit.
            try { tokens = Numbered(PieceIds(s)); }
            catch (Exception e) when (Damaged(e)) { throw DamagedModel(e); }
        }
        else
        {
            // One token more than fits: Microsoft.ML.Tokenizers reports fewer characters consumed than it read when the
            // tokens fill the limit exactly, which made a text of exactly `limit` tokens look truncated.
            string? normalized;
            int consumed;
            try
            {
                tokens = _tokenizer is BertTokenizer bert
                    ? bert.EncodeToIds(s, limit + 1, addSpecialTokens: false, out normalized, out consumed)
                    : _tokenizer!.EncodeToIds(s, limit + 1, out normalized, out consumed);
            }
            catch (Exception e) when (Damaged(e)) { throw DamagedModel(e); }
            truncated = tokens.Count <= limit && consumed < (normalized ?? s).TrimEnd().Length;
            tokens = Numbered(tokens);
        }
        truncated |= tokens.Count > limit;
        return tokens.Count > limit ? tokens.Take(limit).ToArray() : tokens;
    }

    // Whether ids are a SentencePiece model's in fairseq's numbering (XLM-RoBERTa's) rather than its own (ALBERT's).
    // How far a SentencePiece model's ids are moved up in fairseq's numbering (XLM-RoBERTa's 1, CamemBERT's 4); 0 = its own ids.
    private int PieceOffset => Kind != TokenizerKind.SentencePiece ? 0 : _state.Layout switch { SentencePieceLayout.Fairseq => 1, SentencePieceLayout.Camembert => 4, _ => 0 };

    // A SentencePiece model's ids in XLM-RoBERTa's numbering (its <unk>, 0, is 3; piece p is p + 1); other kinds' as they are.
    private IReadOnlyList<int> Numbered(IReadOnlyList<int> ids) => PieceOffset is > 0 and var offset ? ids.Select(i => i == 0 ? UnkId : i + offset).ToArray() : ids;

    // The inverse, for decoding: the model's own id of a piece.
    private int PieceId(int id) => PieceOffset is > 0 and var offset ? (id == UnkId ? 0 : id - offset) : id;

    // ALBERT's text rules before its SentencePiece model (AlbertTokenizerFast's normalizers): `` and '' as ", accents
    // stripped (NFKD, non-spacing marks dropped) unless kept, lower case when uncased. Other kinds take the text as it is.
    private string Prepared(string s)
    {
        if (_state.Normalizers is { } normalizers)
            foreach (var n in normalizers)
                s = n switch
                {
                    "NFC" => s.Normalize(NormalizationForm.FormC), "NFD" => s.Normalize(NormalizationForm.FormD),
                    "NFKC" => s.Normalize(NormalizationForm.FormKC), "NFKD" => s.Normalize(NormalizationForm.FormKD), "Lowercase" => UnicodeLowercase.Apply(s),
                    "StripAccents" => WithoutMarks(s),
                    _ => throw new InvalidDataException($"Unknown normalizer '{n}' in the tokenizer description."),
                };
        if (Kind != TokenizerKind.SentencePiece || PieceOffset > 0) return s;
        if (_state.Layout == SentencePieceLayout.DebertaV2) return LowerCase ? s.ToLowerInvariant() : s; // DebertaV2TokenizerFast: Lowercase when uncased, then the model's own
        s = s.Replace("``", "\"", StringComparison.Ordinal).Replace("''", "\"", StringComparison.Ordinal);
        if (!_state.KeepAccents)
        {
            var sb = new StringBuilder(s.Length);
            foreach (char c in s.Normalize(NormalizationForm.FormKD))
                if (System.Globalization.CharUnicodeInfo.GetUnicodeCategory(c) != System.Globalization.UnicodeCategory.NonSpacingMark) sb.Append(c);
            s = sb.ToString();
        }
        return LowerCase ? s.ToLowerInvariant() : s;
    }

    // Hugging Face tokenizers' StripAccents: every combining mark (Mn, Mc, Me) removed, as Rust's is_combining_mark tells them.
    private static string WithoutMarks(string s)
    {
        var sb = new StringBuilder(s.Length);
        foreach (var r in s.EnumerateRunes())
            if (Rune.GetUnicodeCategory(r) is not (System.Globalization.UnicodeCategory.NonSpacingMark or System.Globalization.UnicodeCategory.SpacingCombiningMark
                or System.Globalization.UnicodeCategory.EnclosingMark)) sb.Append(r.ToString());
        return sb.ToString();
    }

    /// <summary>How one token reads on its own (special tokens by name: [CLS], [SEP], …): labels for attention maps.</summary>
    /// <param name="id">A token id.</param>
    public string TokenText(int id)
    {
        if (_specialNames is not null && _specialNames.TryGetValue(id, out var name)) return name;
        if (_tokenTexts is not null) return id >= 0 && id < _tokenTexts.Length ? _tokenTexts[id] : $"#{id}"; // ESM's specials as its vocabulary spells them
        if (id == ClsId) return "[CLS]";
        if (id == SepId) return "[SEP]";
        if (id == PadId) return "[PAD]";
        if (id == MaskId) return "[MASK]";
        if (_alphabet is not null && id >= Specials && id - Specials < _alphabet.Length) return _alphabet[id - Specials].ToString();
        var text = id >= 0 && id < BaseVocabularySize && _alphabet is null ? _tokenizer!.Decode(new[] { PieceId(id) }) : null;
        return string.IsNullOrEmpty(text) ? $"#{id}" : text;
    }

    /// <summary>Decodes ids back to text, skipping the added specials.</summary>
    /// <param name="ids">Token ids (special tokens are skipped).</param>
    public string Decode(IEnumerable<int> ids)
    {
        var kept = ids.Where(i => i != ClsId && i != SepId && i != PadId && i != MaskId && i < BaseVocabularySize);
        // Character vocabularies: special tokens ([UNK] included) are not text, and come out as nothing, not U+FFFD.
        if (_alphabet is not null) return new string(kept.Where(i => i >= Specials).Select(i => _alphabet[i - Specials]).ToArray());
        if (_tokenTexts is not null) return string.Concat(kept.Where(i => i >= 0 && i != UnkId).Select(i => _tokenTexts[i]));
        var text = _tokenizer!.Decode(kept.Select(PieceId)) ?? "";
        return _tokenizer is BertTokenizer ? JoinSplitPunctuation(text) : text;
    }

    // WordPiece splits every punctuation mark off its word and decoding puts the spaces back on one side: "t - shirt",
    // "woman' s". Within a word (letters or digits on both sides) a hyphen, and an apostrophe before an English clitic,
    // are joined again — what detokenizers such as sacreBLEU's expect ("t-shirt" is one token of 13a, "t - shirt" three).
    private static readonly System.Text.RegularExpressions.Regex HyphenInWord = new(@"(?<=\w) - (?=\w)", System.Text.RegularExpressions.RegexOptions.CultureInvariant);
    private static readonly System.Text.RegularExpressions.Regex Clitic = new(@"(?<=\w) ?' (s|t|re|ve|ll|d|m)\b", System.Text.RegularExpressions.RegexOptions.CultureInvariant);

    private static string JoinSplitPunctuation(string text) => Clitic.Replace(HyphenInWord.Replace(text, "-"), "'$1");

    /// <summary>Replaces lone surrogates (invalid UTF-16) with U+FFFD; the tokenizers' Unicode normalization rejects them.</summary>
    /// <param name="text">The text; null stays null.</param>
    public static string Sanitize(ReadOnlySpan<char> text)
    {
        int bad = -1;
        for (int i = 0; i < text.Length; i++)
        {
            if (char.IsHighSurrogate(text[i]) && i + 1 < text.Length && char.IsLowSurrogate(text[i + 1])) { i++; continue; }
            if (char.IsSurrogate(text[i])) { bad = i; break; }
        }
        if (bad < 0) return text.ToString();
        var sb = new StringBuilder(text.Length);
        for (int i = 0; i < text.Length; i++)
        {
            char c = text[i];
            if (char.IsHighSurrogate(c) && i + 1 < text.Length && char.IsLowSurrogate(text[i + 1])) { sb.Append(c).Append(text[++i]); }
            else sb.Append(char.IsSurrogate(c) ? '\uFFFD' : c);
        }
        return sb.ToString();
    }

    /// <summary>Everything needed to rebuild this tokenizer (vocabulary contents included), as UTF-8 JSON.</summary>
    public byte[] Serialize() => JsonSerializer.SerializeToUtf8Bytes(_state);

    /// <summary>Rebuilds a tokenizer from <see cref="Serialize"/> output.</summary>
    /// <param name="utf8Json">The tokenizer description, as written by Serialize.</param>
    public static TextTokenizer Deserialize(ReadOnlySpan<byte> utf8Json)
    {
        State? state;
        try { state = JsonSerializer.Deserialize<State>(utf8Json); }
        catch (JsonException e) { throw new InvalidDataException($"The tokenizer description is not valid: {e.Message}", e); }
        if (state is null) throw new InvalidDataException("The tokenizer description is empty.");
        return new TextTokenizer(state);
    }

    /// <summary>A human-readable description for model metadata.</summary>
    public override string ToString() => $"{Kind} tokenizer, vocabulary {VocabularySize}, max tokens {MaxTokens}";

    private static string ReadFile(string path, string what)
    {
        if (string.IsNullOrEmpty(path)) throw new ArgumentException($"No {what} file was given.", nameof(path));
        if (!File.Exists(path)) throw new FileNotFoundException($"{what} file '{path}' does not exist.", path);
        return File.ReadAllText(path);
    }

    /// <summary>Serializable description.</summary>
    internal sealed record State(TokenizerKind Kind, int MaxTokens, bool LowerCase, string? Vocabulary, string? Merges, string? Encoding)
    {
        /// <summary>WordPiece with Hugging Face's basic tokenization exactly (false in files written before it existed).</summary>
        public bool HuggingFaceRules { get; init; }
        /// <summary>BPE and Tiktoken: special ids from the vocabulary (false in files written before: four ids appended past it).</summary>
        public bool SpecialsFromVocabulary { get; init; }
        /// <summary>WordPiece: special tokens other than BERT's (MPNet's); byte-level BPE: other than RoBERTa's (ModernBERT's); null = the kind's usual ones.</summary>
        public WordPieceSpecials? Specials { get; init; }
        /// <summary>SentencePiece: how ids are numbered and specials named (files written before it: fairseq's, XLM-RoBERTa's).</summary>
        public SentencePieceLayout Layout { get; init; }
        /// <summary>SentencePiece with its own ids: accents are kept (ALBERT's <c>keep_accents</c>).</summary>
        public bool KeepAccents { get; init; }
        /// <summary>
        /// BPE over characters, or WordPiece, from a tokenizer.json with its own pipeline: its pre-tokenizer and model options
        /// (null: BPE from vocab.json + merges.txt, whose specials are by role; WordPiece with BERT's basic tokenization).
        /// </summary>
        public SubwordRules? Rules { get; init; }
        /// <summary>
        /// Byte-level BPE, BPE over characters and WordPiece with <see cref="Rules"/>: a tokenizer.json's normalizers, applied in order before the pre-tokenizer (<c>NFC</c>,
        /// <c>NFD</c>, <c>NFKC</c>, <c>NFKD</c>, <c>Lowercase</c>, <c>StripAccents</c>; GPT-NeoX's and OLMo's tokenizers, whence ModernBERT's, NFC); null = none.
        /// </summary>
        public string[]? Normalizers { get; init; }
    }
}
