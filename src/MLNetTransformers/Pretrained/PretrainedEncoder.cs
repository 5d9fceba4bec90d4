using System.Text.Json;
using MLNetTransformers.Core.Pretrained;

namespace MLNetTransformers.Pretrained;

/// <summary>
/// A pretrained encoder with the tokenizer it was trained with: what a classifier or featurizer fine-tunes from
/// (<see cref="Classification.TransformerClassifierOptions.Pretrained"/>). Read from a Hugging Face model folder with
/// <see cref="FromHuggingFaceFolder"/>, from a PyTorch-exported ONNX encoder with <c>OnnxPretrained.Load</c>
/// (MLNetTransformers.Onnx), or as all-MiniLM-L6-v2 from <c>MiniLM.Load()</c> (MLNetTransformers.Pretrained.MiniLM).
/// </summary>
public sealed class PretrainedEncoder
{
    /// <summary>Pairs an encoder with its tokenizer; their vocabularies must agree.</summary>
    /// <param name="encoder">The encoder, weights loaded.</param>
    /// <param name="tokenizer">The tokenizer whose ids the encoder was trained on.</param>
    /// <param name="name">What to call it in logs and errors (a folder, a file, a model name).</param>
    public PretrainedEncoder(TransformerEncoder encoder, TextTokenizer tokenizer, string name)
    {
        ArgumentNullException.ThrowIfNull(encoder);
        ArgumentNullException.ThrowIfNull(tokenizer);
        if (!tokenizer.FitsEmbedding(encoder.Config.VocabSize, encoder.Config.VocabularyMultiple))
            throw new InvalidDataException($"{name}: the vocabulary has {tokenizer.VocabularySize:N0} tokens but the encoder's embedding has {encoder.Config.VocabSize:N0} rows.");
        if (tokenizer.MaxTokens > encoder.Config.MaxLength)
            throw new ArgumentException($"{name}: the tokenizer makes sequences of {tokenizer.MaxTokens} tokens; the encoder has {encoder.Config.MaxLength} positions.", nameof(tokenizer));
        (Encoder, Tokenizer, Name) = (encoder, tokenizer, name);
    }

    /// <summary>The encoder.</summary>
    public TransformerEncoder Encoder { get; }
    /// <summary>Its tokenizer.</summary>
    public TextTokenizer Tokenizer { get; }
    /// <summary>Where it came from.</summary>
    public string Name { get; }

    /// <summary>Default sequence length of a pretrained encoder's tokenizer (SST-2's longest sentences fit).</summary>
    public const int DefaultMaxTokens = 128;

    /// <summary>The same encoder with sequences of <paramref name="maxTokens"/> tokens.</summary>
    /// <param name="maxTokens">Length of the id and mask vectors, [CLS] and [SEP] included.</param>
    public PretrainedEncoder WithMaxTokens(int maxTokens) => new(Encoder, Tokenizer.WithMaxTokens(maxTokens), Name);

    /// <summary>
    /// Reads a Hugging Face model folder: <c>config.json</c> (BERT, MiniLM, DistilBERT, RoBERTa, XLM-RoBERTa, ELECTRA, MPNet, ALBERT or DeBERTa-v2/v3), <c>model.safetensors</c>
    /// (F32, F16 or BF16) or else PyTorch's <c>pytorch_model.bin</c> (read without running its pickle), and <c>vocab.txt</c> (WordPiece; lower-cased when <c>tokenizer_config.json</c> says
    /// <c>do_lower_case</c>, as BERT's uncased models do, and by default); RoBERTa's <c>vocab.json</c> + <c>merges.txt</c>
    /// (byte-level BPE); XLM-RoBERTa's <c>sentencepiece.bpe.model</c>; ALBERT's <c>spiece.model</c> (lower-cased and accents stripped as its <c>tokenizer_config.json</c> says); DeBERTa's <c>spm.model</c>; or, without those, a <c>tokenizer.json</c>. A sentence-transformers folder
    /// (<c>modules.json</c>, <c>1_Pooling</c>, <c>2_Normalize</c>) embeds as sentence-transformers does: its pooling mode,
    /// unit length when it normalizes, sequences cut at its <c>max_seq_length</c>.
    /// </summary>
    /// <param name="folder">The model folder.</param>
    /// <param name="maxTokens">Length of the tokenizer's sequences; null = a sentence-transformers folder's max_seq_length, else
    /// <see cref="DefaultMaxTokens"/>, or the encoder's positions if fewer.</param>
    public static PretrainedEncoder FromHuggingFaceFolder(string folder, int? maxTokens = null)
    {
        var loaded = PretrainedCheckpoint.LoadFolder(folder);
        // A sentence-transformers folder cuts sequences where its sentence_bert_config.json says, and may keep the
        // model (tokenizer included) in a subfolder.
        var modules = loaded.Modules;
        maxTokens ??= modules?.MaxSeqLength is { } st ? Math.Min(st, loaded.Encoder.Config.MaxLength) : null;
        return new PretrainedEncoder(loaded.Encoder, TokenizerOf(modules?.TransformerFolder ?? folder, MaxTokens(maxTokens, loaded.Encoder)), folder);
    }

    /// <summary>
    /// Writes this encoder and its tokenizer as a Hugging Face model folder, which <see cref="FromHuggingFaceFolder"/>,
    /// Hugging Face's <c>AutoModel</c> and, for an embedding model (no BERT pooler), sentence-transformers read back to the
    /// same embeddings: config.json, model.safetensors, the tokenizer's files, and sentence-transformers' modules with
    /// <c>sentence_bert_config.json</c>'s max_seq_length. To share a fine-tuned classifier's encoder:
    /// <c>new PretrainedEncoder(model.Model.Encoder, model.Tokenizer, name).SaveHuggingFaceFolder(folder)</c>.
    /// </summary>
    /// <param name="folder">The folder to write (created if needed; files of the same names are replaced).</param>
    public void SaveHuggingFaceFolder(string folder)
    {
        var tokenizerFiles = Tokenizer.HuggingFaceFiles(); // refuses a tokenizer Hugging Face cannot read before anything is written
        PretrainedCheckpoint.SaveFolder(Encoder, folder);
        foreach (var (name, contents) in tokenizerFiles) Core.Training.Checkpoint.WriteAtomically(Path.Combine(folder, name), contents);
        if (!Encoder.Config.Pooler)
            Core.Training.Checkpoint.WriteAtomically(Path.Combine(folder, "sentence_bert_config.json"),
                System.Text.Encoding.UTF8.GetBytes(new System.Text.Json.Nodes.JsonObject { ["max_seq_length"] = Tokenizer.MaxTokens, ["do_lower_case"] = false }.ToJsonString()));
    }

    /// <summary>Refuses an initial encoder (a pretrained one, or <c>InitialModel</c>) whose vocabulary or positions do not fit <paramref name="tokenizer"/>.</summary>
    internal static void RequireFits(TransformerEncoder init, TextTokenizer tokenizer)
    {
        if (!tokenizer.FitsEmbedding(init.Config.VocabSize, init.Config.VocabularyMultiple))
            throw new ArgumentException($"InitialModel has a vocabulary of {init.Config.VocabSize}; the tokenizer's is {tokenizer.VocabularySize}.");
        if (tokenizer.MaxTokens > init.Config.MaxLength)
            throw new ArgumentException($"InitialModel handles {init.Config.MaxLength} positions; MaxTokens is {tokenizer.MaxTokens}.");
    }

    /// <summary>Throws unless a fitted model of <paramref name="config"/> can read what <paramref name="tokenizer"/> gives: its ids fit the embedding and its length the positions.</summary>
    internal static void RequireReads(TransformerConfig config, TextTokenizer tokenizer)
    {
        if (!tokenizer.FitsEmbedding(config.VocabSize, config.VocabularyMultiple))
            throw new ArgumentException($"The tokenizer's vocabulary ({tokenizer.VocabularySize}) does not fit the model's ({config.VocabSize}).", nameof(tokenizer));
        if (tokenizer.MaxTokens > config.MaxLength)
            throw new ArgumentException($"The tokenizer reads {tokenizer.MaxTokens} tokens; the model has {config.MaxLength} positions.", nameof(tokenizer));
    }

    /// <summary>
    /// Starts a new model from an initial encoder: each of <paramref name="target"/>'s tensors takes the encoder's tensor that
    /// <paramref name="source"/> names (null = none), where the encoder has it at the same size; the rest keep their initial values.
    /// </summary>
    internal static void CopyWeights(TransformerEncoder init, Core.Layers.ParameterSet target, Func<string, string?> source)
    {
        foreach (var t in target.Tensors)
            if (source(t.Name) is { } name && init.Parameters.Contains(init.Prefix + name) && init.Parameters[init.Prefix + name].Length == t.Length)
                init.Parameters[init.Prefix + name].Value.CopyTo(t.Value);
    }

    /// <summary>Whether <paramref name="folder"/> holds any of the files <see cref="TokenizerOf"/> reads.</summary>
    internal static bool HasTokenizer(string folder) => TokenizerFiles.Any(f => File.Exists(Path.Combine(folder, f)));

    private static readonly string[] TokenizerFiles = ["vocab.txt", "tokenizer.json", "vocab.json", "sentencepiece.bpe.model", "spiece.model", "spm.model"];

    /// <summary>A model folder's tokenizer: vocab.txt (casing from tokenizer_config.json; ESM's when it names EsmTokenizer), vocab.json + merges.txt, sentencepiece.bpe.model (XLM-RoBERTa's), spiece.model (ALBERT's), spm.model (DeBERTa-v2/v3's), or a WordPiece, byte-level BPE or Unigram tokenizer.json.</summary>
    internal static TextTokenizer TokenizerOf(string folder, int maxTokens)
    {
        string vocab = Path.Combine(folder, "vocab.txt"), json = Path.Combine(folder, "tokenizer.json");
        if (File.Exists(vocab) && NamesTokenizer(folder, "EsmTokenizer", "esm")) return TextTokenizer.FromEsmVocabulary(vocab, maxTokens);
        if (File.Exists(vocab))
        {
            if (NamesTokenizer(folder, "RoFormerTokenizer", "roformer")) RequireNoJiebaWords(vocab);
            var wordPiece = TextTokenizer.FromWordPieceVocabulary(vocab, maxTokens, LowerCase(folder), SpecialsOf(folder));
            if (File.Exists(json)) SameWordPieceVocabulary(vocab, json);
            return wordPiece;
        }
        string bpeVocab = Path.Combine(folder, "vocab.json"), merges = Path.Combine(folder, "merges.txt");
        if (File.Exists(bpeVocab) && File.Exists(merges)) // byte-level BPE: RoBERTa's, or DeBERTa's with BERT's specials
            return NamesTokenizer(folder, "DebertaTokenizer", "deberta")
                ? TextTokenizer.FromByteLevelBpeText(File.ReadAllText(bpeVocab), File.ReadAllText(merges), maxTokens, DebertaSpecials, $"'{bpeVocab}' / '{merges}'")
                : TextTokenizer.FromByteLevelBpeFiles(bpeVocab, merges, maxTokens);
        string sentencePiece = Path.Combine(folder, "sentencepiece.bpe.model");
        if (File.Exists(sentencePiece)) // XLM-RoBERTa's, or CamemBERT's numbering of the same kind of model
            return NamesTokenizer(folder, "CamembertTokenizer", "camembert")
                ? TextTokenizer.FromSentencePieceBytes(File.ReadAllBytes(sentencePiece), maxTokens, sentencePiece, SentencePieceLayout.Camembert)
                : TextTokenizer.FromSentencePieceModel(sentencePiece, maxTokens);
        string albert = Path.Combine(folder, "spiece.model");
        if (File.Exists(albert))
        {
            // AlbertTokenizer lower-cases and strips accents unless tokenizer_config.json says otherwise.
            string config = Path.Combine(folder, "tokenizer_config.json");
            return TextTokenizer.FromAlbertSentencePieceModel(albert, maxTokens, Setting(config, "do_lower_case")?.ValueKind != JsonValueKind.False,
                Setting(config, "keep_accents")?.ValueKind == JsonValueKind.True);
        }
        string deberta = Path.Combine(folder, "spm.model");
        if (File.Exists(deberta))
        {
            // DebertaV2Tokenizer: cased unless tokenizer_config.json says do_lower_case; punctuation split off first is not read.
            string config = Path.Combine(folder, "tokenizer_config.json");
            if (Setting(config, "split_by_punct")?.ValueKind == JsonValueKind.True)
                throw new NotSupportedException($"'{config}': split_by_punct is not supported (DeBERTa-v3's tokenizers leave it off).");
            return TextTokenizer.FromDebertaSentencePieceModel(deberta, maxTokens, Setting(config, "do_lower_case")?.ValueKind == JsonValueKind.True);
        }
        if (File.Exists(json)) return TokenizerJson.Read(json, maxTokens, SpecialsOf(folder));
        throw new FileNotFoundException($"Model folder '{folder}' has no vocab.txt, vocab.json + merges.txt, sentencepiece.bpe.model, spiece.model, spm.model or tokenizer.json.", vocab);
    }

    // A folder's vocab.txt and its tokenizer.json's WordPiece vocabulary must agree token by token: a line lost from the
    // vocab.txt shifts every id after it, which an embedding padded past the vocabulary (NomicBERT's) cannot reveal.
    private static void SameWordPieceVocabulary(string vocabPath, string jsonPath)
    {
        var lines = File.ReadAllLines(vocabPath);
        try
        {
            using var doc = JsonDocument.Parse(File.ReadAllBytes(jsonPath));
            if (!doc.RootElement.TryGetProperty("model", out var model) || model.ValueKind != JsonValueKind.Object
                || !model.TryGetProperty("type", out var type) || type.GetString() != "WordPiece" || !model.TryGetProperty("vocab", out var entries)) return;
            int count = 0;
            foreach (var entry in entries.EnumerateObject())
            {
                count++;
                int id = entry.Value.GetInt32();
                if (id < 0 || id >= lines.Length || lines[id] != entry.Name)
                    throw new InvalidDataException($"'{vocabPath}' and '{jsonPath}' disagree: tokenizer.json gives id {id} to '{entry.Name}', and vocab.txt {(id >= 0 && id < lines.Length ? $"line {id + 1} is '{lines[id]}'" : $"has {lines.Length} lines")}.");
            }
            if (count != lines.Length) throw new InvalidDataException($"'{vocabPath}' has {lines.Length} lines and '{jsonPath}' a WordPiece vocabulary of {count}; they disagree.");
        }
        catch (Exception e) when (e is JsonException or InvalidOperationException or FormatException)
        {
            throw new InvalidDataException($"'{jsonPath}' is not a tokenizer.json this reads: {e.Message}", e);
        }
    }

    // DeBERTa v1's tokenizer (DebertaTokenizer): GPT-2's byte-level BPE with BERT's specials in its vocab.json and pairs.
    private static readonly WordPieceSpecials DebertaSpecials = new("[CLS]", "[SEP]", "[PAD]", "[MASK]", "[UNK]", false);

    // RoFormer's tokenizer cuts text into jieba's words and keeps those its vocabulary holds whole, then tokenizes the rest
    // as BERT does: the same ids as BERT's rules unless the vocabulary holds words of several Chinese characters
    // (roformer_chinese_base's), which only jieba's segmentation finds. Those are refused rather than tokenized differently.
    private static void RequireNoJiebaWords(string vocab)
    {
        foreach (var line in File.ReadLines(vocab))
        {
            var word = line.TrimEnd('\r');
            if (word.StartsWith("##", StringComparison.Ordinal)) continue;
            var runes = word.EnumerateRunes().ToList();
            if (runes.Count > 1 && runes.Any(r => BertNormalizer.IsCjk(r.Value)))
                throw new NotSupportedException($"'{vocab}' holds words of several Chinese characters ('{word}'), which RoFormer's tokenizer finds with jieba's word segmentation; "
                    + "that segmentation is not available here, so its ids would differ. A character-level RoFormer vocabulary (roformer_chinese_char_base's) is read.");
        }
    }

    // Whether a folder's tokenizer is the one named (its files are read as another's would be: DeBERTa v1's vocab.json +
    // merges.txt as RoBERTa's, CamemBERT's sentencepiece.bpe.model as XLM-RoBERTa's): tokenizer_config.json names it (or
    // its fast form), or, without a tokenizer class, config.json's model_type is the model's.
    private static bool NamesTokenizer(string folder, string tokenizerClass, string modelType)
    {
        static string? Text(JsonElement? v) => v is { ValueKind: JsonValueKind.String } s ? s.GetString() : null;
        string? named = Text(Setting(Path.Combine(folder, "tokenizer_config.json"), "tokenizer_class"));
        return named is not null ? named.StartsWith(tokenizerClass, StringComparison.Ordinal)
            : Text(Setting(Path.Combine(folder, "config.json"), "model_type")) == modelType;
    }

    // A WordPiece vocabulary's special tokens: MPNet's when tokenizer_config.json names MPNet's tokenizer, or, without one,
    // when config.json's model_type is mpnet; BERT's otherwise.
    private static WordPieceSpecials? SpecialsOf(string folder) => NamesTokenizer(folder, "MPNetTokenizer", "mpnet") ? WordPieceSpecials.MPNet : null;

    /// <summary>An encoder read elsewhere (an ONNX graph) with a WordPiece <c>vocab.txt</c> (MPNet's specials for an MPNet encoder).</summary>
    /// <param name="loaded">The encoder.</param>
    /// <param name="vocabPath">Its vocab.txt.</param>
    /// <param name="lowerCase">Whether the vocabulary is uncased.</param>
    /// <param name="maxTokens">Length of the tokenizer's sequences; null = <see cref="DefaultMaxTokens"/>, or the encoder's positions if fewer.</param>
    /// <param name="name">What to call it.</param>
    public static PretrainedEncoder FromWordPiece(LoadedEncoder loaded, string vocabPath, bool lowerCase, int? maxTokens, string name) =>
        new(loaded.Encoder, TextTokenizer.FromWordPieceVocabulary(vocabPath, MaxTokens(maxTokens, loaded.Encoder), lowerCase,
            loaded.Family == Core.Pretrained.EncoderFamily.Mpnet ? WordPieceSpecials.MPNet : null), name);

    /// <summary>
    /// An encoder read elsewhere with its <c>vocab.txt</c>, lower-cased as the <c>tokenizer_config.json</c> beside the
    /// vocabulary says (<c>do_lower_case</c>; without that file, lower-cased, as Hugging Face's BERT tokenizer does).
    /// </summary>
    /// <param name="loaded">The encoder.</param>
    /// <param name="vocabPath">Its vocab.txt.</param>
    /// <param name="maxTokens">Length of the tokenizer's sequences; null = <see cref="DefaultMaxTokens"/>, or the encoder's positions if fewer.</param>
    /// <param name="name">What to call it.</param>
    public static PretrainedEncoder FromWordPiece(LoadedEncoder loaded, string vocabPath, int? maxTokens, string name) =>
        FromWordPiece(loaded, vocabPath, LowerCase(Path.GetDirectoryName(Path.GetFullPath(vocabPath))!), maxTokens, name);

    internal static int MaxTokens(int? asked, TransformerEncoder encoder) => asked ?? Math.Min(DefaultMaxTokens, encoder.Config.MaxLength);

    /// <summary>
    /// A task model's folder read with <paramref name="asked"/> tokens a sequence (null = <paramref name="fallback"/>, or the
    /// model's positions if fewer): more than the model's positions is refused naming the folder, since its config says so.
    /// </summary>
    internal static int MaxTokens(int? asked, int fallback, TransformerConfig config, string folder) =>
        asked is { } n && n > config.MaxLength
            ? throw new InvalidDataException($"Model folder '{folder}' has {config.MaxLength} positions (config.json); sequences of {n} tokens do not fit.")
            : asked ?? Math.Min(fallback, config.MaxLength);

    // tokenizer_config.json's do_lower_case; Hugging Face's BERT tokenizer lower-cases unless told not to.
    private static bool LowerCase(string folder) => Setting(Path.Combine(folder, "tokenizer_config.json"), "do_lower_case")?.ValueKind != JsonValueKind.False;

    // A top-level value of a small JSON file of the folder (tokenizer_config.json, config.json); null when the file or key is missing.
    private static JsonElement? Setting(string path, string key)
    {
        if (!File.Exists(path)) return null;
        try
        {
            using var doc = JsonDocument.Parse(File.ReadAllBytes(path));
            return doc.RootElement.ValueKind == JsonValueKind.Object && doc.RootElement.TryGetProperty(key, out var v) ? v.Clone() : null;
        }
        catch (JsonException e) { throw new InvalidDataException($"'{path}' is not valid JSON: {e.Message}", e); }
    }
}
