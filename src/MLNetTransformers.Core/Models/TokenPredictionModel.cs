namespace MLNetTransformers.Core.Models;

/// <summary>
/// A stack whose every position predicts one of <see cref="Outputs"/> classes through a linear head, trained with
/// cross-entropy on per-position targets (−100 = no target there): the causal language model (the next token), the masked
/// language model (the masked token), both over the vocabulary, and the token classifier (a tag per word).
/// </summary>
public abstract class TokenPredictionModel : ITrainableModel
{
    private readonly CrossEntropy _loss = new();
    private bool[]? _padding;

    // The derived model declares its stack, then its head (the order of the parameters in checkpoints), then allocates.
    private protected TokenPredictionModel(TransformerConfig config)
    {
        Config = config;
        Parameters = new ParameterSet();
    }

    /// <inheritdoc/>
    public TransformerConfig Config { get; }
    /// <inheritdoc/>
    public ParameterSet Parameters { get; }
    /// <inheritdoc/>
    public abstract ModelKind Kind { get; }
    /// <summary>The output projection to the vocabulary, [vocab, d].</summary>
    public Linear Head { get; private protected set; } = null!;

    /// <summary>Classes each position predicts: the vocabulary unless the model says otherwise.</summary>
    public virtual int Outputs => Config.VocabSize;

    /// <summary>Hidden states [B, T, d] of the stack.</summary>
    private protected abstract float[] Hidden(TokenBatch batch, bool[]? padding, bool training);
    /// <summary>Backward of <see cref="Hidden"/>.</summary>
    private protected abstract void HiddenBackward(float[] dhidden, int batch, int seqLen);

    /// <summary>Logits [B, T, <see cref="Outputs"/>] (a buffer reused by the next call).</summary>
    /// <param name="batch">Token ids and attention mask, [B, T] (targets are not read).</param>
    /// <param name="training">Whether dropout is active.</param>
    public float[] Forward(TokenBatch batch, bool training = false) =>
        Head.Forward(Hidden(batch, batch.PaddingFlags(ref _padding), training), batch.BatchSize * batch.SeqLen);

    /// <inheritdoc/>
    public virtual float ForwardBackward(TokenBatch batch)
    {
        var targets = RequireTargets(batch);
        int n = batch.BatchSize * batch.SeqLen;
        var logits = Forward(batch, training: true);
        float loss = _loss.Compute(logits, targets, n, Outputs, dlogits: logits);
        HiddenBackward(Head.Backward(logits, n), batch.BatchSize, batch.SeqLen);
        return loss;
    }

    /// <inheritdoc/>
    public virtual float Loss(TokenBatch batch) =>
        _loss.Compute(Forward(batch), RequireTargets(batch), batch.BatchSize * batch.SeqLen, Outputs);

    private static int[] RequireTargets(TokenBatch batch)
    {
        int n = batch.BatchSize * batch.SeqLen;
        var t = batch.Labels ?? throw new ArgumentException("The batch has no targets; this model needs one target per position (−100 where there is none).", nameof(batch));
        if (t.Length < n) throw new ArgumentException($"The batch has {t.Length} targets for {n} positions.", nameof(batch));
        return t;
    }
}
