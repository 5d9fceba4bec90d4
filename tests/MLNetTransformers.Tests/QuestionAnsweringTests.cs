using CsCheck;
using Microsoft.ML;
using MLNetTransformers.Core.Models;
using MLNetTransformers.Pretrained;
using MLNetTransformers.QuestionAnswering;
using MLNetTransformers.Tokenization;
using Xunit;

namespace MLNetTransformers.Tests;

/// <summary>Extractive question answering: Hugging Face readers as they stand, training one in a pipeline, long contexts, scoring, bad input.</summary>
public class QuestionAnsweringTests
{
    private static string Fixture(string name) => Path.Combine(AppContext.BaseDirectory, "Fixtures", "pretrained", name);

    private sealed class QaRow
    {
        public string Context { get; set; } = "";
        public string Question { get; set; } = "";
        public string TrainingAnswer { get; set; } = "";
        public int AnswerIndex { get; set; }
    }

    private sealed class AnsweredRow
    {
        public string[] Answer { get; set; } = [];
        public float[] Score { get; set; } = [];
    }

    // The best answer by brute force over the model's own logits: every context token pair (start <= end, at most
    // maxAnswer tokens) scored by the product of its softmax probabilities over the context tokens, mapped to the words
    // the tokens belong to; the context laid out by hand as [CLS] question [SEP] words [SEP] (RoBERTa: </s></s>, and each
    // word after the first with the space before it, as transformers tokenizes the context as running text).
    private static (int FirstWord, int LastWord, float Score) BruteForce(QuestionAnsweringTransformer reader, string question, string[] words, int maxAnswer)
    {
        var tok = reader.Tokenizer;
        bool roberta = tok.RobertaPairs;
        var ids = new List<int> { tok.ClsId };
        ids.AddRange(tok.EncodeAll(question));
        ids.Add(tok.SepId);
        if (roberta) ids.Add(tok.SepId);
        int c0 = ids.Count;
        var wordOf = new List<int>();
        for (int w = 0; w < words.Length; w++)
            foreach (int id in tok.EncodeAll(roberta && w > 0 ? " " + words[w] : words[w])) { ids.Add(id); wordOf.Add(w); } // running text: no space before the first
        ids.Add(tok.SepId);
        var types = Enumerable.Range(0, ids.Count).Select(i => roberta || i < c0 ? 0 : 1).ToArray();
        var logits = reader.Model.Forward(new TokenBatch(1, ids.Count, ids.ToArray()) { TokenTypeIds = types });
        int n = wordOf.Count;
        double[] Softmax(int output)
        {
            var x = Enumerable.Range(0, n).Select(i => (double)logits[(c0 + i) * 2 + output]).ToArray();
            double max = x.Max(), sum = x.Sum(v => Math.Exp(v - max));
            return x.Select(v => Math.Exp(v - max) / sum).ToArray();
        }
        var (ps, pe) = (Softmax(0), Softmax(1));
        var best = (0, 0, -1.0);
        for (int s = 0; s < n; s++)
            for (int e = s; e < n && e - s < maxAnswer; e++)
                if (ps[s] * pe[e] > best.Item3) best = (wordOf[s], wordOf[e], ps[s] * pe[e]);
        return (best.Item1, best.Item2, (float)best.Item3);
    }

    [Theory]
    [InlineData("bert-qa")]
    [InlineData("roberta-qa")]
    [InlineData("distilbert-qa")]
    [InlineData("modernbert-qa")] // its head (dense, GELU, norm) at every position
    public void HuggingFaceReader_AnswersWithTheSpanItsLogitsScoreBest_AndSavesAndReloads(string fixture)
    {
        var ml = new MLContext(seed: 1);
        var reader = QuestionAnsweringTransformer.FromHuggingFaceFolder(Fixture(fixture), maxTokens: 24);
        (string Question, string Context)[] cases = [("was the film good", "the film was great and fun but the plot was dull"), ("i loved it", "not a good movie the cast was bad"), ("so", "it")];
        foreach (var (question, context) in cases)
        {
            var words = context.Split(' ');
            var (first, last, score) = BruteForce(reader, question, words, reader.MaxAnswerTokens);
            var answers = reader.Predict(question, context);
            Assert.Equal(string.Join(' ', words[first..(last + 1)]), answers[0].Text);
            Assert.Equal(score, answers[0].Score, 1e-5);
            Assert.Equal(Math.Min(3, words.Length * (words.Length + 1) / 2), answers.Count);
            Assert.All(answers, a => Assert.Equal(a.Text, context[a.Start..a.End]));
            Assert.Equal(answers.OrderByDescending(a => a.Score).Select(a => a.Score), answers.Select(a => a.Score));
            Assert.Equal(answers.Count, answers.Select(a => (a.Start, a.End)).Distinct().Count());
            Assert.Equal(answers[0], reader.Answer(question, context));
        }
        // The pipeline's columns (the rows answered in one batch) equal Predict's answers, and its scores within float rounding;
        // int8 answers move by the quantization only; saved and reloaded, the same.
        var data = ml.Data.LoadFromEnumerable(cases.Select(c => new QaRow { Question = c.Question, Context = c.Context }));
        var answered = ml.Data.CreateEnumerable<AnsweredRow>(reader.Transform(data), reuseRowObject: false).ToArray();
        Assert.Equal(cases.Select(c => reader.Predict(c.Question, c.Context).Select(a => a.Text).ToArray()), answered.Select(a => a.Answer));
        var alone = cases.SelectMany(c => reader.Predict(c.Question, c.Context).Select(a => a.Score)).ToArray();
        Assert.All(alone.Zip(answered.SelectMany(a => a.Score)), p => Assert.Equal(p.First, p.Second, 1e-5));
        var int8 = reader.WithInt8Inference();
        Assert.True(int8.IsInt8);
        Assert.Contains(cases, c => int8.Predict(c.Question, c.Context)[0].Score != reader.Predict(c.Question, c.Context)[0].Score);
        Assert.All(cases, c => Assert.Equal(reader.Predict(c.Question, c.Context)[0].Score, int8.Predict(c.Question, c.Context)[0].Score, 0.05));
        var engine = ml.Model.CreatePredictionEngine<QaRow, AnsweredRow>(reader);
        foreach (int i in new[] { 1, 0, 2, 1 }) // one engine, row after row: each row's own answers
            Assert.Equal(answered[i].Answer, engine.Predict(new QaRow { Question = cases[i].Question, Context = cases[i].Context }).Answer);
        string path = Path.Combine(Directory.CreateTempSubdirectory("reader").FullName, "model.mlnt");
        try
        {
            TransformerModel.Save(ml, reader, data.Schema, path);
            var reloaded = TransformerModel.Load(new MLContext(seed: 2), path, out _);
            Assert.Equal(answered.Select(a => a.Answer), ml.Data.CreateEnumerable<AnsweredRow>(reloaded.Transform(data), reuseRowObject: false).Select(a => a.Answer));
        }
        finally { Directory.Delete(Path.GetDirectoryName(path)!, recursive: true); }
    }

    // Synthetic reading on the BERT fixture's vocabulary: each context holds one word of praise and one of blame among
    // fillers (and sometimes a second sentence); "i loved" asks for the praise word, "i hated" for the blame word, so the
    // answer depends on the question; the praise word may be "very good" (two words), and punctuation stays out of answers.
    private static readonly string[] Praise = ["good", "great", "fun", "best"], Blame = ["bad", "dull", "worst"],
        Filler = ["the", "a", "film", "movie", "plot", "cast", "is", "was", "and", "but", "it", "story", "end", "so", "ever"];

    // With noBlame, that share of the contexts holds no word of blame: "i hated" has no answer there (empty, index -1).
    private static QaRow[] Reading(int count, int seed, int fillers = 6, double noBlame = 0)
    {
        var rng = new Random(seed);
        return Enumerable.Range(0, count).Select(_ =>
        {
            var words = Enumerable.Range(0, rng.Next(2, fillers + 1)).Select(_ => Filler[rng.Next(Filler.Length)]).ToList();
            string praise = (rng.Next(3) == 0 ? "very " : "") + Praise[rng.Next(Praise.Length)], blame = Blame[rng.Next(Blame.Length)];
            int p = rng.Next(words.Count + 1);
            words.Insert(p, praise);
            bool none = noBlame > 0 && rng.NextDouble() < noBlame; // no draw without it: the other tests' rows as before
            if (!none) words.Insert(rng.Next(words.Count + 1), blame);
            if (rng.Next(2) == 0) words.Insert(words.IndexOf(praise) + 1, rng.Next(2) == 0 ? "." : ","); // "great ." reads "great" as the answer
            string context = string.Join(' ', words).Replace(" .", ".", StringComparison.Ordinal).Replace(" ,", ",", StringComparison.Ordinal);
            bool loved = rng.Next(2) == 0;
            if (!loved && none) return new QaRow { Context = context, Question = "i hated", TrainingAnswer = "", AnswerIndex = -1 };
            string answer = loved ? praise : blame;
            int index = System.Text.RegularExpressions.Regex.Match(context, $@"(?<![a-z]){answer}(?![a-z])").Index;
            return new QaRow { Context = context, Question = loved ? "i loved" : "i hated", TrainingAnswer = answer, AnswerIndex = index };
        }).ToArray();
    }

    [Fact]
    public void Trainer_FineTunesAPretrainedEncoder_InAPipeline_AndWritesItBackAsAHuggingFaceFolder()
    {
        var ml = new MLContext(seed: 1);
        var train = Reading(600, 1);
        var test = Reading(100, 2);
        var reader = ml.MulticlassClassification.Trainers.QuestionAnswer(new QuestionAnsweringOptions
        {
            Pretrained = PretrainedEncoder.FromHuggingFaceFolder(Fixture("bert"), maxTokens: 20), Epochs = 8, BatchSize = 16, LearningRate = 3e-3f, Seed = 3,
        }).Fit(ml.Data.LoadFromEnumerable(train));
        Assert.NotNull(reader.TrainingSummary);
        int right = test.Count(r => reader.Answer(r.Question, r.Context)?.Text == r.TrainingAnswer);
        // Answering with the other sentiment's word, or the first word of the context, scores about half and a fifth.
        Assert.True(right >= 90, $"{right} of 100 answers exact");
        var testView = ml.Data.LoadFromEnumerable(test);
        var metrics = reader.Evaluate(testView);
        Assert.Equal(right / 100.0, metrics.ExactMatch, 10);
        Assert.True(metrics.F1 >= metrics.ExactMatch);
        Assert.Equal(100, metrics.Questions);
        var column = ml.Data.CreateEnumerable<AnsweredRow>(reader.Transform(testView), reuseRowObject: false).Select(a => a.Answer[0]).ToArray();
        Assert.Equal(test.Select(r => reader.Answer(r.Question, r.Context)!.Text), column);
        string dir = Directory.CreateTempSubdirectory("reader-hf").FullName;
        try
        {
            reader.SaveHuggingFaceFolder(dir);
            Assert.Contains("BertForQuestionAnswering", File.ReadAllText(Path.Combine(dir, "config.json")));
            var read = QuestionAnsweringTransformer.FromHuggingFaceFolder(dir, maxTokens: 20);
            Assert.Equal(column, test.Select(r => read.Answer(r.Question, r.Context)!.Text));
        }
        finally { Directory.Delete(dir, recursive: true); }
    }

    // Contexts that hold no answer (SQuAD 2.0): a third of the contexts have no word of blame, so "i hated" has none there.
    // Rows without an answer train toward [CLS]; with AllowNoAnswer the reader ranks "no answer" (an empty text) among its
    // answers and gives it where it scores best; without it, every question gets a span.
    [Fact]
    public void Trainer_LearnsWhenTheContextHoldsNoAnswer()
    {
        var ml = new MLContext(seed: 1);
        var reader = ml.MulticlassClassification.Trainers.QuestionAnswer(new QuestionAnsweringOptions
        {
            Pretrained = PretrainedEncoder.FromHuggingFaceFolder(Fixture("bert"), maxTokens: 20), Epochs = 8, BatchSize = 16, LearningRate = 3e-3f, Seed = 3, AllowNoAnswer = true,
        }).Fit(ml.Data.LoadFromEnumerable(Reading(800, 11, noBlame: 0.35)));
        Assert.True(reader.AllowNoAnswer);
        var test = Reading(200, 12, noBlame: 0.35);
        var unanswerable = test.Where(r => r.AnswerIndex < 0).ToArray();
        Assert.InRange(unanswerable.Length, 20, 50);
        int right = test.Count(r => reader.Answer(r.Question, r.Context)?.Text == r.TrainingAnswer);
        int none = unanswerable.Count(r => reader.Answer(r.Question, r.Context)?.Text == "");
        // Never answering "no answer" would miss every unanswerable row (about 17%); always answering it, the rest.
        Assert.True(right >= 180, $"{right} of 200 answers exact ({none} of {unanswerable.Length} without an answer)");
        Assert.True(none >= 0.8 * unanswerable.Length, $"{none} of {unanswerable.Length} without an answer");
        var metrics = reader.Evaluate(ml.Data.LoadFromEnumerable(test));
        Assert.Equal(right / 200.0, metrics.ExactMatch, 10);
        var noAnswer = reader.Predict(unanswerable[0].Question, unanswerable[0].Context).Single(a => a.Text == "");
        Assert.Equal((0, 0), (noAnswer.Start, noAnswer.End));
        // Without it, every answer is a span of the context; saved and reloaded, the setting stays.
        var spans = reader.WithNoAnswer(false);
        Assert.All(unanswerable, r => Assert.NotEqual("", spans.Answer(r.Question, r.Context)!.Text));
        string path = Path.Combine(Directory.CreateTempSubdirectory("reader-none").FullName, "model.mlnt");
        try
        {
            var view = ml.Data.LoadFromEnumerable(test);
            TransformerModel.Save(ml, reader, view.Schema, path);
            var reloaded = TransformerModel.Parts(TransformerModel.Load(new MLContext(seed: 2), path, out _)).OfType<QuestionAnsweringTransformer>().Single();
            Assert.True(reloaded.AllowNoAnswer);
            Assert.Equal(unanswerable.Select(r => reader.Answer(r.Question, r.Context)), unanswerable.Select(r => reloaded.Answer(r.Question, r.Context)));
        }
        finally { Directory.Delete(Path.GetDirectoryName(path)!, recursive: true); }
    }

    // A bare ModernBERT fine-tuned as a reader gets its family's head (dense, GELU, norm) at every position, newly
    // initialised, as ModernBertForQuestionAnswering starts, and is written back as one that reads back to the same answers.
    [Fact]
    public void Trainer_GivesModernBertItsOwnHead_AndWritesItBack()
    {
        var ml = new MLContext(seed: 1);
        var rows = Reading(200, 7);
        var reader = ml.MulticlassClassification.Trainers.QuestionAnswer(new QuestionAnsweringOptions
        {
            Pretrained = PretrainedEncoder.FromHuggingFaceFolder(Fixture("modernbert"), maxTokens: 20), Epochs = 2, BatchSize = 16, LearningRate = 3e-3f, Seed = 3,
        }).Fit(ml.Data.LoadFromEnumerable(rows));
        Assert.True(reader.Model.Config.Pooler && reader.Model.Config.PoolerNorm);
        string dir = Directory.CreateTempSubdirectory("modernbert-reader").FullName;
        try
        {
            reader.SaveHuggingFaceFolder(dir);
            Assert.Contains("ModernBertForQuestionAnswering", File.ReadAllText(Path.Combine(dir, "config.json")));
            var read = QuestionAnsweringTransformer.FromHuggingFaceFolder(dir, maxTokens: 20);
            foreach (var r in rows.Take(20)) Assert.Equal(reader.Predict(r.Question, r.Context), read.Predict(r.Question, r.Context));
        }
        finally { Directory.Delete(dir, recursive: true); }
    }

    // A reader trained from scratch, with a tokenizer of its own and windows of 12 tokens: most contexts are longer than
    // fit beside the question, so training reads them in overlapping windows (those without the answer point at [CLS]) and
    // answering ranks the spans of every window.
    [Fact]
    public void Trainer_LearnsFromScratch_ReadingLongContextsInWindows()
    {
        var ml = new MLContext(seed: 1);
        var train = Reading(800, 3, fillers: 10);
        var reader = ml.MulticlassClassification.Trainers.QuestionAnswer(new QuestionAnsweringOptions
        {
            Layers = 2, ModelDim = 32, Heads = 2, FeedForwardDim = 64, Epochs = 10, BatchSize = 16, Seed = 4, DocumentStride = 4,
            Tokenizer = new TokenizerOptions { MaxTokens = 12 },
        }).Fit(ml.Data.LoadFromEnumerable(train));
        var test = Reading(100, 5, fillers: 10);
        var windows = new AnswerWindows(reader.Tokenizer, test.Select(r => r.Question).ToArray(), test.Select(r => r.Context).ToArray(), 64, 4);
        Assert.True(windows.Tokens.Windows.Count > 3 * test.Length / 2, $"{windows.Tokens.Windows.Count} windows for {test.Length} contexts");
        int right = test.Count(r => reader.Answer(r.Question, r.Context)?.Text == r.TrainingAnswer);
        Assert.True(right >= 85, $"{right} of 100 answers exact");
    }

    // Windows of a long context: whole words, overlapping by at most the stride (and half a window), each beginning with the
    // question; a window holds an answer's tokens only when it holds all its words, else both targets are [CLS].
    [Fact]
    public void LongContexts_AreReadInWindowsOfWholeWords_OverlappingByTheStride()
    {
        var tokenizer = QuestionAnsweringTransformer.FromHuggingFaceFolder(Fixture("bert-qa"), maxTokens: 12).Tokenizer;
        const string context = "the film was great and fun i loved it so very good";
        var windows = new AnswerWindows(tokenizer, ["i loved"], [context], 64, 2);
        // 12 tokens: [CLS] i loved [SEP] ... [SEP] leaves 7 for words; windows overlap by up to 2 words of one piece each.
        Assert.Equal([new TokenClassification.WordTokens.Window(0, 0, 7), new TokenClassification.WordTokens.Window(0, 5, 7)], windows.Tokens.Windows);
        Assert.Equal([2, 33, 34, 3, 6, 8, 17, 21, 18, 23, 33, 3], windows.Tokens.Encoded.Row(0)); // [CLS] i loved [SEP] the film was great and fun i [SEP]
        Assert.Equal([0, 0, 0, 0, 1, 1, 1, 1, 1, 1, 1, 1], windows.Tokens.Encoded.TokenTypes!.AsSpan(0, 12).ToArray());
        Assert.Equal((7, 7), windows.Target(0, 3, 3)); // "great": the 4th word, at position 4 + 3
        Assert.Equal((0, 0), windows.Target(1, 3, 3)); // not in the second window
        Assert.Equal((6, 6), windows.Target(1, 7, 7)); // "loved", the second window's 3rd word, at position 4 + 2
        Assert.Equal((0, 0), windows.Target(0, 6, 7)); // "i loved" ends outside the first
        // Split words: punctuation at a word's ends is a word of its own, written against its neighbour.
        var words = ContextWords.Split("(1990), Denver's team. U.S.");
        Assert.Equal(["(", "1990", ")", ",", "Denver's", "team", ".", "U.S", "."], words.Words);
        Assert.Equal([0, 1, 5, 6, 8, 17, 21, 23, 26], words.Starts);
        Assert.Equal([true, true, true, true, false, false, true, false, true], words.Joined); // the first against the text's start
        Assert.False(ContextWords.Split(" (1990)").Joined[0]); // after a space
        Assert.Equal((4, 5), words.WordsOf(8, 13)); // "Denver's team"
        Assert.Equal((1, 1), words.WordsOf(3, 1)); // a character inside "1990"
        Assert.Null(words.WordsOf(40, 2));
    }

    // SQuAD's evaluate-v1.1.py on hand-worked answers: normalization (case, punctuation, articles, spaces), exact match
    // and word-bag F1, each the best over a question's gold answers.
    [Fact]
    public void Metrics_AreSquads()
    {
        Assert.Equal("denver broncos", Metrics.QuestionAnsweringMetrics.Normalize("The  Denver Broncos!"));
        Assert.Equal("anthem of 1990s", Metrics.QuestionAnsweringMetrics.Normalize("An anthem of the '1990s'."));
        var m = Metrics.QuestionAnsweringMetrics.Compute(
            [["Denver Broncos", "The Broncos"], ["Santa Clara, California"], ["1990"]], ["the Broncos", "Santa Clara", "in 1991"]);
        Assert.Equal(1 / 3.0, m.ExactMatch, 10);
        // F1: 1 (exact); "santa clara" against "santa clara california": P 1, R 2/3 → 0.8; no common word → 0.
        Assert.Equal((1 + 0.8 + 0) / 3, m.F1, 10);
        Assert.Equal(3, m.Questions);
        // "No answer" (SQuAD 2.0): right only against "no answer", in exact match and F1 alike.
        var none = Metrics.QuestionAnsweringMetrics.Compute([[""], [""], ["Denver"]], ["", "Denver", ""]);
        Assert.Equal((1 / 3.0, 1 / 3.0), (none.ExactMatch, none.F1));
        Assert.Throws<ArgumentException>(() => Metrics.QuestionAnsweringMetrics.Compute([["a"]], ["a", "b"]));
    }

    // SQuAD 2.0's find_best_thresh against every threshold tried by brute force: "no answer" where the score is above τ;
    // the best exact match and F1 over τ in {Lowest} and the scores themselves, the lowest τ of a tie. Scores with ties,
    // −∞ and NaN (never "no answer") and +∞ (always), answers right, partly right, wrong and empty.
    [Fact]
    public void NoAnswerThresholds_AreTheBestOfEveryThreshold()
    {
        string[] texts = ["denver broncos", "broncos", "santa clara", ""];
        Gen.Int[0, 10_000].Sample(seed =>
        {
            var rng = new Random(seed);
            int n = rng.Next(1, 12);
            var gold = Enumerable.Range(0, n).Select(_ => (IReadOnlyList<string>)[texts[rng.Next(texts.Length)]]).ToArray();
            var answers = Enumerable.Range(0, n).Select(_ => texts[rng.Next(texts.Length)]).ToArray();
            float[] pool = [-2f, -0.5f, 0f, 0.5f, 1.25f, float.NegativeInfinity, float.PositiveInfinity, float.NaN];
            var scores = Enumerable.Range(0, n).Select(_ => pool[rng.Next(pool.Length)]).ToArray();
            var found = Metrics.NoAnswerThresholds.Find(gold, answers, scores);
            (double, float) Brute(Func<Metrics.QuestionAnsweringMetrics, double> metric)
            {
                var candidates = scores.Where(float.IsFinite).Append(Metrics.NoAnswerThresholds.Lowest).Distinct().OrderBy(t => t);
                var (best, at) = (double.MinValue, 0f);
                foreach (float t in candidates)
                {
                    double m = metric(Metrics.QuestionAnsweringMetrics.Compute(gold, answers.Select((a, i) => scores[i] > t ? "" : a).ToArray()));
                    if (m > best + 1e-12) (best, at) = (m, t);
                }
                return (best, at);
            }
            Assert.Equal(Brute(m => m.ExactMatch), (found.BestExactMatch, found.BestExactMatchThreshold));
            var (f1, f1At) = Brute(m => m.F1);
            Assert.Equal(f1, found.BestF1, 10);
            Assert.Equal(f1At, found.BestF1Threshold);
            Assert.Equal(n, found.Questions);
        }, iter: 300);
        Assert.Throws<ArgumentException>(() => Metrics.NoAnswerThresholds.Find([["a"]], ["a"], [0f, 1f]));
        Assert.Contains("Question 0 has no gold answer", Assert.Throws<ArgumentException>(() => Metrics.NoAnswerThresholds.Find([[]], ["a"], [0f])).Message);
    }

    // A reader's threshold places "no answer" by ln(p(no answer) / p(answer)): just below the best answer's ratio it is the
    // first answer, just above it the best span is, and the other answers and every score stay as they were. Tuned on
    // questions with known answers, the exact match and F1 the tuning reports are what Evaluate scores at its thresholds,
    // and no other threshold scores better. The threshold is saved with the reader.
    [Fact]
    public void NoAnswerThreshold_PlacesNoAnswerByItsLogRatio_AndTunesToWhatEvaluateScores()
    {
        var ml = new MLContext(seed: 1);
        var reader = QuestionAnsweringTransformer.FromHuggingFaceFolder(Fixture("bert-qa"), maxTokens: 24, allowNoAnswer: true);
        Assert.Equal(0f, reader.NoAnswerThreshold);
        var rows = Reading(60, 21, noBlame: 0.35);
        foreach (var row in rows.Take(12))
        {
            var all = reader.Predict(row.Question, row.Context, 100);
            var none = all.Single(a => a.Text.Length == 0);
            var spans = all.Where(a => a.Text.Length > 0).ToList();
            double ratio = Math.Log(none.Score) - Math.Log(spans[0].Score);
            var below = reader.WithNoAnswerThreshold((float)ratio - 0.01f).Predict(row.Question, row.Context, 100);
            var above = reader.WithNoAnswerThreshold((float)ratio + 0.01f).Predict(row.Question, row.Context, 100);
            Assert.Equal("", below[0].Text);
            Assert.Equal(spans[0], above[0]);
            Assert.Equal(spans, below.Where(a => a.Text.Length > 0));
            Assert.Equal(spans, above.Where(a => a.Text.Length > 0));
            Assert.Equal(none.Score, above.Single(a => a.Text.Length == 0).Score);
        }
        var view = ml.Data.LoadFromEnumerable(rows);
        var tuned = reader.TuneNoAnswerThreshold(view);
        Assert.Equal(rows.Length, tuned.Questions);
        Assert.Equal(tuned.BestF1, reader.WithNoAnswerThreshold(tuned.BestF1Threshold).Evaluate(view).F1, 10);
        Assert.Equal(tuned.BestExactMatch, reader.WithNoAnswerThreshold(tuned.BestExactMatchThreshold).Evaluate(view).ExactMatch, 10);
        foreach (float t in new[] { -5f, -1f, 0f, 0.5f, 1f, 5f, Metrics.NoAnswerThresholds.Lowest })
            Assert.True(reader.WithNoAnswerThreshold(t).Evaluate(view).F1 <= tuned.BestF1 + 1e-12, $"threshold {t}");
        // "No answer" everywhere (the lowest threshold) scores the share of questions without one.
        Assert.Equal(rows.Count(r => r.AnswerIndex < 0) / (double)rows.Length, reader.WithNoAnswerThreshold(Metrics.NoAnswerThresholds.Lowest).Evaluate(view).ExactMatch, 10);
        Assert.Throws<ArgumentOutOfRangeException>(() => reader.WithNoAnswerThreshold(float.NaN));
        Assert.Throws<ArgumentOutOfRangeException>(() => reader.WithNoAnswerThreshold(float.PositiveInfinity));
        string path = Path.Combine(Directory.CreateTempSubdirectory("reader-threshold").FullName, "model.mlnt");
        try
        {
            var set = reader.WithNoAnswerThreshold(tuned.BestF1Threshold).WithInt8Inference();
            Assert.Equal(tuned.BestF1Threshold, set.NoAnswerThreshold);
            TransformerModel.Save(ml, set, view.Schema, path);
            var reloaded = TransformerModel.Parts(TransformerModel.Load(new MLContext(seed: 2), path, out _)).OfType<QuestionAnsweringTransformer>().Single();
            Assert.Equal((true, tuned.BestF1Threshold), (reloaded.AllowNoAnswer, reloaded.NoAnswerThreshold));
        }
        finally { Directory.Delete(Path.GetDirectoryName(path)!, recursive: true); }
    }

    // Any question and context answer without error: every answer is a piece of the context as written (no space at its
    // ends), scores in (0, 1] best first, whatever the characters (controls, surrogates, accents, CJK, punctuation) and lengths.
    [Theory]
    [InlineData("bert-qa")]
    [InlineData("roberta-qa")]
    public void AnyText_IsAnsweredFromTheContext(string fixture)
    {
        var reader = QuestionAnsweringTransformer.FromHuggingFaceFolder(Fixture(fixture), maxTokens: 16);
        var chars = Gen.OneOf(Gen.Char['a', 'z'], Gen.Char[' ', '~'], Gen.Const(' '), Gen.Const('\t'), Gen.Char['\u00c0', '\u024f'],
            Gen.Char['\u4e00', '\u4e40'], Gen.Char['\u0000', '\u001f'], Gen.Char['\ud800', '\udfff'], Gen.Const('\u2003'));
        Gen.Select(Gen.String[chars, 0, 40], Gen.String[chars, 0, 200]).Sample((question, context) =>
        {
            var answers = reader.Predict(question, context);
            Assert.Equal(string.IsNullOrWhiteSpace(context), answers.Count == 0);
            Assert.All(answers, a =>
            {
                Assert.Equal(a.Text, context[a.Start..a.End]);
                Assert.False(string.IsNullOrWhiteSpace(a.Text) || char.IsWhiteSpace(a.Text[0]) || char.IsWhiteSpace(a.Text[^1]));
                Assert.InRange(a.Score, float.Epsilon, 1f);
            });
            Assert.Equal(answers.OrderByDescending(a => a.Score).Select(a => a.Score), answers.Select(a => a.Score));
        }, iter: 200, threads: 1, seed: "ezosEBohpnX1");
    }

    [Fact]
    public void BadInput_IsRefusedNamingTheColumnAndRow()
    {
        var ml = new MLContext(seed: 1);
        var trainer = ml.MulticlassClassification.Trainers.QuestionAnswer();
        QaRow[] Rows(params QaRow[] bad) => [.. Reading(30, 9), .. bad];
        var misplaced = Assert.Throws<ArgumentException>(() => trainer.Fit(ml.Data.LoadFromEnumerable(Rows(new QaRow { Context = "the film was good", Question = "i loved", TrainingAnswer = "good", AnswerIndex = 3 }))));
        Assert.Contains("Row 30", misplaced.Message);
        Assert.Contains("the answer 'good' ('TrainingAnswer') is not at character 3 ('AnswerIndex')", misplaced.Message);
        Assert.Contains("reads there ' fil'", misplaced.Message);
        var past = Assert.Throws<ArgumentException>(() => trainer.Fit(ml.Data.LoadFromEnumerable(Rows(new QaRow { Context = "good", Question = "i loved", TrainingAnswer = "good", AnswerIndex = 2 }))));
        Assert.Contains("not at character 2", past.Message);
        var empty = Assert.Throws<ArgumentException>(() => trainer.Fit(ml.Data.LoadFromEnumerable(Rows(new QaRow { Context = "good", Question = "i loved", TrainingAnswer = "", AnswerIndex = 0 }))));
        Assert.Contains("is empty but its index ('AnswerIndex') is 0", empty.Message);
        var noIndex = Assert.Throws<ArgumentException>(() => trainer.Fit(ml.Data.LoadFromEnumerable(Rows(new QaRow { Context = "good", Question = "i loved", TrainingAnswer = "good", AnswerIndex = -1 }))));
        Assert.Contains("has index -1", noIndex.Message);
        var missing = Assert.Throws<ArgumentOutOfRangeException>(() => ml.MulticlassClassification.Trainers.QuestionAnswer(answerIndexColumnName: "Start").Fit(ml.Data.LoadFromEnumerable(Reading(30, 9))));
        Assert.Contains("Column 'Start' was not found in the training data", missing.Message);
        var wrongType = Assert.Throws<ArgumentOutOfRangeException>(() => ml.MulticlassClassification.Trainers.QuestionAnswer(answerIndexColumnName: "Question").Fit(ml.Data.LoadFromEnumerable(Reading(30, 9))));
        Assert.Contains("Column 'Question' of the training data has type String; it holds where the answer starts", wrongType.Message);
        Assert.Contains("Question column 'Query' was not found", Assert.Throws<ArgumentOutOfRangeException>(() =>
            ml.MulticlassClassification.Trainers.QuestionAnswer(questionColumnName: "Query").GetOutputSchema(BadInputTests.SchemaOf(ml, ml.Data.LoadFromEnumerable(Reading(3, 9))))).Message);
        Assert.Contains("does not use EnsembleSize", Assert.Throws<ArgumentException>(() => ml.MulticlassClassification.Trainers.QuestionAnswer(new QuestionAnsweringOptions { EnsembleSize = 2 })).Message);
        Assert.Contains("does not use Refit", Assert.Throws<ArgumentException>(() => ml.MulticlassClassification.Trainers.QuestionAnswer(new QuestionAnsweringOptions { Refit = true })).Message);
        _ = ml.MulticlassClassification.Trainers.QuestionAnswer(new QuestionAnsweringOptions { Refit = false }); // its default from scratch would be true: only asking for it is refused
        Assert.Contains("TopK", Assert.ThrowsAny<ArgumentException>(() => ml.MulticlassClassification.Trainers.QuestionAnswer(topK: 0)).Message);
    }
}
