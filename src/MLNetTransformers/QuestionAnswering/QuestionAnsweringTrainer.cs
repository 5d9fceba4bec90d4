using MLNetTransformers.Classification;

namespace MLNetTransformers.QuestionAnswering;

/// <summary>
/// Trains an extractive question answerer as transformers' SQuAD script fine-tunes <c>*ForQuestionAnswering</c>: each
/// question with its context read as a pair (the context in windows of whole words when it does not fit), the encoder's
/// states through a linear layer giving every token a start and an end logit, cross-entropy of the answer's first token as
/// the start and its last as the end (a window that does not hold the whole answer, or a row without one, points both at
/// <c>[CLS]</c>). Created by <c>mlContext.MulticlassClassification.Trainers.QuestionAnswer</c>, with the columns of
/// Microsoft.ML.TorchSharp's question-answering trainer: <c>Context</c>, <c>Question</c>, <c>TrainingAnswer</c> (the answer
/// as written in the context) and <c>AnswerIndex</c> (where it starts, in characters; an empty answer at −1 = none).
/// Validation by exact match of the best answer.
/// </summary>
public sealed class QuestionAnsweringTrainer : TransformerTrainer<QuestionAnsweringOptions, QuestionAnsweringTransformer>
{
    internal QuestionAnsweringTrainer(QuestionAnsweringOptions options, IChannelProvider? log) : base(options, log)
    {
        options.RefuseSequenceClassifierOptions("A question answerer");
    }

    private protected override SchemaShape OutputSchema(SchemaShape inputSchema)
    {
        SchemaShapeColumns.RequireText(inputSchema, Options.QuestionColumnName, "Question");
        return SchemaShapeColumns.Extend(inputSchema,
        [
            new DataViewSchema.DetachedColumn(Options.PredictedAnswerColumnName, new VectorDataViewType(TextDataViewType.Instance)),
            new DataViewSchema.DetachedColumn(Options.ScoreColumnName, new VectorDataViewType(NumberDataViewType.Single)),
        ]);
    }

    /// <summary>A question, its context, and its answer's place there (−1 and empty: none).</summary>
    internal sealed record AnsweredQuestion(string Question, string Context, string Answer, int Index);

    /// <summary>Reads the questions and answers, trains, and returns the question-answering transformer.</summary>
    /// <param name="input">Training data with the context, question, answer and answer-index columns.</param>
    public override QuestionAnsweringTransformer Fit(IDataView input)
    {
        var o = Options;
        using var ch = Log?.Start("QuestionAnswer");
        var train = Read(input, "training data");
        var valid = o.ValidationSet is { } vs ? Read(vs, "validation data") : o.ValidationFraction > 0 ? LabeledText.SplitOff(train, o.ValidationFraction, minimumRows: 20, (ulong)o.Seed) : null;

        var sw = Stopwatch.StartNew();
        var tokenizer = o.Pretrained?.Tokenizer ?? o.PretrainedTokenizer ?? o.Tokenizer.Build(() => train.SelectMany(r => new[] { r.Question, r.Context }));
        QuestionAnsweringTransformer.RequireRoom(tokenizer); // before training, not after
        if (o.Pretrained is { } pre) ch?.Info(MessageSensitivity.None, $"Fine-tuning {pre.Name}: {pre.Encoder.Config.Layers} layers, d_model {pre.Encoder.Config.ModelDim}, {pre.Encoder.Parameters.Count:N0} parameters.");
        var (windows, targets) = Windows(tokenizer, train);
        if (windows.Tokens.Windows.Count > train.Count)
            ch?.Info(MessageSensitivity.None, $"Contexts longer than fit beside their questions in {tokenizer.MaxTokens} tokens are read in overlapping windows: {windows.Tokens.Windows.Count - train.Count} more sequences than questions.");
        var validSet = valid is null ? default : Windows(tokenizer, valid);
        // From scratch: question and context as BERT's two segments (RoBERTa's pairs have none).
        var model = o.PositionModel(tokenizer, 2, ModelKind.QuestionAnswerer, (c, seed) => new TransformerQuestionAnswerer(c, seed),
            shape => shape with { Pooler = false, TypeVocabSize = tokenizer.RobertaPairs ? shape.TypeVocabSize : Math.Max(2, shape.TypeVocabSize) });

        int n = windows.Tokens.Windows.Count, bs = Math.Min(o.BatchSize, n);
        var loop = o.Loop(model, (n + bs - 1) / bs, sw.Elapsed);
        var ids = new int[bs * tokenizer.MaxTokens];
        var mask = new int[bs * tokenizer.MaxTokens];
        var lengths = windows.Tokens.Encoded.Lengths;
        IEnumerable<TrainingBatch> Batches(int epoch)
        {
            foreach (var rows in Batcher.GroupedByLength(n, r => lengths[r], bs, (ulong)o.Seed, epoch))
                yield return new TrainingBatch(Answered(windows, targets, rows, ids, mask), rows.Sum(r => lengths[r]));
        }
        Func<ValidationScore>? validate = valid is null ? null : () =>
        {
            var (w, t) = validSet;
            double loss = 0;
            int count = w.Tokens.Windows.Count;
            var (vi, vm) = (new int[32 * tokenizer.MaxTokens], new int[32 * tokenizer.MaxTokens]);
            for (int from = 0; from < count; from += 32)
            {
                var rows = Enumerable.Range(from, Math.Min(32, count - from)).ToArray();
                loss += model.Loss(Answered(w, t, rows, vi, vm)) * rows.Length;
            }
            var answers = QuestionAnsweringTransformer.Answers(b => model.Forward(b), w, 1, o.MaxAnswerTokens, o.AllowNoAnswer);
            var metrics = Metrics.QuestionAnsweringMetrics.Compute(valid.Select(r => (IReadOnlyList<string>)[r.Answer]).ToArray(), answers.Select(a => a.Count > 0 ? a[0].Text : "").ToArray());
            return new ValidationScore(loss / count, metrics.ExactMatch);
        };
        var progress = TrainingReports.To(o.Progress, ch, r => TrainingProgress.From(r, "exact match"));
        var outcome = loop.Run(Batches, validate, progress);
        if (outcome.Steps == 0 && outcome.StopReason == TrainingLoop.OutOfTime)
            throw new InvalidOperationException($"The time budget ({o.TimeBudget!.Value.TotalSeconds:G4} s) ran out before the first training step: nothing was trained.");
        ch?.Info(MessageSensitivity.None, $"Training finished after {outcome.Steps} steps in {sw.Elapsed.TotalSeconds:F1} s ({outcome.StopReason}).");
        return new QuestionAnsweringTransformer(tokenizer, model, o.ContextColumnName, o.QuestionColumnName, o.PredictedAnswerColumnName, o.ScoreColumnName,
            o.TopK, o.MaxAnswerTokens, o.MaxQuestionTokens, o.DocumentStride, o.AllowNoAnswer)
        {
            TrainingAnswerColumnName = o.TrainingAnswerColumnName, TrainingSummary = new TrainingSummary(outcome.Steps, outcome.StopReason, outcome.Best?.Metric, sw.Elapsed),
        };
    }

    // The rows' windows and each window's answer tokens ([CLS] where the window does not hold the whole answer).
    private (AnswerWindows Windows, (int Start, int End)[] Targets) Windows(TextTokenizer tokenizer, List<AnsweredQuestion> rows)
    {
        var windows = new AnswerWindows(tokenizer, rows.Select(r => r.Question).ToArray(), rows.Select(r => r.Context).ToArray(), Options.MaxQuestionTokens, Options.DocumentStride);
        var targets = new (int, int)[windows.Tokens.Windows.Count];
        for (int k = 0; k < targets.Length; k++)
        {
            var r = rows[windows.Tokens.Windows[k].Row];
            targets[k] = r.Index < 0 ? (0, 0) : windows.Contexts[windows.Tokens.Windows[k].Row].WordsOf(r.Index, r.Answer.Length) is var (first, last) ? windows.Target(k, first, last) : (0, 0);
        }
        return (windows, targets);
    }

    // The windows packed [b, T] with their answers' start and end tokens as labels [b, 2].
    private static TokenBatch Answered(AnswerWindows windows, (int Start, int End)[] targets, int[] rows, int[] ids, int[] mask)
    {
        var labels = new int[2 * rows.Length];
        for (int i = 0; i < rows.Length; i++) (labels[2 * i], labels[2 * i + 1]) = targets[rows[i]];
        return Batcher.Pack(windows.Tokens.Encoded, rows, ids, mask, labels);
    }

    // The rows in one pass: question, context, answer and where it starts, each answer checked against its context.
    private List<AnsweredQuestion> Read(IDataView data, string dataName)
    {
        var o = Options;
        var (question, context) = (TokenizerTransformer.RequireText(data.Schema, o.QuestionColumnName), TokenizerTransformer.RequireText(data.Schema, o.ContextColumnName));
        var answers = RequireColumn(data, o.TrainingAnswerColumnName, dataName, "the answer as written in the context (text)", t => t is TextDataViewType);
        var index = RequireColumn(data, o.AnswerIndexColumnName, dataName, "where the answer starts in the context, in characters (a whole number)",
            t => t is NumberDataViewType && t.RawType != typeof(float) && t.RawType != typeof(double));
        var rows = new List<AnsweredQuestion>();
        using var cursor = data.GetRowCursor([question, context, answers, index]);
        var getTexts = Texts(cursor, question, context);
        var getAnswer = cursor.GetGetter<ReadOnlyMemory<char>>(answers);
        var getIndex = WholeNumber(cursor, index);
        ReadOnlyMemory<char> a = default;
        while (cursor.MoveNext())
        {
            var (q, c) = getTexts();
            getAnswer(ref a);
            string answer = a.ToString();
            long at = getIndex();
            string where = $"Row {cursor.Position} of the {dataName}";
            if ((answer.Length == 0) != (at < 0))
                throw new ArgumentException(answer.Length == 0
                    ? $"{where}: the answer ('{answers.Name}') is empty but its index ('{index.Name}') is {at}; a row without an answer has index -1."
                    : $"{where}: the answer '{Shorten(answer)}' ('{answers.Name}') has index {at} ('{index.Name}'); it must say where in the context it starts.");
            if (at >= 0)
            {
                if (at + answer.Length > c.Length || string.CompareOrdinal(c, (int)at, answer, 0, answer.Length) != 0)
                    throw new ArgumentException($"{where}: the answer '{Shorten(answer)}' ('{answers.Name}') is not at character {at} ('{index.Name}') of its context ('{o.ContextColumnName}'), which reads there '{Shorten(at < c.Length ? c.Substring((int)at, (int)Math.Min(answer.Length, c.Length - at)) : "")}'.");
                if (string.IsNullOrWhiteSpace(answer))
                    throw new ArgumentException($"{where}: the answer ('{answers.Name}') is only whitespace; an answer is one or more words of the context.");
            }
            rows.Add(new AnsweredQuestion(q, c, answer, (int)Math.Max(-1, at)));
        }
        if (rows.Count == 0) throw new ArgumentException($"The {dataName} has no rows.");
        return rows;
    }

    private static string Shorten(string s) => s.Length > 60 ? s[..60] + "…" : s;

    private static DataViewSchema.Column RequireColumn(IDataView data, string name, string dataName, string holds, Func<DataViewType, bool> fits)
    {
        var column = data.Schema.GetColumnOrNull(name) ?? throw new ArgumentOutOfRangeException(nameof(data),
            $"Column '{name}' was not found in the {dataName} (columns: {string.Join(", ", data.Schema.Where(c => !c.IsHidden).Select(c => c.Name))}); it holds {holds}.");
        if (!fits(column.Type)) throw new ArgumentOutOfRangeException(nameof(data), $"Column '{name}' of the {dataName} has type {column.Type}; it holds {holds}.");
        return column;
    }

    // An integer column of any width, read as a long.
    private static Func<long> WholeNumber(DataViewRowCursor cursor, DataViewSchema.Column column)
    {
        Func<long> Read<T>(Func<T, long> convert)
        {
            var get = cursor.GetGetter<T>(column);
            T value = default!;
            return () => { get(ref value); return convert(value); };
        }
        return column.Type.RawType switch
        {
            var t when t == typeof(int) => Read<int>(v => v),
            var t when t == typeof(long) => Read<long>(v => v),
            var t when t == typeof(short) => Read<short>(v => v),
            var t when t == typeof(sbyte) => Read<sbyte>(v => v),
            var t when t == typeof(uint) => Read<uint>(v => v),
            var t when t == typeof(ushort) => Read<ushort>(v => v),
            var t when t == typeof(byte) => Read<byte>(v => v),
            var t when t == typeof(ulong) => Read<ulong>(v => (long)Math.Min(v, long.MaxValue)),
            _ => throw new ArgumentOutOfRangeException(nameof(column), $"Column '{column.Name}' has type {column.Type}; it holds a whole number."),
        };
    }

    /// <summary>The question and context columns' rows (null read as empty).</summary>
    internal static (List<string> Questions, List<string> Contexts) ReadTexts(IDataView data, string questionColumnName, string contextColumnName, string dataName)
    {
        var question = TokenizerTransformer.RequireText(data.Schema, questionColumnName);
        var context = TokenizerTransformer.RequireText(data.Schema, contextColumnName);
        var (questions, contexts) = (new List<string>(), new List<string>());
        using var cursor = data.GetRowCursor([question, context]);
        var getTexts = Texts(cursor, question, context);
        while (cursor.MoveNext())
        {
            var (q, c) = getTexts();
            questions.Add(q);
            contexts.Add(c);
        }
        if (questions.Count == 0) throw new ArgumentException($"The {dataName} has no rows.");
        return (questions, contexts);
    }

    // The current row's question and context.
    private static Func<(string Question, string Context)> Texts(DataViewRowCursor cursor, DataViewSchema.Column question, DataViewSchema.Column context)
    {
        var getQuestion = cursor.GetGetter<ReadOnlyMemory<char>>(question);
        var getContext = cursor.GetGetter<ReadOnlyMemory<char>>(context);
        ReadOnlyMemory<char> q = default, c = default;
        return () =>
        {
            getQuestion(ref q);
            getContext(ref c);
            return (q.ToString(), c.ToString());
        };
    }

    /// <summary>Each row's gold answers: a text column (one each) or a vector of text (several, as SQuAD's development set gives).</summary>
    internal static List<IReadOnlyList<string>> ReadGoldAnswers(IDataView data, string columnName)
    {
        var column = RequireColumn(data, columnName, "evaluation data", "each question's gold answer: text, or a vector of text for several",
            t => t is TextDataViewType or VectorDataViewType { ItemType: TextDataViewType });
        var gold = new List<IReadOnlyList<string>>();
        using var cursor = data.GetRowCursor([column]);
        if (column.Type is TextDataViewType)
        {
            var get = cursor.GetGetter<ReadOnlyMemory<char>>(column);
            ReadOnlyMemory<char> v = default;
            while (cursor.MoveNext()) { get(ref v); gold.Add([v.ToString()]); }
        }
        else
        {
            var get = cursor.GetGetter<VBuffer<ReadOnlyMemory<char>>>(column);
            VBuffer<ReadOnlyMemory<char>> v = default;
            while (cursor.MoveNext())
            {
                get(ref v);
                var answers = v.DenseValues().Select(x => x.ToString()).ToArray();
                if (answers.Length == 0) throw new ArgumentException($"Row {cursor.Position} of the evaluation data has no gold answer in '{columnName}'.");
                gold.Add(answers);
            }
        }
        return gold;
    }
}
