using MLNetTransformers.Classification;
using MLNetTransformers.Persistence;

namespace MLNetTransformers.TokenClassification;

/// <summary>One word of a tagged text: the word, where it starts, its tag and the tag's probability.</summary>
/// <param name="Word">The word (a whitespace-separated piece of the text).</param>
/// <param name="Start">Index of its first character in the text.</param>
/// <param name="Tag">Its tag.</param>
/// <param name="Probability">Softmax probability of the tag at the word's first token.</param>
public sealed record TaggedWord(string Word, int Start, string Tag, float Probability);

/// <summary>A run of words tagged as one entity (IOB2 tags: <c>B-X</c> opens an entity of type X, <c>I-X</c> continues it).</summary>
/// <param name="Type">The entity type (X of B-X).</param>
/// <param name="Text">The text from its first word's first character to its last word's last (its words joined by single spaces when no text is given).</param>
/// <param name="FirstWord">Index of its first word.</param>
/// <param name="LastWord">Index of its last word.</param>
/// <param name="Start">Index of its first character in the text.</param>
/// <param name="End">Index just past its last character in the text.</param>
/// <param name="Probability">The mean probability of its words' tags.</param>
public sealed record TaggedEntity(string Type, string Text, int FirstWord, int LastWord, int Start, int End, float Probability);

/// <summary>
/// Tags every word of a text (named entities, parts of speech), as Hugging Face's <c>token-classification</c> pipeline:
/// the words are the text's whitespace-separated pieces, each tagged at its first token; a text longer than the tokenizer's
/// length is read in windows of whole words overlapping by up to half a window, each word in the window that gives it the
/// most context. As an ML.NET transformer it adds
/// <c>{output}</c> (default <c>PredictedLabel</c>), a vector of text with one tag per word. Made by
/// <see cref="TokenClassificationTrainer"/>, or from a Hugging Face <c>*ForTokenClassification</c> folder
/// (<see cref="FromHuggingFaceFolder"/>); saved with <c>TransformerModel.Save</c>.
/// </summary>
public sealed class TokenClassificationTransformer : LazyRowTransformer, IModelPart, IModelPartLoader<TokenClassificationTransformer>, IDisposable
{
    static string IModelPartLoader<TokenClassificationTransformer>.Kind => "token_classifier";

    private sealed record TokenClassifierRecord(string Tokenizer, string Checkpoint, string[] Tags, string Input, string Output, string? Label);

    object IModelPart.SavePart(ModelPartWriter w) => new TokenClassifierRecord(w.Tokenizer(Tokenizer), w.Checkpoint(Model), Tags.ToArray(), InputColumnName, OutputColumnName, LabelColumnName);

    static ITransformer IModelPartLoader<TokenClassificationTransformer>.LoadPart(ModelPartReader r)
    {
        var rec = r.Record<TokenClassifierRecord>();
        return new TokenClassificationTransformer(r.Tokenizer(rec.Tokenizer), r.Checkpoint<TransformerTokenClassifier>(rec.Checkpoint), rec.Tags, rec.Input, rec.Output) { LabelColumnName = rec.Label };
    }

    private readonly ReplicaPool<TransformerTokenClassifier> _replicas;

    /// <summary>Tags words with <paramref name="model"/> (its weights are read, never changed).</summary>
    /// <param name="tokenizer">The model's tokenizer.</param>
    /// <param name="model">A token classifier.</param>
    /// <param name="tags">The model's tags, in output order.</param>
    /// <param name="inputColumnName">Text column read.</param>
    /// <param name="outputColumnName">Column of the tags written, one per word.</param>
    public TokenClassificationTransformer(TextTokenizer tokenizer, TransformerTokenClassifier model, IReadOnlyList<string> tags,
        string inputColumnName = DefaultColumnNames.Text, string outputColumnName = DefaultColumnNames.PredictedLabel)
    {
        ArgumentNullException.ThrowIfNull(tokenizer);
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(tags);
        PretrainedEncoder.RequireReads(model.Config, tokenizer);
        if (tags.Count != model.Outputs) throw new ArgumentException($"{tags.Count} tags were given for a model of {model.Outputs}.", nameof(tags));
        (Tokenizer, Model, Tags, InputColumnName, OutputColumnName) = (tokenizer, model, tags.ToArray(), inputColumnName, outputColumnName);
        _replicas = new ReplicaPool<TransformerTokenClassifier>(model.Copy);
    }

    private TokenClassificationTransformer(TokenClassificationTransformer source) : this(source.Tokenizer, source.Model, source.Tags, source.InputColumnName, source.OutputColumnName)
    {
        (LabelColumnName, TrainingSummary, IsInt8) = (source.LabelColumnName, source.TrainingSummary, true);
        _replicas = new ReplicaPool<TransformerTokenClassifier>(() =>
        {
            var copy = source.Model.Copy();
            Int8Quantization.Quantize(copy.Encoder);
            return copy;
        });
    }

    /// <summary>
    /// The same tagger running its encoder's linear layers in int8 (<see cref="Int8Quantization"/>: weights per output
    /// channel, inputs per row; the head stays float). The float weights are what is saved and exported; call this again
    /// after loading.
    /// </summary>
    public TokenClassificationTransformer WithInt8Inference() => IsInt8 ? this : new TokenClassificationTransformer(this);

    /// <summary>Whether this tagger runs int8 (<see cref="WithInt8Inference"/>).</summary>
    public bool IsInt8 { get; }

    /// <summary>Computes the logits instead of the managed engine when set (ONNX Runtime, through <c>UseOnnxRuntime</c> in MLNetTransformers.Onnx); null = the managed engine.</summary>
    public ITokenLogitsBackend? Backend { get; private init; }

    /// <summary>The same tagger computing its logits with <paramref name="backend"/> (null = the managed engine, in float).</summary>
    /// <param name="backend">The backend; null = the managed engine.</param>
    public TokenClassificationTransformer WithBackend(ITokenLogitsBackend? backend) =>
        new(Tokenizer, Model, Tags, InputColumnName, OutputColumnName) { LabelColumnName = LabelColumnName, TrainingSummary = TrainingSummary, Backend = backend };

    /// <summary>Releases the <see cref="Backend"/> (an ONNX Runtime session) when it holds one.</summary>
    public void Dispose() => (Backend as IDisposable)?.Dispose();

    /// <summary>
    /// A Hugging Face <c>*ForTokenClassification</c> folder (e.g. a named-entity tagger fine-tuned from BERT, RoBERTa,
    /// DistilBERT, ELECTRA or DeBERTa) with its tokenizer; its tags are config.json's <c>id2label</c>.
    /// </summary>
    /// <param name="folder">The model folder.</param>
    /// <param name="maxTokens">Longest sequence read; null = 128, or the model's positions if fewer.</param>
    public static TokenClassificationTransformer FromHuggingFaceFolder(string folder, int? maxTokens = null)
    {
        return FromLoaded(Core.Pretrained.PretrainedCheckpoint.LoadTokenClassifierFolder(folder), folder, maxTokens);
    }

    // A tagger read elsewhere (a folder's weights, an ONNX export) with the tokenizer of the folder beside it.
    internal static TokenClassificationTransformer FromLoaded(Core.Pretrained.LoadedTokenClassifier loaded, string folder, int? maxTokens)
    {
        return new TokenClassificationTransformer(PretrainedEncoder.TokenizerOf(folder, PretrainedEncoder.MaxTokens(maxTokens, PretrainedEncoder.DefaultMaxTokens, loaded.Model.Config, folder)),
            loaded.Model, loaded.Labels);
    }

    /// <summary>
    /// Writes the model and its tokenizer as a Hugging Face <c>*ForTokenClassification</c> folder that
    /// <see cref="FromHuggingFaceFolder"/> and transformers' <c>AutoModelForTokenClassification</c> read back.
    /// </summary>
    /// <param name="folder">The folder to write (created if needed; files of the same names are replaced).</param>
    public void SaveHuggingFaceFolder(string folder)
    {
        var tokenizerFiles = Tokenizer.HuggingFaceFiles(); // refuses a tokenizer Hugging Face cannot read before anything is written
        Core.Pretrained.PretrainedCheckpoint.SaveTokenClassifierFolder(Model, Tags, folder);
        foreach (var (name, contents) in tokenizerFiles) Checkpoint.WriteAtomically(Path.Combine(folder, name), contents);
    }

    /// <summary>The tokenizer.</summary>
    public TextTokenizer Tokenizer { get; }
    /// <summary>The token classifier.</summary>
    public TransformerTokenClassifier Model { get; }
    /// <summary>The tags, in the model's output order.</summary>
    public IReadOnlyList<string> Tags { get; }
    /// <summary>Text column read.</summary>
    public string InputColumnName { get; }
    /// <summary>Tag column written (a vector of text, one tag per word).</summary>
    public string OutputColumnName { get; }
    /// <summary>The label column the model was trained on, when a trainer made it.</summary>
    public string? LabelColumnName { get; init; }
    /// <summary>Steps, stop reason, best validation tag accuracy and duration of the training run, when a trainer made it.</summary>
    public TrainingSummary? TrainingSummary { get; init; }

    /// <summary>Each word of <paramref name="text"/> with its tag (thread-safe).</summary>
    /// <param name="text">The text; its words are its whitespace-separated pieces.</param>
    public IReadOnlyList<TaggedWord> Predict(string? text) => TagAll([text])[0];

    // Each text's tagged words: the texts' windows in batches, each word taken from the window it is read in.
    private IReadOnlyList<TaggedWord>[] TagAll(IReadOnlyList<string?> texts)
    {
        const int bs = 32;
        var split = texts.Select(WordTokens.Split).ToArray();
        var rows = Enumerable.Range(0, texts.Count).Where(i => split[i].Words.Length > 0).ToArray();
        var tagged = split.Select(s => new TaggedWord[s.Words.Length]).ToArray();
        var tokens = new WordTokens(Tokenizer, rows.Select(i => split[i].Words).ToArray(), overlap: true);
        int classes = Model.Outputs, count = tokens.Windows.Count;
        var (ids, mask) = (new int[bs * Tokenizer.MaxTokens], new int[bs * Tokenizer.MaxTokens]);
        for (int from = 0; from < count; from += bs)
        {
            var chunk = Enumerable.Range(from, Math.Min(bs, count - from)).ToArray();
            var batch = Batcher.Pack(tokens.Encoded, chunk, ids, mask, null);
            int t = batch.SeqLen, n = chunk.Length * t * classes;
            var probabilities = new float[n];
            if (Backend is { } backend) Softmax.Forward(backend.Logits(batch).AsSpan(0, n), probabilities, chunk.Length * t, classes);
            else _replicas.Use(m => { Softmax.Forward(m.Forward(batch).AsSpan(0, n), probabilities, chunk.Length * t, classes); return 0; });
            for (int c = 0; c < chunk.Length; c++)
            {
                int k = chunk[c];
                var (r, firstWord, words) = tokens.Windows[k];
                var (text, row) = (split[rows[r]], tagged[rows[r]]);
                for (int j = 0; j < words; j++)
                {
                    int w = firstWord + j;
                    if (tokens.Reading![r][w] != k) continue; // this word is read in another window
                    var p = probabilities.AsSpan((c * t + tokens.FirstPieces[k][j]) * classes, classes);
                    int best = System.Numerics.Tensors.TensorPrimitives.IndexOfMax(p);
                    row[w] = new TaggedWord(text.Words[w], text.Starts[w], Tags[best], p[best]);
                }
            }
        }
        return tagged;
    }

    /// <summary>
    /// The entities of <paramref name="text"/> from its words' IOB2 tags, as Hugging Face's pipeline groups them with
    /// <c>aggregation_strategy="simple"</c>: <c>B-X</c> opens an entity of type X, <c>I-X</c> continues one of type X (or opens
    /// one after another type or <c>O</c>); tags without a B-/I- prefix are each their own entity, except <c>O</c>.
    /// </summary>
    /// <param name="text">The text.</param>
    public IReadOnlyList<TaggedEntity> Entities(string? text) => EntitiesOf(Predict(text), text);

    /// <summary>The entities that tagged words make, grouped as <see cref="Entities"/> groups them (e.g. words from <see cref="Predict"/>).</summary>
    /// <param name="words">Tagged words, in text order.</param>
    /// <param name="text">The text they are words of, for each entity's <see cref="TaggedEntity.Text"/> as written; null = the words joined by spaces.</param>
    public static IReadOnlyList<TaggedEntity> EntitiesOf(IReadOnlyList<TaggedWord> words, string? text = null)
    {
        ArgumentNullException.ThrowIfNull(words);
        var entities = new List<TaggedEntity>();
        int start = -1;
        string? type = null;
        void Close(int end)
        {
            if (type is null) return;
            var span = words.Skip(start).Take(end - start).ToArray();
            int from = span[0].Start, to = span[^1].Start + span[^1].Word.Length;
            string written = text is not null && to <= text.Length ? text[from..to] : string.Join(' ', span.Select(w => w.Word));
            entities.Add(new TaggedEntity(type, written, start, end - 1, from, to, span.Average(w => w.Probability)));
            type = null;
        }
        for (int i = 0; i < words.Count; i++)
        {
            string tag = words[i].Tag;
            bool inside = tag.StartsWith("I-", StringComparison.Ordinal), begin = tag.StartsWith("B-", StringComparison.Ordinal);
            string? kind = inside || begin ? tag[2..] : tag is "O" or "" ? null : tag;
            if (inside && kind == type) continue;
            Close(i);
            if (kind is not null) (start, type) = (i, kind);
        }
        Close(words.Count);
        return entities;
    }

    /// <summary>
    /// Scores this tagger on labelled data as seqeval does (entity precision, recall and F1 for IOB2 tags, and tag accuracy):
    /// the text column's words tagged, against the label column's tags (a vector of text, one per word).
    /// </summary>
    /// <param name="data">Texts and their gold tags.</param>
    /// <param name="labelColumnName">The gold tags; null = the column the model was trained on, else <c>Label</c>.</param>
    public Metrics.TaggingMetrics Evaluate(IDataView data, string? labelColumnName = null)
    {
        ArgumentNullException.ThrowIfNull(data);
        var rows = TokenClassificationTrainer.Read(data, InputColumnName, labelColumnName ?? LabelColumnName ?? DefaultColumnNames.Label, "evaluation data");
        var predicted = new IReadOnlyList<string>[rows.Count];
        Parallel.For(0, rows.Count, i => predicted[i] = Predict(string.Join(' ', rows[i].Words)).Select(w => w.Tag).ToArray());
        return Metrics.TaggingMetrics.Compute(rows.Select(r => (IReadOnlyList<string>)r.Tags).ToArray(), predicted);
    }

    /// <inheritdoc/>
    private protected override ColumnMapper CreateMapper(DataViewSchema inputSchema) => new Mapper(this, inputSchema);

    private sealed class Mapper(TokenClassificationTransformer p, DataViewSchema input) : TextColumnMapper(input, p.InputColumnName,
    [
        new DataViewSchema.DetachedColumn(p.OutputColumnName, new VectorDataViewType(TextDataViewType.Instance)),
    ])
    {
        public override Delegate?[] CreateGetters(RowContext row, bool[] active)
        {
            // Rows tagged in batches (read ahead when the cursor walks its source in order).
            var batched = new BatchedRows<string?, IReadOnlyList<TaggedWord>>(row, [Text], 1, BatchedRows<string?, IReadOnlyList<TaggedWord>>.Text(Text),
                (texts, results) => p.TagAll(texts).CopyTo(results, 0));
            return
            [
                active[0] ? (ValueGetter<VBuffer<ReadOnlyMemory<char>>>)((ref VBuffer<ReadOnlyMemory<char>> dst) =>
                {
                    var tags = batched.Current()[0].Select(w => w.Tag.AsMemory()).ToArray();
                    dst = new VBuffer<ReadOnlyMemory<char>>(tags.Length, tags);
                }) : null,
            ];
        }
    }
}
