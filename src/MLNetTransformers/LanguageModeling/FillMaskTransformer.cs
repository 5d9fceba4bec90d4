using MLNetTransformers.Persistence;

namespace MLNetTransformers.LanguageModeling;

/// <summary>One candidate for a masked position: the token, its id and its probability.</summary>
/// <param name="Token">The token as the vocabulary spells it (WordPiece continuations keep their <c>##</c>).</param>
/// <param name="Id">Its id.</param>
/// <param name="Probability">Softmax probability over the whole vocabulary.</param>
public sealed record TokenCandidate(string Token, int Id, float Probability);

/// <summary>The candidates for one mask token of a text, best first.</summary>
/// <param name="Position">Index of the mask in the encoded sequence ([CLS] is 0).</param>
/// <param name="Candidates">The top-k tokens.</param>
public sealed record MaskPrediction(int Position, IReadOnlyList<TokenCandidate> Candidates);

/// <summary>
/// Fill-mask, as Hugging Face's <c>fill-mask</c> pipeline: for each mask token in a text (<c>[MASK]</c>, RoBERTa's
/// <c>&lt;mask&gt;</c>), the top-k tokens of a masked language model and their probabilities. Works with Hugging Face
/// checkpoints that carry their masked-LM head (<see cref="FromHuggingFaceFolder"/>) and with the library's own masked-LM
/// pretraining (<see cref="Featurization.EncoderFeaturizerTransformer.MaskedLanguageModel"/>). As an ML.NET transformer it adds
/// <c>{output}</c> (text vector: top-k tokens for the first mask, then the next…) and <c>{output}Probabilities</c>
/// (their probabilities); a row without a mask gets empty vectors.
/// </summary>
public sealed class FillMaskTransformer : LazyRowTransformer, IModelPart, IModelPartLoader<FillMaskTransformer>
{
    static string IModelPartLoader<FillMaskTransformer>.Kind => "fill_mask";

    private sealed record FillMaskRecord(string Tokenizer, string Checkpoint, string Input, string Output, int TopK);

    object IModelPart.SavePart(ModelPartWriter w) => new FillMaskRecord(w.Tokenizer(Tokenizer), w.Checkpoint(Model), InputColumnName, OutputColumnName, TopK);

    static ITransformer IModelPartLoader<FillMaskTransformer>.LoadPart(ModelPartReader r)
    {
        var rec = r.Record<FillMaskRecord>();
        return new FillMaskTransformer(r.Tokenizer(rec.Tokenizer), r.Checkpoint<MaskedLanguageModel>(rec.Checkpoint), rec.TopK, rec.Input, rec.Output);
    }

    private readonly ReplicaPool<MaskedLanguageModel> _replicas;

    /// <summary>Fills masks with <paramref name="model"/> (its weights are read, never changed).</summary>
    /// <param name="tokenizer">The model's tokenizer.</param>
    /// <param name="model">A masked language model.</param>
    /// <param name="topK">Candidates per mask.</param>
    /// <param name="inputColumnName">Text column read.</param>
    /// <param name="outputColumnName">Column of the candidate tokens (and, with the suffix <c>Probabilities</c>, of their probabilities).</param>
    public FillMaskTransformer(TextTokenizer tokenizer, MaskedLanguageModel model, int topK = 5, string inputColumnName = DefaultColumnNames.Text, string outputColumnName = DefaultColumnNames.FilledTokens)
    {
        ArgumentNullException.ThrowIfNull(tokenizer);
        ArgumentNullException.ThrowIfNull(model);
        if (tokenizer.VocabularySize != model.Config.VocabSize)
            throw new ArgumentException($"The tokenizer's vocabulary ({tokenizer.VocabularySize}) does not match the model's ({model.Config.VocabSize}).", nameof(tokenizer));
        tokenizer.RequireMaskId("fill-mask");
        if (topK < 1 || topK > model.Config.VocabSize) throw new ArgumentOutOfRangeException(nameof(topK), topK, $"topK must be between 1 and the vocabulary size ({model.Config.VocabSize}).");
        (Tokenizer, Model, TopK, InputColumnName, OutputColumnName) = (tokenizer, model, topK, inputColumnName, outputColumnName);
        _replicas = new ReplicaPool<MaskedLanguageModel>(model.Copy);
    }

    /// <summary>
    /// A Hugging Face folder whose checkpoint carries its masked-LM head (<c>cls.predictions.*</c> of
    /// <c>BertForMaskedLM</c> or <c>BertForPreTraining</c>; RoBERTa's <c>lm_head.*</c>; DistilBERT's <c>vocab_*</c>) and its tokenizer.
    /// </summary>
    /// <param name="folder">The model folder.</param>
    /// <param name="topK">Candidates per mask.</param>
    /// <param name="maxTokens">Longest sequence read; null = 128, or the model's positions if fewer.</param>
    public static FillMaskTransformer FromHuggingFaceFolder(string folder, int topK = 5, int? maxTokens = null)
    {
        var model = Core.Pretrained.PretrainedCheckpoint.LoadMaskedLanguageModelFolder(folder);
        return new FillMaskTransformer(PretrainedEncoder.TokenizerOf(folder, PretrainedEncoder.MaxTokens(maxTokens, model.Encoder)), model, topK);
    }

    /// <summary>The tokenizer.</summary>
    public TextTokenizer Tokenizer { get; }
    /// <summary>The masked language model.</summary>
    public MaskedLanguageModel Model { get; }
    /// <summary>Candidates per mask.</summary>
    public int TopK { get; }
    /// <summary>Text column read.</summary>
    public string InputColumnName { get; }
    /// <summary>Candidate tokens column written (probabilities in <c>{OutputColumnName}Probabilities</c>).</summary>
    public string OutputColumnName { get; }
    /// <summary>How a mask is written in text for this tokenizer: <c>[MASK]</c>, or RoBERTa's <c>&lt;mask&gt;</c>.</summary>
    public string MaskToken => Tokenizer.RobertaPairs ? "<mask>" : Tokenizer.TokenText(Tokenizer.MaskId);

    /// <summary>The top-k candidates for every mask token of <paramref name="text"/>, in order (thread-safe).</summary>
    /// <param name="text">A text holding at least one mask token.</param>
    /// <param name="topK">Candidates per mask; null = <see cref="TopK"/>.</param>
    public IReadOnlyList<MaskPrediction> Predict(string text, int? topK = null)
    {
        ArgumentNullException.ThrowIfNull(text);
        var result = Fill(text, topK ?? TopK);
        if (result.Count == 0) throw new ArgumentException($"The text has no {MaskToken} to fill: '{(text.Length > 60 ? text[..60] + "…" : text)}'.", nameof(text));
        return result;
    }

    // The text's ids with the mask token as the mask id: the pieces between masks are tokenized on their own, so the
    // mask is never split by the tokenizer (RoBERTa's <mask> also takes the space before it, as its tokenizer does).
    private List<MaskPrediction> Fill(string text, int k)
    {
        if (k < 1) throw new ArgumentOutOfRangeException(nameof(k), k, "topK must be at least 1.");
        var pieces = text.Split(MaskToken);
        if (pieces.Length == 1) return [];
        var ids = new List<int> { Tokenizer.ClsId };
        for (int i = 0; i < pieces.Length; i++)
        {
            string piece = Tokenizer.MaskTakesPrecedingSpace && i < pieces.Length - 1 ? pieces[i].TrimEnd() : pieces[i];
            ids.AddRange(Tokenizer.EncodeAll(piece));
            if (i < pieces.Length - 1) ids.Add(Tokenizer.MaskId);
        }
        ids.Add(Tokenizer.SepId);
        int max = Math.Min(Tokenizer.MaxTokens, Model.Config.MaxLength);
        if (ids.Count > max) throw new ArgumentException($"The text is {ids.Count} tokens long; this model reads at most {max}.", nameof(text));
        var positions = Enumerable.Range(0, ids.Count).Where(p => ids[p] == Tokenizer.MaskId).ToArray();
        int v = Model.Config.VocabSize;
        var logits = _replicas.Use(m =>
        {
            var all = m.Forward(new TokenBatch(1, ids.Count, ids.ToArray())); // [T, vocab], the model's buffer
            return positions.SelectMany(p => all.AsSpan(p * v, v).ToArray()).ToArray();
        });
        var predictions = new List<MaskPrediction>();
        var probs = new float[v];
        for (int m = 0; m < positions.Length; m++)
        {
            Softmax.Forward(logits.AsSpan(m * v, v), probs, 1, v);
            var best = Enumerable.Range(0, v).OrderByDescending(i => probs[i]).ThenBy(i => i).Take(Math.Min(k, v));
            predictions.Add(new MaskPrediction(positions[m], best.Select(i => new TokenCandidate(Tokenizer.TokenText(i), i, probs[i])).ToArray()));
        }
        return predictions;
    }

    /// <inheritdoc/>
    private protected override ColumnMapper CreateMapper(DataViewSchema inputSchema) => new Mapper(this, inputSchema);

    private sealed class Mapper(FillMaskTransformer p, DataViewSchema input) : TextColumnMapper(input, p.InputColumnName,
    [
        new DataViewSchema.DetachedColumn(p.OutputColumnName, new VectorDataViewType(TextDataViewType.Instance)),
        new DataViewSchema.DetachedColumn(p.OutputColumnName + "Probabilities", new VectorDataViewType(NumberDataViewType.Single)),
    ])
    {
        public override Delegate?[] CreateGetters(RowContext row, bool[] active)
        {
            var text = row.Input.GetGetter<ReadOnlyMemory<char>>(Text);
            long cached = -1;
            List<MaskPrediction> current = [];
            List<MaskPrediction> Current()
            {
                if (cached != row.Input.Position)
                {
                    ReadOnlyMemory<char> t = default;
                    text(ref t);
                    current = p.Fill(t.ToString(), p.TopK);
                    cached = row.Input.Position;
                }
                return current;
            }
            return
            [
                active[0] ? (ValueGetter<VBuffer<ReadOnlyMemory<char>>>)((ref VBuffer<ReadOnlyMemory<char>> dst) =>
                {
                    var c = Current().SelectMany(m => m.Candidates).Select(x => x.Token.AsMemory()).ToArray();
                    dst = new VBuffer<ReadOnlyMemory<char>>(c.Length, c);
                }) : null,
                active[1] ? (ValueGetter<VBuffer<float>>)((ref VBuffer<float> dst) =>
                {
                    var c = Current().SelectMany(m => m.Candidates).Select(x => x.Probability).ToArray();
                    dst = new VBuffer<float>(c.Length, c);
                }) : null,
            ];
        }
    }
}
