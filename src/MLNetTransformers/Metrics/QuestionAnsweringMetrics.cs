using System.Text;

namespace MLNetTransformers.Metrics;

/// <summary>
/// Extractive question answering as SQuAD's official evaluation (evaluate-v1.1.py) scores it: each answer and gold answer
/// normalized (lower case, ASCII punctuation removed, the articles a, an and the removed, whitespace collapsed), exact
/// match and the F1 of their word bags, each the best over a question's gold answers, averaged over the questions. An
/// empty answer is "no answer", as SQuAD 2.0's evaluation scores it: 1 against an empty gold answer, else 0.
/// </summary>
/// <param name="ExactMatch">Share of questions whose answer equals a gold answer after normalization.</param>
/// <param name="F1">Mean over questions of the best word-overlap F1 with a gold answer.</param>
/// <param name="Questions">Questions scored.</param>
public sealed partial record QuestionAnsweringMetrics(double ExactMatch, double F1, int Questions)
{
    /// <summary>Scores predicted answers against each question's gold answers.</summary>
    /// <param name="gold">Each question's gold answers (at least one each; SQuAD's development set gives up to five).</param>
    /// <param name="predicted">Each question's predicted answer, in the same order ("" when none was given).</param>
    public static QuestionAnsweringMetrics Compute(IReadOnlyList<IReadOnlyList<string>> gold, IReadOnlyList<string> predicted)
    {
        ArgumentNullException.ThrowIfNull(gold);
        ArgumentNullException.ThrowIfNull(predicted);
        if (gold.Count != predicted.Count) throw new ArgumentException($"There are {gold.Count} questions with gold answers and {predicted.Count} predicted answers; each question needs one.");
        double exact = 0, f1 = 0;
        for (int i = 0; i < gold.Count; i++)
        {
            if (gold[i].Count == 0) throw new ArgumentException($"Question {i} has no gold answer.");
            exact += ExactMatchOf(gold[i], predicted[i] ?? "");
            f1 += F1Of(gold[i], predicted[i] ?? "");
        }
        return gold.Count == 0 ? new QuestionAnsweringMetrics(0, 0, 0) : new QuestionAnsweringMetrics(exact / gold.Count, f1 / gold.Count, gold.Count);
    }

    // One question's exact match (1 or 0) and F1, each the best over its gold answers.
    internal static double ExactMatchOf(IReadOnlyList<string> gold, string predicted)
    {
        var answer = Normalize(predicted);
        return gold.Any(g => Normalize(g) == answer) ? 1 : 0;
    }

    internal static double F1Of(IReadOnlyList<string> gold, string predicted)
    {
        if (gold.Count == 0) throw new ArgumentException("A question has no gold answer.");
        var answer = Normalize(predicted);
        return gold.Max(g => WordF1(answer, Normalize(g)));
    }

    /// <summary>SQuAD's normalize_answer: lower case, ASCII punctuation dropped, the words a, an and the dropped, words joined by single spaces.</summary>
    /// <param name="text">An answer.</param>
    public static string Normalize(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        var sb = new StringBuilder(text.Length);
        foreach (char c in text.ToLowerInvariant()) if (!(c is >= '!' and <= '~' && !char.IsAsciiLetterOrDigit(c))) sb.Append(c); // Python's string.punctuation
        return string.Join(' ', Articles().Replace(sb.ToString(), " ").Split((char[]?)null, StringSplitOptions.RemoveEmptyEntries));
    }

    [System.Text.RegularExpressions.GeneratedRegex(@"\b(a|an|the)\b")]
    private static partial System.Text.RegularExpressions.Regex Articles();

    // The F1 of two normalized answers' word bags (0 when they share none).
    private static double WordF1(string predicted, string gold)
    {
        var p = predicted.Split(' ', StringSplitOptions.RemoveEmptyEntries);
        var g = gold.Split(' ', StringSplitOptions.RemoveEmptyEntries);
        if (p.Length == 0 || g.Length == 0) return p.Length == g.Length ? 1 : 0; // "no answer" (SQuAD 2.0's evaluation): right only against "no answer"
        var counts = g.GroupBy(w => w, StringComparer.Ordinal).ToDictionary(x => x.Key, x => x.Count(), StringComparer.Ordinal);
        int common = 0;
        foreach (var w in p)
            if (counts.TryGetValue(w, out int c) && c > 0) { common++; counts[w] = c - 1; }
        if (common == 0) return 0;
        double precision = (double)common / p.Length, recall = (double)common / g.Length;
        return 2 * precision * recall / (precision + recall);
    }
}
