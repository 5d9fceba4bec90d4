using MLNetTransformers.Classification;
using MLNetTransformers.Persistence;

namespace MLNetTransformers.QuestionAnswering;

/// <summary>An answer taken from a context: its text, where it is, and how sure the model is of it.</summary>
/// <param name="Text">The answer as written in the context.</param>
/// <param name="Start">Index of its first character in the context.</param>
/// <param name="End">Index just past its last character.</param>
/// <param name="Score">The probability of its first token as the start times that of its last as the end, in the window it was read from (as transformers' pipeline scores answers).</param>
public sealed record ExtractedAnswer(string Text, int Start, int End, float Score);

/// <summary>
/// Answers questions from a context by pointing at the answer in it (extractive question answering, as Hugging Face's
/// <c>question-answering</c> pipeline and Microsoft.ML.TorchSharp's question-answering trainer): the encoder reads
/// <c>[CLS] question [SEP] context [SEP]</c>, gives every context token a start and an end probability, and an answer is
/// the span of whole context words (punctuation at a word's ends is a word of its own) whose start and end probabilities
/// multiply highest, at most <see cref="MaxAnswerTokens"/> tokens long. A context longer than fits is read in windows that
/// overlap by up to <see cref="DocumentStride"/> tokens, and answers are ranked across them. As an ML.NET transformer it
/// reads the <c>Question</c> and <c>Context</c> columns and adds <c>Answer</c> (a vector of text, the best
/// <see cref="TopK"/> answers, best first) and <c>Score</c> (a vector of their scores). Made by
/// <see cref="QuestionAnsweringTrainer"/>, or from a Hugging Face <c>*ForQuestionAnswering</c> folder
/// (<see cref="FromHuggingFaceFolder"/>); saved with <c>TransformerModel.Save</c>.
/// </summary>
public sealed class QuestionAnsweringTransformer : LazyRowTransformer, IModelPart, IModelPartLoader<QuestionAnsweringTransformer>, IDisposable
{
    static string IModelPartLoader<QuestionAnsweringTransformer>.Kind => "question_answerer";

    private sealed record QuestionAnswererRecord(string Tokenizer, string Checkpoint, string Context, string Question, string Answer, string Score,
        int TopK, int MaxAnswerTokens, int MaxQuestionTokens, int DocumentStride, bool AllowNoAnswer, string? TrainingAnswer, float NoAnswerThreshold = 0f);

    object IModelPart.SavePart(ModelPartWriter w) => new QuestionAnswererRecord(w.Tokenizer(Tokenizer), w.Checkpoint(Model), ContextColumnName, QuestionColumnName,
        AnswerColumnName, ScoreColumnName, TopK, MaxAnswerTokens, MaxQuestionTokens, DocumentStride, AllowNoAnswer, TrainingAnswerColumnName, NoAnswerThreshold);

    static ITransformer IModelPartLoader<QuestionAnsweringTransformer>.LoadPart(ModelPartReader r)
    {
        var rec = r.Record<QuestionAnswererRecord>();
        return new QuestionAnsweringTransformer(r.Tokenizer(rec.Tokenizer), r.Checkpoint<TransformerQuestionAnswerer>(rec.Checkpoint), rec.Context, rec.Question, rec.Answer,
            rec.Score, rec.TopK, rec.MaxAnswerTokens, rec.MaxQuestionTokens, rec.DocumentStride, rec.AllowNoAnswer, rec.NoAnswerThreshold) { TrainingAnswerColumnName = rec.TrainingAnswer };
    }

    private readonly ReplicaPool<TransformerQuestionAnswerer> _replicas;

    /// <summary>Answers questions with <paramref name="model"/> (its weights are read, never changed).</summary>
    /// <param name="tokenizer">The model's tokenizer; its length is a window's (question and context together).</param>
    /// <param name="model">A question answerer.</param>
    /// <param name="contextColumnName">The context column read.</param>
    /// <param name="questionColumnName">The question column read.</param>
    /// <param name="answerColumnName">The answers column written (a vector of text, best first).</param>
    /// <param name="scoreColumnName">The scores column written (a vector of floats, one per answer).</param>
    /// <param name="topK">Answers per question.</param>
    /// <param name="maxAnswerTokens">The longest answer considered, in tokens.</param>
    /// <param name="maxQuestionTokens">The question is cut to this many tokens (and half a window).</param>
    /// <param name="documentStride">The most tokens two windows of a long context share.</param>
    /// <param name="allowNoAnswer">Rank "no answer" (an empty text) among the answers, scored by the [CLS] token's start and end probabilities (SQuAD 2.0).</param>
    /// <param name="noAnswerThreshold">
    /// With <paramref name="allowNoAnswer"/>: "no answer" ranks above an answer only when ln(its score / the answer's) is
    /// above this (transformers' <c>null_score_diff_threshold</c>; 0 = by score alone); <see cref="TuneNoAnswerThreshold"/> finds one.
    /// </param>
    public QuestionAnsweringTransformer(TextTokenizer tokenizer, TransformerQuestionAnswerer model, string contextColumnName = DefaultColumnNames.Context,
        string questionColumnName = DefaultColumnNames.Question, string answerColumnName = DefaultColumnNames.Answer, string scoreColumnName = DefaultColumnNames.Score,
        int topK = 3, int maxAnswerTokens = 30, int maxQuestionTokens = 64, int documentStride = 128, bool allowNoAnswer = false, float noAnswerThreshold = 0f)
    {
        if (!float.IsFinite(noAnswerThreshold)) throw new ArgumentOutOfRangeException(nameof(noAnswerThreshold), noAnswerThreshold, "The no-answer threshold must be a finite number.");
        ArgumentNullException.ThrowIfNull(tokenizer);
        ArgumentNullException.ThrowIfNull(model);
        PretrainedEncoder.RequireReads(model.Config, tokenizer);
        RequireRoom(tokenizer);
        foreach (var (value, name) in new[] { (topK, nameof(topK)), (maxAnswerTokens, nameof(maxAnswerTokens)), (maxQuestionTokens, nameof(maxQuestionTokens)) })
            if (value <= 0) throw new ArgumentOutOfRangeException(name, value, $"{name} must be positive.");
        ArgumentOutOfRangeException.ThrowIfNegative(documentStride);
        (Tokenizer, Model, ContextColumnName, QuestionColumnName, AnswerColumnName, ScoreColumnName) = (tokenizer, model, contextColumnName, questionColumnName, answerColumnName, scoreColumnName);
        (TopK, MaxAnswerTokens, MaxQuestionTokens, DocumentStride, AllowNoAnswer, NoAnswerThreshold) = (topK, maxAnswerTokens, maxQuestionTokens, documentStride, allowNoAnswer, noAnswerThreshold);
        _replicas = new ReplicaPool<TransformerQuestionAnswerer>(model.Copy);
    }

    /// <summary>Throws unless <paramref name="tokenizer"/>'s sequences hold a question and a context (at least 8 tokens).</summary>
    internal static void RequireRoom(TextTokenizer tokenizer)
    {
        if (tokenizer.MaxTokens < 8) throw new ArgumentException($"The tokenizer reads {tokenizer.MaxTokens} tokens: a question and a context need at least 8.", nameof(tokenizer));
    }

    private QuestionAnsweringTransformer(QuestionAnsweringTransformer source) : this(source.Tokenizer, source.Model, source.ContextColumnName, source.QuestionColumnName,
        source.AnswerColumnName, source.ScoreColumnName, source.TopK, source.MaxAnswerTokens, source.MaxQuestionTokens, source.DocumentStride, source.AllowNoAnswer,
        source.NoAnswerThreshold)
    {
        (TrainingAnswerColumnName, TrainingSummary, IsInt8) = (source.TrainingAnswerColumnName, source.TrainingSummary, true);
        _replicas = new ReplicaPool<TransformerQuestionAnswerer>(() =>
        {
            var copy = source.Model.Copy();
            Int8Quantization.Quantize(copy.Encoder);
            return copy;
        });
    }

    /// <summary>
    /// The same reader running its encoder's linear layers in int8 (<see cref="Int8Quantization"/>; the output layer stays
    /// float). The float weights are what is saved and exported; call this again after loading.
    /// </summary>
    public QuestionAnsweringTransformer WithInt8Inference() => IsInt8 ? this : new QuestionAnsweringTransformer(this);

    /// <summary>The same reader with <see cref="AllowNoAnswer"/> set as given (int8 kept).</summary>
    /// <param name="allow">Whether "no answer" is ranked among the answers.</param>
    public QuestionAnsweringTransformer WithNoAnswer(bool allow)
    {
        if (allow == AllowNoAnswer) return this;
        var copy = Copy(allow, NoAnswerThreshold, Backend);
        return IsInt8 ? copy.WithInt8Inference() : copy;
    }

    /// <summary>
    /// The same reader ranking "no answer" among its answers with <paramref name="threshold"/> (<see cref="NoAnswerThreshold"/>;
    /// int8 and backend kept): the best of <see cref="TuneNoAnswerThreshold"/>'s, say.
    /// </summary>
    /// <param name="threshold">"No answer" ranks above an answer only when ln(its score / the answer's) is above this.</param>
    /// <example>
    /// <code>
    /// var thresholds = reader.TuneNoAnswerThreshold(validation);   // questions with known answers, some with none
    /// reader = reader.WithNoAnswerThreshold(thresholds.BestF1Threshold);
    /// </code>
    /// </example>
    public QuestionAnsweringTransformer WithNoAnswerThreshold(float threshold)
    {
        if (!float.IsFinite(threshold)) throw new ArgumentOutOfRangeException(nameof(threshold), threshold, "The no-answer threshold must be a finite number.");
        var copy = Copy(true, threshold, Backend);
        return IsInt8 ? copy.WithInt8Inference() : copy;
    }

    /// <summary>
    /// With <see cref="AllowNoAnswer"/>: "no answer" ranks above an answer only when ln(its score / the answer's) is above
    /// this, the [CLS] token's start and end logits less the answer's in the window that scored both (transformers'
    /// <c>null_score_diff_threshold</c>); 0 = by score alone.
    /// </summary>
    public float NoAnswerThreshold { get; }

    // This reader's settings, "no answer" and backend as given, in float.
    private QuestionAnsweringTransformer Copy(bool allowNoAnswer, float threshold, TokenClassification.ITokenLogitsBackend? backend) =>
        new(Tokenizer, Model, ContextColumnName, QuestionColumnName, AnswerColumnName, ScoreColumnName, TopK, MaxAnswerTokens, MaxQuestionTokens, DocumentStride, allowNoAnswer, threshold)
        { TrainingAnswerColumnName = TrainingAnswerColumnName, TrainingSummary = TrainingSummary, Backend = backend };

    /// <summary>Whether this reader runs int8 (<see cref="WithInt8Inference"/>).</summary>
    public bool IsInt8 { get; }

    /// <summary>Computes the start and end logits instead of the managed engine when set (ONNX Runtime, through <c>UseOnnxRuntime</c> in MLNetTransformers.Onnx); null = the managed engine.</summary>
    public TokenClassification.ITokenLogitsBackend? Backend { get; private init; }

    /// <summary>The same reader computing its logits with <paramref name="backend"/> (null = the managed engine, in float).</summary>
    /// <param name="backend">The backend: logits [batch, sequence, 2], start then end; null = the managed engine.</param>
    public QuestionAnsweringTransformer WithBackend(TokenClassification.ITokenLogitsBackend? backend) => Copy(AllowNoAnswer, NoAnswerThreshold, backend);

    /// <summary>Releases the <see cref="Backend"/> (an ONNX Runtime session) when it holds one.</summary>
    public void Dispose() => (Backend as IDisposable)?.Dispose();

    /// <summary>
    /// A Hugging Face <c>*ForQuestionAnswering</c> folder (an extractive reader fine-tuned on SQuAD, say, from BERT,
    /// RoBERTa, DistilBERT, ALBERT, ELECTRA, MPNet, DeBERTa or ModernBERT) with its tokenizer.
    /// </summary>
    /// <param name="folder">The model folder.</param>
    /// <param name="maxTokens">A window's length, question and context together; null = 384 (transformers' pipeline), or the model's positions if fewer.</param>
    /// <param name="allowNoAnswer">Rank "no answer" among the answers (a reader fine-tuned on SQuAD 2.0), as the pipeline's <c>handle_impossible_answer</c>.</param>
    public static QuestionAnsweringTransformer FromHuggingFaceFolder(string folder, int? maxTokens = null, bool allowNoAnswer = false)
    {
        return FromLoaded(Core.Pretrained.PretrainedCheckpoint.LoadQuestionAnsweringFolder(folder), folder, maxTokens, allowNoAnswer);
    }

    // A reader read elsewhere (a folder's weights, an ONNX export) with the tokenizer of the folder beside it.
    internal static QuestionAnsweringTransformer FromLoaded(Core.Pretrained.LoadedQuestionAnswerer loaded, string folder, int? maxTokens, bool allowNoAnswer)
    {
        return new QuestionAnsweringTransformer(PretrainedEncoder.TokenizerOf(folder, PretrainedEncoder.MaxTokens(maxTokens, 384, loaded.Model.Config, folder)), loaded.Model,
            allowNoAnswer: allowNoAnswer);
    }

    /// <summary>
    /// Writes the model and its tokenizer as a Hugging Face <c>*ForQuestionAnswering</c> folder that
    /// <see cref="FromHuggingFaceFolder"/> and transformers' <c>AutoModelForQuestionAnswering</c> read back.
    /// </summary>
    /// <param name="folder">The folder to write (created if needed; files of the same names are replaced).</param>
    public void SaveHuggingFaceFolder(string folder)
    {
        var tokenizerFiles = Tokenizer.HuggingFaceFiles(); // refuses a tokenizer Hugging Face cannot read before anything is written
        Core.Pretrained.PretrainedCheckpoint.SaveQuestionAnsweringFolder(Model, folder);
        foreach (var (name, contents) in tokenizerFiles) Checkpoint.WriteAtomically(Path.Combine(folder, name), contents);
    }

    /// <summary>The tokenizer.</summary>
    public TextTokenizer Tokenizer { get; }
    /// <summary>The question answerer.</summary>
    public TransformerQuestionAnswerer Model { get; }
    /// <summary>The context column read.</summary>
    public string ContextColumnName { get; }
    /// <summary>The question column read.</summary>
    public string QuestionColumnName { get; }
    /// <summary>The answers column written.</summary>
    public string AnswerColumnName { get; }
    /// <summary>The scores column written.</summary>
    public string ScoreColumnName { get; }
    /// <summary>Answers per question.</summary>
    public int TopK { get; }
    /// <summary>The longest answer considered, in tokens.</summary>
    public int MaxAnswerTokens { get; }
    /// <summary>The question's limit in tokens.</summary>
    public int MaxQuestionTokens { get; }
    /// <summary>The most tokens two windows of a long context share.</summary>
    public int DocumentStride { get; }
    /// <summary>
    /// Whether "no answer" (an empty text at offset 0) is ranked among the answers, as transformers' pipeline does with
    /// <c>handle_impossible_answer</c>: the [CLS] token then takes part in each window's start and end softmax, and "no
    /// answer" scores the product of its two probabilities in the window where that is smallest.
    /// </summary>
    public bool AllowNoAnswer { get; }
    /// <summary>The answer column the model was trained on, when a trainer made it (<see cref="Evaluate"/> reads it by default).</summary>
    public string? TrainingAnswerColumnName { get; init; }
    /// <summary>Steps, stop reason, best validation exact match and duration of the training run, when a trainer made it.</summary>
    public TrainingSummary? TrainingSummary { get; init; }

    /// <summary>The best answers to <paramref name="question"/> in <paramref name="context"/>, best first (thread-safe).</summary>
    /// <param name="question">The question.</param>
    /// <param name="context">The text to answer from; an empty one has no answers.</param>
    /// <param name="topK">How many answers; null = <see cref="TopK"/>.</param>
    public IReadOnlyList<ExtractedAnswer> Predict(string? question, string? context, int? topK = null)
    {
        if (topK is <= 0) throw new ArgumentOutOfRangeException(nameof(topK), topK, "topK must be positive.");
        var windows = new AnswerWindows(Tokenizer, [question], [context], MaxQuestionTokens, DocumentStride);
        return Answers(windows, topK ?? TopK)[0];
    }

    /// <summary>The best answer to <paramref name="question"/> in <paramref name="context"/> (with <see cref="AllowNoAnswer"/>, an empty text when that scores best), or null when the context has no words.</summary>
    /// <param name="question">The question.</param>
    /// <param name="context">The text to answer from.</param>
    public ExtractedAnswer? Answer(string? question, string? context) => Predict(question, context, 1) is [var best, ..] ? best : null;

    /// <summary>
    /// Each row's best <paramref name="topK"/> answers: every window's start and end probabilities over its context tokens
    /// (and [CLS] with <paramref name="noAnswer"/>), each span of words scored by its best token span, "no answer" by its
    /// smallest [CLS] score over the windows.
    /// </summary>
    internal static List<ExtractedAnswer>[] Answers(Func<TokenBatch, float[]> logitsOf, AnswerWindows windows, int topK, int maxAnswerTokens, bool noAnswer,
        float threshold = 0f)
    {
        return Ranked(SpanScores(logitsOf, windows, maxAnswerTokens, noAnswer), windows, topK, threshold);
    }

    // Each row's best topK answers, "no answer" placed before the first answer it beats (the answers are best first, so
    // the ratios grow along them), or after the best topK when it beats none of them.
    private static List<ExtractedAnswer>[] Ranked(Dictionary<(int, int), float>[] found, AnswerWindows windows, int topK, float threshold) =>
        found.Select((spans, row) =>
        {
            var ranked = BestSpans(spans, windows.Contexts[row], topK);
            if (spans.TryGetValue(NoAnswer, out float none))
            {
                int at = ranked.FindIndex(a => NoAnswerScore(none, a.Score) > threshold);
                ranked.Insert(at < 0 ? ranked.Count : at, new ExtractedAnswer("", 0, 0, none));
            }
            return ranked.Take(topK).ToList();
        }).ToArray();

    // The best count spans of words (not "no answer"), best first, ties by position, as the context's text.
    private static List<ExtractedAnswer> BestSpans(Dictionary<(int, int), float> spans, ContextWords words, int count) =>
        spans.Where(p => p.Key != NoAnswer).OrderByDescending(p => p.Value).ThenBy(p => p.Key.Item1).ThenBy(p => p.Key.Item2).Take(count)
            .Select(p =>
            {
                int from = words.Starts[p.Key.Item1], to = words.End(p.Key.Item2);
                return new ExtractedAnswer(words.Text[from..to], from, to, p.Value);
            }).ToList();

    // ln(p(no answer) / p(answer)), which a threshold compares (NaN when both are 0: never "no answer").
    private static float NoAnswerScore(float none, float answer) => (float)(Math.Log(none) - Math.Log(answer));

    // Each row's spans of words (and "no answer") with their best scores over the windows.
    private static Dictionary<(int, int), float>[] SpanScores(Func<TokenBatch, float[]> logitsOf, AnswerWindows windows, int maxAnswerTokens, bool noAnswer)
    {
        const int bs = 16;
        var tokens = windows.Tokens;
        int count = tokens.Windows.Count, max = tokens.Encoded.MaxTokens;
        var best = new Dictionary<(int, int), float>[windows.Contexts.Length];
        for (int i = 0; i < best.Length; i++) best[i] = [];
        var (ids, mask) = (new int[bs * max], new int[bs * max]);
        for (int from = 0; from < count; from += bs)
        {
            var rows = Enumerable.Range(from, Math.Min(bs, count - from)).ToArray();
            var batch = Batcher.Pack(tokens.Encoded, rows, ids, mask, null);
            var logits = logitsOf(batch);
            int t = batch.SeqLen;
            for (int i = 0; i < rows.Length; i++)
            {
                int k = rows[i];
                var (row, firstWord, words) = tokens.Windows[k];
                if (words == 0) continue;
                int c0 = tokens.FirstPieces[k][0], c1 = tokens.Encoded.Lengths[k] - 2; // the context's tokens [c0, c1]
                var wordAt = new int[c1 + 1];
                for (int j = 0; j < words; j++)
                    for (int p = tokens.FirstPieces[k][j]; p <= tokens.LastPiece(k, j); p++) wordAt[p] = firstWord + j;
                var start = Probabilities(logits, i * t, c0, c1, 0, noAnswer);
                var end = Probabilities(logits, i * t, c0, c1, 1, noAnswer);
                var found = best[row];
                int first = noAnswer ? 1 : 0; // the probabilities' context part
                if (noAnswer)
                {
                    float none = start[0] * end[0];
                    if (!found.TryGetValue(NoAnswer, out float known) || none < known) found[NoAnswer] = none;
                }
                for (int s = c0; s <= c1; s++)
                    for (int e = s; e <= Math.Min(c1, s + maxAnswerTokens - 1); e++)
                    {
                        float score = start[s - c0 + first] * end[e - c0 + first];
                        var span = (wordAt[s], wordAt[e]);
                        if (!found.TryGetValue(span, out float known) || score > known) found[span] = score;
                    }
            }
        }
        return best;
    }

    // This reader's answers to the windows' rows: through the backend, or a replica of the model (one for all the windows).
    private List<ExtractedAnswer>[] Answers(AnswerWindows windows, int topK) => Ranked(SpanScores(windows, AllowNoAnswer), windows, topK, NoAnswerThreshold);

    // This reader's span scores of the windows' rows, through the backend or a replica of the model.
    private Dictionary<(int, int), float>[] SpanScores(AnswerWindows windows, bool noAnswer) => Backend is { } backend
        ? SpanScores(backend.Logits, windows, MaxAnswerTokens, noAnswer)
        : _replicas.Use(m => SpanScores(b => m.Forward(b), windows, MaxAnswerTokens, noAnswer));

    // "No answer" among the spans of words.
    private static readonly (int, int) NoAnswer = (-1, -1);

    // Softmax of one output's logits over positions [c0, c1] of the sequence at `offset` (logits [.., T, 2]), after
    // position 0 ([CLS]) when `cls`.
    private static float[] Probabilities(float[] logits, int offset, int c0, int c1, int output, bool cls)
    {
        int first = cls ? 1 : 0;
        var p = new float[c1 - c0 + 1 + first];
        if (cls) p[0] = logits[offset * 2 + output];
        for (int q = c0; q <= c1; q++) p[q - c0 + first] = logits[(offset + q) * 2 + output];
        Softmax.Forward(p, p, 1, p.Length);
        return p;
    }

    /// <summary>
    /// Scores this reader on questions with known answers as SQuAD's evaluation does (exact match and word F1 of the best
    /// answer, each against the best of the question's gold answers).
    /// </summary>
    /// <param name="data">Questions, contexts and gold answers.</param>
    /// <param name="answerColumnName">The gold answers: text, or a vector of text for several per question (an empty text: the context holds none); null = the column the model was trained on, else <c>TrainingAnswer</c>.</param>
    public Metrics.QuestionAnsweringMetrics Evaluate(IDataView data, string? answerColumnName = null)
    {
        var (gold, windows) = Evaluation(data, answerColumnName);
        var answers = Answers(windows, 1);
        return Metrics.QuestionAnsweringMetrics.Compute(gold, answers.Select(a => a.Count > 0 ? a[0].Text : "").ToArray());
    }

    /// <summary>
    /// The "no answer" thresholds (<see cref="NoAnswerThreshold"/>) that score best on questions with known answers, some
    /// of whose contexts hold none, as SQuAD 2.0's evaluation finds them (its best exact match and best F1, each with its
    /// threshold); then <see cref="WithNoAnswerThreshold"/>. Tune on data held out from training and report on other data.
    /// </summary>
    /// <param name="data">Questions, contexts and gold answers (an empty text: the context holds none).</param>
    /// <param name="answerColumnName">The gold answers; null = the column the model was trained on, else <c>TrainingAnswer</c>.</param>
    public Metrics.NoAnswerThresholds TuneNoAnswerThreshold(IDataView data, string? answerColumnName = null)
    {
        var (gold, windows) = Evaluation(data, answerColumnName);
        // Each question's best answer and "no answer" (which every window's [CLS] scores).
        var found = SpanScores(windows, noAnswer: true);
        var answers = new string[found.Length];
        var scores = new float[found.Length];
        for (int i = 0; i < found.Length; i++)
            (answers[i], scores[i]) = BestSpans(found[i], windows.Contexts[i], 1) is [var best] && found[i].TryGetValue(NoAnswer, out float none)
                ? (best.Text, NoAnswerScore(none, best.Score))
                : ("", float.PositiveInfinity); // a context without words: "no answer" whatever the threshold
        return Metrics.NoAnswerThresholds.Find(gold, answers, scores);
    }

    // Gold answers and the windows of the questions and contexts of `data`.
    private (List<IReadOnlyList<string>> Gold, AnswerWindows Windows) Evaluation(IDataView data, string? answerColumnName)
    {
        ArgumentNullException.ThrowIfNull(data);
        string column = answerColumnName ?? TrainingAnswerColumnName ?? DefaultColumnNames.TrainingAnswer;
        var (questions, contexts) = QuestionAnsweringTrainer.ReadTexts(data, QuestionColumnName, ContextColumnName, "evaluation data");
        var gold = QuestionAnsweringTrainer.ReadGoldAnswers(data, column);
        return (gold, new AnswerWindows(Tokenizer, questions, contexts, MaxQuestionTokens, DocumentStride));
    }

    /// <inheritdoc/>
    private protected override ColumnMapper CreateMapper(DataViewSchema inputSchema) => new Mapper(this, inputSchema);

    private sealed class Mapper(QuestionAnsweringTransformer p, DataViewSchema input) : TextColumnMapper(input, p.QuestionColumnName,
    [
        new DataViewSchema.DetachedColumn(p.AnswerColumnName, new VectorDataViewType(TextDataViewType.Instance)),
        new DataViewSchema.DetachedColumn(p.ScoreColumnName, new VectorDataViewType(NumberDataViewType.Single)),
    ], p.ContextColumnName)
    {
        public override Delegate?[] CreateGetters(RowContext row, bool[] active)
        {
            // Questions answered in batches (read ahead when the cursor walks its source in order).
            var batched = new BatchedRows<(string?, string?), List<ExtractedAnswer>>(row, [Text, SecondText!.Value], 1,
                BatchedRows<(string?, string?), List<ExtractedAnswer>>.Pair(Text, SecondText!.Value),
                (pairs, results) => p.Answers(new AnswerWindows(p.Tokenizer, pairs.Select(x => x.Item1).ToArray(), pairs.Select(x => x.Item2).ToArray(),
                    p.MaxQuestionTokens, p.DocumentStride), p.TopK).CopyTo(results, 0));
            IReadOnlyList<ExtractedAnswer> Current() => batched.Current()[0];
            return
            [
                active[0] ? (ValueGetter<VBuffer<ReadOnlyMemory<char>>>)((ref VBuffer<ReadOnlyMemory<char>> dst) =>
                {
                    var texts = Current().Select(a => a.Text.AsMemory()).ToArray();
                    dst = new VBuffer<ReadOnlyMemory<char>>(texts.Length, texts);
                }) : null,
                active[1] ? (ValueGetter<VBuffer<float>>)((ref VBuffer<float> dst) =>
                {
                    var scores = Current().Select(a => a.Score).ToArray();
                    dst = new VBuffer<float>(scores.Length, scores);
                }) : null,
            ];
        }
    }
}
