namespace MLNetTransformers.Core.Models;

/// <summary>
/// BERT-style masked-language-model pretraining: a <see cref="TransformerEncoder"/> (parameter names as in
/// <see cref="TransformerClassifier"/>, so the pretrained encoder loads into a classifier) and a head <c>mlm_head</c>
/// predicting the original token at masked positions. Targets are −100 everywhere except masked positions. With
/// <see cref="TransformerConfig.MlmTransform"/> the head is BERT's own (<c>mlm_head.transform.*</c>, then the token
/// embedding as decoder with <c>mlm_head.bias</c>), so Hugging Face checkpoints with <c>cls.predictions</c> fill masks.
/// </summary>
public sealed class MaskedLanguageModel : TokenPredictionModel
{
    /// <summary>Builds the model and initialises its weights from <paramref name="seed"/>.</summary>
    /// <param name="config">The model's shape.</param>
    /// <param name="seed">Seed of the initial weights and the dropout masks.</param>
    public MaskedLanguageModel(TransformerConfig config, ulong seed = 0) : base(config.Validate().Shape())
    {
        Encoder = new TransformerEncoder(Parameters, "", Config, seed);
        if (Config.MlmTransform)
        {
            // The transform ends at the token embedding's width, which the tied decoder reads (narrower for ELECTRA's generator).
            Transform = new PredictionTransform(Parameters, "mlm_head.transform.", Config.ModelDim, Config.Activation, Config.LayerNormEps, Config.EmbeddingWidth, Config.Biases, Config.NormBiases);
            Head = new Linear(Parameters, "mlm_head.", Parameters["tok.weight"]); // tied to the token embedding, a bias of its own
        }
        else Head = new Linear(Parameters, "mlm_head.", config.ModelDim, config.VocabSize);
        if (Config.NextSentenceHead)
        {
            if (Encoder.Pooler is null) throw new ArgumentException("A next-sentence head reads the pooler over [CLS]: set Pooler as well.", nameof(config));
            NextSentence = new Linear(Parameters, "nsp_head.", Config.ModelDim, 2);
        }
        Parameters.Allocate(seed);
    }

    private readonly CrossEntropy _nspLoss = new();
    private float[]? _first;
    private bool[]? _nspPadding;

    /// <summary>The next-sentence head (<see cref="TransformerConfig.NextSentenceHead"/>), or null.</summary>
    public Linear? NextSentence { get; }

    /// <summary>
    /// Next-sentence logits [B, 2] (0 = is next, 1 = random) from the pooler over [CLS], inference mode (a buffer reused by
    /// the next call).
    /// </summary>
    /// <param name="batch">Segment pairs [CLS] A [SEP] B [SEP] with their token types.</param>
    public float[] NextSentenceLogits(TokenBatch batch)
    {
        var head = NextSentence ?? throw new InvalidOperationException("This masked LM has no next-sentence head.");
        var hidden = Encoder.Forward(batch.Ids, batch.TokenTypeIds, batch.BatchSize, batch.SeqLen, batch.PaddingFlags(ref _nspPadding), training: false);
        return head.Forward(Encoder.Pooler!.Forward(FirstTokens(hidden, batch.BatchSize, batch.SeqLen), batch.BatchSize), batch.BatchSize);
    }

    // [CLS] states [B, d] of hidden [B, T, d].
    private float[] FirstTokens(float[] hidden, int b, int t)
    {
        int d = Config.ModelDim;
        var first = Workspace.Ensure(ref _first, b * d);
        for (int r = 0; r < b; r++) hidden.AsSpan(r * t * d, d).CopyTo(first.AsSpan(r * d));
        return first;
    }

    /// <inheritdoc/>
    /// <remarks>With a next-sentence head and <see cref="TokenBatch.NextSentenceLabels"/>, the masked-LM loss plus the next-sentence cross-entropy.</remarks>
    public override float ForwardBackward(TokenBatch batch) => NextSentence is null || batch.NextSentenceLabels is null ? base.ForwardBackward(batch) : Joint(batch, backward: true);

    /// <inheritdoc/>
    public override float Loss(TokenBatch batch) => NextSentence is null || batch.NextSentenceLabels is null ? base.Loss(batch) : Joint(batch, backward: false);

    /// <summary>Masked-LM and next-sentence loss of the last <see cref="ForwardBackward"/> or <see cref="Loss"/> call, apart.</summary>
    public (float MaskedLm, float NextSentence) LastLosses { get; private set; }
    /// <summary>Next-sentence predictions of the last joint call that were right, and how many there were.</summary>
    public (int Correct, int Total) LastNextSentence { get; private set; }

    // One forward through the encoder for both heads: the masked-LM logits at every position, the next-sentence logits from
    // the pooler over [CLS]; backward adds both gradients into the hidden states.
    private float Joint(TokenBatch batch, bool backward)
    {
        int b = batch.BatchSize, t = batch.SeqLen, n = b * t, d = Config.ModelDim;
        var labels = batch.NextSentenceLabels!;
        if (labels.Length < b) throw new ArgumentException($"The batch has {labels.Length} next-sentence labels for {b} sequences.", nameof(batch));
        var targets = batch.Labels ?? throw new ArgumentException("The batch has no masked-LM targets.", nameof(batch));
        var hidden = Encoder.Forward(batch.Ids, batch.TokenTypeIds, b, t, batch.PaddingFlags(ref _nspPadding), training: backward);
        var nsp = NextSentence!.Forward(Encoder.Pooler!.Forward(FirstTokens(hidden, b, t), b), b);
        int correct = 0;
        for (int r = 0; r < b; r++) if ((nsp[2 * r + 1] > nsp[2 * r] ? 1 : 0) == labels[r]) correct++;
        LastNextSentence = (correct, b);
        float nspLoss = _nspLoss.Compute(nsp, labels, b, 2, dlogits: backward ? nsp : null);
        var h = Transform is null ? hidden : Transform.Forward(hidden, n);
        var logits = Head.Forward(h, n);
        float mlmLoss = _mlmLoss.Compute(logits, targets, n, Config.VocabSize, dlogits: backward ? logits : null);
        LastLosses = (mlmLoss, nspLoss);
        if (!backward) return mlmLoss + nspLoss;
        var dh = Head.Backward(logits, n);
        var dhidden = Transform is null ? dh : Transform.Backward(dh);
        var dfirst = Encoder.Pooler.Backward(NextSentence.Backward(nsp, b));
        for (int r = 0; r < b; r++) TensorPrimitives.Add(dhidden.AsSpan(r * t * d, d), dfirst.AsSpan(r * d, d), dhidden.AsSpan(r * t * d, d));
        Encoder.Backward(dhidden, b, t);
        return mlmLoss + nspLoss;
    }

    private readonly CrossEntropy _mlmLoss = new();

    /// <summary>A new instance with the same config and a copy of the weights (layers keep per-call buffers, so concurrent callers each need one).</summary>
    public MaskedLanguageModel Copy() => new MaskedLanguageModel(Config).WithWeightsOf(this);

    /// <summary>BERT's head transform before the decoder (<see cref="TransformerConfig.MlmTransform"/>), or null.</summary>
    public PredictionTransform? Transform { get; }

    /// <inheritdoc/>
    public override ModelKind Kind => ModelKind.MaskedLanguageModel;
    /// <summary>The encoder being pretrained.</summary>
    public TransformerEncoder Encoder { get; }

    private protected override float[] Hidden(TokenBatch batch, bool[]? padding, bool training)
    {
        var hidden = Encoder.Forward(batch.Ids, batch.TokenTypeIds, batch.BatchSize, batch.SeqLen, padding, training);
        return Transform is null ? hidden : Transform.Forward(hidden, batch.BatchSize * batch.SeqLen);
    }

    private protected override void HiddenBackward(float[] dhidden, int batch, int seqLen) =>
        Encoder.Backward(Transform is null ? dhidden : Transform.Backward(dhidden), batch, seqLen);

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
