namespace MLNetTransformers.Metrics;

/// <summary>
/// The "no answer" thresholds that score best on questions with known answers, as SQuAD 2.0's official evaluation
/// (evaluate-v2.0.py's <c>find_best_thresh</c>) finds them: each question has a best answer and a no-answer score d, the
/// reader answers "no answer" when d is above the threshold τ, and τ is swept over the questions' own scores for the best
/// exact match and the best F1 (<see cref="QuestionAnsweringMetrics"/>). A reader's d is ln(p(no answer) / p(best
/// answer)), transformers' <c>null_score_diff_threshold</c> of its question-answering examples: the [CLS] token's start
/// and end logits less the best span's.
/// </summary>
/// <param name="BestExactMatch">The exact match at <paramref name="BestExactMatchThreshold"/>.</param>
/// <param name="BestExactMatchThreshold">The threshold of the best exact match (the lowest, when several tie).</param>
/// <param name="BestF1">The F1 at <paramref name="BestF1Threshold"/>.</param>
/// <param name="BestF1Threshold">The threshold of the best F1 (the lowest, when several tie).</param>
/// <param name="Questions">Questions scored.</param>
public sealed record NoAnswerThresholds(double BestExactMatch, float BestExactMatchThreshold, double BestF1, float BestF1Threshold, int Questions)
{
    /// <summary>
    /// The threshold below every score: "no answer" to every question whose score is a number (<see cref="float.MinValue"/>,
    /// finite, so that a reader saves it).
    /// </summary>
    public const float Lowest = float.MinValue;

    /// <summary>Sweeps the threshold over <paramref name="noAnswerScores"/> for the best exact match and F1.</summary>
    /// <param name="gold">Each question's gold answers (an empty text: the context holds none).</param>
    /// <param name="answers">Each question's best answer other than "no answer" ("" when its context offers none).</param>
    /// <param name="noAnswerScores">Each question's no-answer score d: "no answer" when d &gt; τ (NaN or −∞: never; +∞: always).</param>
    public static NoAnswerThresholds Find(IReadOnlyList<IReadOnlyList<string>> gold, IReadOnlyList<string> answers, IReadOnlyList<float> noAnswerScores)
    {
        ArgumentNullException.ThrowIfNull(gold);
        ArgumentNullException.ThrowIfNull(answers);
        ArgumentNullException.ThrowIfNull(noAnswerScores);
        if (answers.Count != gold.Count || noAnswerScores.Count != gold.Count)
            throw new ArgumentException($"There are {gold.Count} questions with gold answers, {answers.Count} answers and {noAnswerScores.Count} no-answer scores; each question needs one of each.");
        for (int i = 0; i < gold.Count; i++)
            if (gold[i].Count == 0) throw new ArgumentException($"Question {i} has no gold answer.");
        if (gold.Count == 0) return new NoAnswerThresholds(0, Lowest, 0, Lowest, 0);
        var (exact, exactAt) = Best(gold, answers, noAnswerScores, QuestionAnsweringMetrics.ExactMatchOf);
        var (f1, f1At) = Best(gold, answers, noAnswerScores, QuestionAnsweringMetrics.F1Of);
        return new NoAnswerThresholds(exact / gold.Count, exactAt, f1 / gold.Count, f1At, gold.Count);
    }

    // The best total of `metric` and its threshold: from τ = Lowest ("no answer" wherever d is a number above it), raising
    // τ to each score in turn lets the questions of that score answer.
    private static (double Total, float Threshold) Best(IReadOnlyList<IReadOnlyList<string>> gold, IReadOnlyList<string> answers, IReadOnlyList<float> scores,
        Func<IReadOnlyList<string>, string, double> metric)
    {
        int n = gold.Count;
        var answered = new double[n];
        var none = new double[n];
        double total = 0;
        for (int i = 0; i < n; i++)
        {
            (answered[i], none[i]) = (metric(gold[i], answers[i] ?? ""), metric(gold[i], ""));
            total += scores[i] > Lowest ? none[i] : answered[i];
        }
        var order = Enumerable.Range(0, n).Where(i => scores[i] > Lowest && float.IsFinite(scores[i])).OrderBy(i => scores[i]).ToArray();
        var (best, at) = (total, Lowest);
        for (int k = 0; k < order.Length;)
        {
            float d = scores[order[k]];
            for (; k < order.Length && scores[order[k]] == d; k++) total += answered[order[k]] - none[order[k]];
            if (total > best) (best, at) = (total, d);
        }
        return (best, at);
    }
}
