using MLNetTransformers.TokenClassification;

namespace MLNetTransformers.Metrics;

/// <summary>
/// Tagging quality as seqeval reports it for IOB2 tags (the CoNLL-2003 measure): entities found by their type and exact
/// span (grouped as <see cref="TokenClassificationTransformer.EntitiesOf"/> groups them), micro-averaged precision, recall
/// and F1, and the share of words tagged right.
/// </summary>
/// <param name="Precision">Predicted entities that are gold entities (same type, same words), 0 when none is predicted.</param>
/// <param name="Recall">Gold entities predicted, 0 when there are none.</param>
/// <param name="F1">Harmonic mean of precision and recall (0 when both are 0).</param>
/// <param name="TagAccuracy">Words whose tag is the gold tag.</param>
/// <param name="Entities">Gold entities.</param>
/// <param name="PredictedEntities">Predicted entities.</param>
/// <param name="Words">Words scored.</param>
public sealed record TaggingMetrics(double Precision, double Recall, double F1, double TagAccuracy, int Entities, int PredictedEntities, int Words)
{
    /// <summary>Scores predicted tag sequences against gold ones, text by text (the same number of tags in each pair).</summary>
    /// <param name="gold">Each text's gold tags.</param>
    /// <param name="predicted">Each text's predicted tags, in the same order.</param>
    public static TaggingMetrics Compute(IReadOnlyList<IReadOnlyList<string>> gold, IReadOnlyList<IReadOnlyList<string>> predicted)
    {
        ArgumentNullException.ThrowIfNull(gold);
        ArgumentNullException.ThrowIfNull(predicted);
        if (gold.Count != predicted.Count) throw new ArgumentException($"There are {gold.Count} gold texts and {predicted.Count} predicted ones; each needs one.");
        int words = 0, right = 0, goldEntities = 0, predictedEntities = 0, correct = 0;
        for (int i = 0; i < gold.Count; i++)
        {
            if (gold[i].Count != predicted[i].Count)
                throw new ArgumentException($"Text {i} has {gold[i].Count} gold tags and {predicted[i].Count} predicted ones; each word needs one of each.");
            words += gold[i].Count;
            for (int w = 0; w < gold[i].Count; w++) if (gold[i][w] == predicted[i][w]) right++;
            var expected = Spans(gold[i]);
            var found = Spans(predicted[i]);
            goldEntities += expected.Count;
            predictedEntities += found.Count;
            correct += found.Count(expected.Contains);
        }
        double precision = predictedEntities == 0 ? 0 : (double)correct / predictedEntities, recall = goldEntities == 0 ? 0 : (double)correct / goldEntities;
        double f1 = precision + recall == 0 ? 0 : 2 * precision * recall / (precision + recall);
        return new TaggingMetrics(precision, recall, f1, words == 0 ? 0 : (double)right / words, goldEntities, predictedEntities, words);
    }

    // A text's entities as (type, first word, last word).
    private static HashSet<(string, int, int)> Spans(IReadOnlyList<string> tags) =>
        TokenClassificationTransformer.EntitiesOf(tags.Select((t, i) => new TaggedWord("", i, t, 0f)).ToArray()).Select(e => (e.Type, e.FirstWord, e.LastWord)).ToHashSet();
}
