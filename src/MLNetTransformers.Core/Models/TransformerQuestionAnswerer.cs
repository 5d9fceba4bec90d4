namespace MLNetTransformers.Core.Models;

/// <summary>
/// Extractive question answering, as Hugging Face's <c>*ForQuestionAnswering</c>: a <see cref="TransformerEncoder"/>
/// (parameter names as in <see cref="TransformerClassifier"/>, so a pretrained encoder loads into it) reads
/// <c>[CLS] question [SEP] context [SEP]</c>, and a linear head <c>head</c> [2, d] (transformers' <c>qa_outputs</c>) gives
/// every position a start logit (output 0) and an end logit (output 1). With <see cref="TransformerConfig.Pooler"/> the
/// encoder's pooler (dense, activation, and norm with <see cref="TransformerConfig.PoolerNorm"/>) first runs at every
/// position: ModernBERT's reader puts its head there, as its token classifier does; in training, dropout before the head
/// (<see cref="TransformerConfig.ClassifierDropout"/>: DistilBERT's and ModernBERT's readers have it). Trained as transformers trains it: for each
/// sequence, cross-entropy of its start logits over the positions against the answer's first token, the same for the end
/// logits against its last token, the two means averaged. Padding positions are left out of the softmax (transformers
/// includes them; the two agree on a batch without padding), so the loss does not depend on how a batch was padded.
/// </summary>
public sealed class TransformerQuestionAnswerer : PositionHeadModel
{
    private readonly CrossEntropy _loss = new();
    private bool[]? _padding;
    private float[]? _start, _end;

    /// <summary>Builds the model and initialises its weights from <paramref name="seed"/>.</summary>
    /// <param name="config">The encoder's shape; <see cref="ClassifierConfig.NumClasses"/> must be 2 (start and end). Pooling, n-grams and ensembles are a sequence classifier's and must be left unset.</param>
    /// <param name="seed">Seed of the initial weights and the dropout masks.</param>
    public TransformerQuestionAnswerer(ClassifierConfig config, ulong seed = 0)
        : base(Checked(config, "a question answerer", c =>
        {
            if (c.NumClasses != 2) throw new ArgumentException($"NumClasses is {c.NumClasses}: a question answerer has 2 outputs per position (start and end).", nameof(config));
        }), 2, seed, dropoutStream: 104_723) { }

    /// <summary>A new instance with the same config and a copy of the weights (layers keep per-call buffers, so concurrent callers each need one).</summary>
    public TransformerQuestionAnswerer Copy() => new TransformerQuestionAnswerer(Config).WithWeightsOf(this);

    /// <inheritdoc/>
    public override ModelKind Kind => ModelKind.QuestionAnswerer;
    /// <summary>2: the start and the end logit of every position.</summary>
    public override int Outputs => 2;

    /// <summary>
    /// The mean of the start and the end loss, and the gradient of every parameter. <see cref="TokenBatch.Labels"/> holds
    /// [B, 2]: each sequence's answer start and end token (a negative position such as −100, or one past the
    /// sequence, = nothing to learn there, as transformers ignores the positions it clamps to the sequence length).
    /// </summary>
    /// <param name="batch">Question-context sequences with their answers' token positions.</param>
    public override float ForwardBackward(TokenBatch batch)
    {
        var (start, end) = Targets(batch);
        int b = batch.BatchSize, t = batch.SeqLen, n = b * t;
        var logits = Forward(batch, training: true);
        var (s, e) = Split(logits, batch);
        float loss = 0.5f * (_loss.Compute(s, start, b, t, dlogits: s) + _loss.Compute(e, end, b, t, dlogits: e));
        // [B, T] gradients of each mean back into [B, T, 2], halved by the average.
        for (int i = 0; i < n; i++) (logits[2 * i], logits[2 * i + 1]) = (0.5f * s[i], 0.5f * e[i]);
        HiddenBackward(Head.Backward(logits, n), b, t);
        return loss;
    }

    /// <summary>The loss of <see cref="ForwardBackward"/> without training (no dropout, no gradients).</summary>
    /// <param name="batch">Question-context sequences with their answers' token positions.</param>
    public override float Loss(TokenBatch batch)
    {
        var (start, end) = Targets(batch);
        var (s, e) = Split(Forward(batch), batch);
        return 0.5f * (_loss.Compute(s, start, batch.BatchSize, batch.SeqLen) + _loss.Compute(e, end, batch.BatchSize, batch.SeqLen));
    }

    // Start and end logits [B, T] each, padding at −1e9 so that the softmax gives it no weight.
    private (float[] Start, float[] End) Split(float[] logits, TokenBatch batch)
    {
        int n = batch.BatchSize * batch.SeqLen;
        var s = Workspace.Ensure(ref _start, n);
        var e = Workspace.Ensure(ref _end, n);
        var padding = batch.PaddingFlags(ref _padding);
        for (int i = 0; i < n; i++)
        {
            bool pad = padding is not null && padding[i];
            s[i] = pad ? -1e9f : logits[2 * i];
            e[i] = pad ? -1e9f : logits[2 * i + 1];
        }
        return (s, e);
    }

    // The answers' start and end positions, each [B]; out of range = ignored, a padded position refused.
    private static (int[] Start, int[] End) Targets(TokenBatch batch)
    {
        int b = batch.BatchSize, t = batch.SeqLen;
        var labels = batch.Labels ?? throw new ArgumentException("The batch has no answers; a question answerer trains on [B, 2] start and end positions.", nameof(batch));
        if (labels.Length < 2 * b) throw new ArgumentException($"The batch has {labels.Length} answer positions for {b} sequences; each needs a start and an end.", nameof(batch));
        var start = new int[b];
        var end = new int[b];
        for (int i = 0; i < b; i++)
        {
            start[i] = Position(labels[2 * i], i, "start");
            end[i] = Position(labels[2 * i + 1], i, "end");
        }
        return (start, end);

        int Position(int p, int row, string what)
        {
            if (p < 0 || p >= t) return CrossEntropy.DefaultIgnoreIndex;
            if (batch.AttentionMask is { } m && m[row * t + p] == 0)
                throw new ArgumentException($"Sequence {row}'s answer {what} is position {p}, which is padding.", nameof(batch));
            return p;
        }
    }
}
