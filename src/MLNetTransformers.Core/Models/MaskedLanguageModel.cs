namespace MLNetTransformers.Core.Models;

/// <summary>
/// BERT-style masked-language-model pretraining: a <see cref="TransformerEncoder"/> (parameter names as in
/// <see cref="TransformerClassifier"/>, so the pretrained encoder loads into a classifier) and a head <c>mlm_head</c>
/// predicting the original token at masked positions. Targets are −100 everywhere except masked positions.
/// </summary>
public sealed class MaskedLanguageModel : TokenPredictionModel
{
    /// <summary>Builds the model and initialises its weights from <paramref name="seed"/>.</summary>
    /// <param name="config">The model's shape.</param>
    /// <param name="seed">Seed of the initial weights and the dropout masks.</param>
    public MaskedLanguageModel(TransformerConfig config, ulong seed = 0) : base(config.Validate().Shape())
    {
        Encoder = new TransformerEncoder(Parameters, "", Config, seed);
        Head = new Linear(Parameters, "mlm_head.", config.ModelDim, config.VocabSize);
        Parameters.Allocate(seed);
    }

    /// <inheritdoc/>
    public override ModelKind Kind => ModelKind.MaskedLanguageModel;
    /// <summary>The encoder being pretrained.</summary>
    public TransformerEncoder Encoder { get; }

    private protected override float[] Hidden(TokenBatch batch, bool[]? padding, bool training) =>
        Encoder.Forward(batch.Ids, batch.BatchSize, batch.SeqLen, padding, training);

    private protected override void HiddenBackward(float[] dhidden, int batch, int seqLen) => Encoder.Backward(dhidden, batch, seqLen);

    /// <summary>
    /// BERT's masking, in place: each real token that is not a special token is chosen with probability
    /// <paramref name="probability"/>; a chosen token's target is its id and it becomes [MASK] (80%), a random token
    /// (10%) or stays (10%). Every other target is −100. At least one token per sequence is chosen when possible.
    /// </summary>
    internal static void Mask(int[] ids, int[]? attentionMask, int[] targets, int batch, int seqLen, ISet<int> specialIds, int maskId, int vocabSize,
        ref DeterministicRandom rng, float probability = 0.15f)
    {
        if (!(probability > 0f && probability < 1f)) throw new ArgumentOutOfRangeException(nameof(probability), probability, "Mask probability must be in (0, 1).");
        for (int b = 0; b < batch; b++)
        {
            int chosen = 0, firstCandidate = -1;
            for (int t = 0; t < seqLen; t++)
            {
                int i = b * seqLen + t;
                targets[i] = CrossEntropy.DefaultIgnoreIndex;
                if (attentionMask is not null && attentionMask[i] == 0 || specialIds.Contains(ids[i])) continue;
                if (firstCandidate < 0) firstCandidate = i;
                if (rng.NextFloat() >= probability) continue;
                Corrupt(ids, targets, i, maskId, vocabSize, ref rng);
                chosen++;
            }
            if (chosen == 0 && firstCandidate >= 0) Corrupt(ids, targets, firstCandidate, maskId, vocabSize, ref rng);
        }
    }

    private static void Corrupt(int[] ids, int[] targets, int i, int maskId, int vocabSize, ref DeterministicRandom rng)
    {
        targets[i] = ids[i];
        float r = rng.NextFloat();
        if (r < 0.8f) ids[i] = maskId;
        else if (r < 0.9f) ids[i] = rng.NextInt(vocabSize);
    }
}
