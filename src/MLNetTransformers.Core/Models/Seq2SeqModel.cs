namespace MLNetTransformers.Core.Models;

/// <summary>
/// What the library's encoder-decoders share (<see cref="TransformerSeq2Seq"/>, <see cref="RnnSeq2Seq"/>): the config and
/// parameters, label smoothing, the checks of a batch's two sides, the training loss and the copy for serving. A model
/// supplies its forward pass, its backward pass and its incremental decoder.
/// </summary>
public abstract class Seq2SeqModel : ISeq2SeqModel
{
    private readonly CrossEntropy _loss = new();

    private protected Seq2SeqModel(Seq2SeqConfig config, bool transformer)
    {
        Config = config.Validate();
        if (transformer && Config.Architecture != Seq2SeqArchitecture.Transformer)
            throw new ArgumentException($"The config describes a {Config.Architecture} model; build it with RnnSeq2Seq.", nameof(config));
        if (!transformer && Config.Architecture == Seq2SeqArchitecture.Transformer)
            throw new ArgumentException("The config describes a transformer; build it with TransformerSeq2Seq.", nameof(config));
    }

    /// <summary>Vocabularies, widths and architecture.</summary>
    public Seq2SeqConfig Config { get; }
    TransformerConfig ITransformerModel.Config => Config;
    /// <inheritdoc/>
    public ParameterSet Parameters { get; } = new();
    /// <inheritdoc/>
    public abstract ModelKind Kind { get; }
    /// <summary>Label smoothing ε of the training loss.</summary>
    public float LabelSmoothing { get; set; }

    /// <summary>The managed incremental decoder of this model (key/value caches or GRU states, batched steps) for <see cref="Seq2SeqDecoder"/>; one per thread.</summary>
    public abstract IIncrementalDecoder CreateIncrementalDecoder();

    /// <summary>A new instance with the same config and a copy of the weights (layers keep per-call buffers, so concurrent callers each need one).</summary>
    public Seq2SeqModel Copy()
    {
        var copy = WithSameConfig();
        copy.LabelSmoothing = LabelSmoothing;
        return copy.WithWeightsOf(this);
    }
    ISeq2SeqModel ISeq2SeqModel.Copy() => Copy();

    /// <summary>A fresh instance of the same class and config (its weights are then overwritten).</summary>
    private protected abstract Seq2SeqModel WithSameConfig();

    /// <summary>Next-token logits [B, T, vocab] of the target given its source (a buffer reused by the next call).</summary>
    /// <param name="batch">The target side, with the source in <see cref="TokenBatch.Source"/>.</param>
    /// <param name="training">Whether dropout is active.</param>
    public abstract float[] Forward(TokenBatch batch, bool training = false);

    /// <inheritdoc/>
    public abstract float ForwardBackward(TokenBatch batch);

    /// <inheritdoc/>
    public float Loss(TokenBatch batch)
    {
        var targets = RequireTargets(batch);
        return _loss.Compute(Forward(batch), targets, batch.BatchSize * batch.SeqLen, Config.VocabSize, labelSmoothing: LabelSmoothing);
    }

    /// <summary>The training forward's loss, its gradient written over <paramref name="logits"/> [n, vocab].</summary>
    private protected float LossGradient(float[] logits, int[] targets, int n) =>
        _loss.Compute(logits, targets, n, Config.VocabSize, dlogits: logits, labelSmoothing: LabelSmoothing);

    /// <summary>The batch's source side, one sequence per target.</summary>
    private protected static TokenBatch RequireSource(TokenBatch batch) =>
        batch.Source is { } s
            ? s.BatchSize == batch.BatchSize ? s : throw new ArgumentException($"The source holds {s.BatchSize} sequences for {batch.BatchSize} targets.", nameof(batch))
            : throw new ArgumentException("The batch has no source: an encoder-decoder reads TokenBatch.Source.", nameof(batch));

    /// <summary>The batch's next-token targets [B·T] (after checking its source).</summary>
    private protected static int[] RequireTargets(TokenBatch batch)
    {
        RequireSource(batch);
        int n = batch.BatchSize * batch.SeqLen;
        var t = batch.Labels ?? throw new ArgumentException("The batch has no targets; an encoder-decoder needs one next-token target per target position.", nameof(batch));
        if (t.Length < n) throw new ArgumentException($"The batch has {t.Length} targets for {n} positions.", nameof(batch));
        return t;
    }
}
