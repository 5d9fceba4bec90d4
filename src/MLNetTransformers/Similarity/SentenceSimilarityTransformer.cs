using MLNetTransformers.Persistence;

namespace MLNetTransformers.Similarity;

/// <summary>
/// Scores sentence pairs with a bi-encoder (<see cref="BiEncoder"/>): each sentence embedded on its own by the trained
/// encoder, <c>Score</c> = the cosine similarity of the two vectors mapped onto the label range the model was trained on
/// (min + cos·(max − min), so a cosine of 1 reads as the most similar label). Lazy, batched, thread-safe.
/// </summary>
public sealed class SentenceSimilarityTransformer : LazyRowTransformer, IModelPart, IModelPartLoader<SentenceSimilarityTransformer>
{
    static string IModelPartLoader<SentenceSimilarityTransformer>.Kind => "bi_encoder";

    private sealed record BiEncoderRecord(string Tokenizer, string Checkpoint, string Sentence1, string Sentence2, string Score, float Min, float Max, string? Label);

    object IModelPart.SavePart(ModelPartWriter w) => new BiEncoderRecord(w.Tokenizer(Tokenizer), w.Checkpoint(Encoder), Sentence1ColumnName, Sentence2ColumnName,
        ScoreColumnName, LabelRange.Min, LabelRange.Max, LabelColumnName);

    static ITransformer IModelPartLoader<SentenceSimilarityTransformer>.LoadPart(ModelPartReader r)
    {
        var rec = r.Record<BiEncoderRecord>();
        var encoder = r.Checkpoint<TransformerEncoder>(rec.Checkpoint);
        if (!(float.IsFinite(rec.Min) && float.IsFinite(rec.Max) && rec.Max > rec.Min))
            throw new InvalidDataException($"Model file '{r.Path}': the bi-encoder's label range [{rec.Min}, {rec.Max}] is not a range.");
        return new SentenceSimilarityTransformer(r.Tokenizer(rec.Tokenizer), encoder, (rec.Min, rec.Max), rec.Sentence1, rec.Sentence2, rec.Score) { LabelColumnName = rec.Label };
    }

    private readonly ReplicaPool<BiEncoder> _replicas;

    internal SentenceSimilarityTransformer(TextTokenizer tokenizer, TransformerEncoder encoder, (float Min, float Max) labelRange,
        string sentence1, string sentence2, string score)
    {
        Tokenizer = tokenizer;
        Encoder = encoder;
        LabelRange = labelRange;
        (Sentence1ColumnName, Sentence2ColumnName, ScoreColumnName) = (sentence1, sentence2, score);
        _replicas = new ReplicaPool<BiEncoder>(() =>
        {
            var copy = encoder.Copy();
            InferencePanels.AttachForGood(copy); // a replica's weights never change
            return new BiEncoder(copy);
        });
    }

    /// <summary>The encoder's tokenizer.</summary>
    public TextTokenizer Tokenizer { get; }
    /// <summary>The trained encoder: also an embedding model (<c>FeaturizeWithTransformer</c>, <see cref="Featurization.EncoderFeaturizerTransformer"/>).</summary>
    public TransformerEncoder Encoder { get; }
    /// <summary>The training labels' smallest and largest values: cosine 0 maps to the first, 1 to the second.</summary>
    public (float Min, float Max) LabelRange { get; }
    /// <summary>First sentence column read.</summary>
    public string Sentence1ColumnName { get; }
    /// <summary>Second sentence column read.</summary>
    public string Sentence2ColumnName { get; }
    /// <summary>Score column written.</summary>
    public string ScoreColumnName { get; }
    /// <summary>The label column the model was trained on.</summary>
    public string? LabelColumnName { get; internal init; }
    /// <summary>How training went (null for a loaded model).</summary>
    public Classification.TrainingSummary? TrainingSummary { get; internal init; }

    /// <summary>The cosine similarity of the two sentences' embeddings, in [−1, 1] (thread-safe).</summary>
    /// <param name="sentence1">The first sentence.</param>
    /// <param name="sentence2">The second sentence.</param>
    public float Cosine(string? sentence1, string? sentence2)
    {
        var cos = new float[1];
        Cosines([sentence1], [sentence2], cos);
        return cos[0];
    }

    /// <summary>The <c>Score</c> of a pair whose <see cref="Cosine"/> is <paramref name="cosine"/>: min + cos·(max − min) over <see cref="LabelRange"/>.</summary>
    /// <param name="cosine">A cosine similarity.</param>
    public float ScoreOf(float cosine) => LabelRange.Min + cosine * (LabelRange.Max - LabelRange.Min);

    /// <summary>Cosines of pairs, written into <paramref name="cosines"/>.</summary>
    internal void Cosines(IReadOnlyList<string?> firsts, IReadOnlyList<string?> seconds, Span<float> cosines)
    {
        int n = firsts.Count;
        var a = new EncodedTexts(Tokenizer, firsts);
        var b = new EncodedTexts(Tokenizer, seconds);
        var batch = BiEncoderBatches.Pack(a, b, Enumerable.Range(0, n).ToArray(), null);
        _replicas.Use(m => m.Similarities(batch).AsSpan(0, n).ToArray()).CopyTo(cosines);
    }

    /// <inheritdoc/>
    private protected override ColumnMapper CreateMapper(DataViewSchema inputSchema) => new Mapper(this, inputSchema);

    private sealed class Mapper(SentenceSimilarityTransformer p, DataViewSchema input)
        : TextColumnMapper(input, p.Sentence1ColumnName, [new DataViewSchema.DetachedColumn(p.ScoreColumnName, NumberDataViewType.Single)], p.Sentence2ColumnName)
    {
        public override Delegate?[] CreateGetters(RowContext row, bool[] active)
        {
            var cache = new BatchedRows<(string?, string?), float>(row, new[] { Text, SecondText!.Value }, 1, BatchedRows<string?, float>.Pair(Text, SecondText!.Value),
                (pairs, results) =>
                {
                    p.Cosines(pairs.Select(x => x.Item1).ToArray(), pairs.Select(x => x.Item2).ToArray(), results);
                    for (int i = 0; i < pairs.Count; i++) results[i] = p.ScoreOf(results[i]);
                });
            return new Delegate?[] { active[0] ? (ValueGetter<float>)((ref float v) => v = cache.Current()[0]) : null };
        }
    }
}
