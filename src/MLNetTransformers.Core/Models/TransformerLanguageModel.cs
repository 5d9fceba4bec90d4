using MLNetTransformers.Core.Kernels;
using MLNetTransformers.Core.Layers;

namespace MLNetTransformers.Core.Models;

/// <summary>
/// GPT-style causal language model: <see cref="TransformerDecoder"/> (no cross-attention) → linear head
/// <c>head</c> [vocab, d] giving next-token logits at every position.
/// </summary>
public sealed class TransformerLanguageModel : ITrainableModel
{
    private readonly CrossEntropy _loss = new();
    private bool[]? _padding;

    /// <summary>Builds the model and initialises its weights from <paramref name="seed"/>.</summary>
    /// <param name="config">The model's shape.</param>
    /// <param name="seed">Seed of the initial weights and the dropout masks.</param>
    public TransformerLanguageModel(TransformerConfig config, ulong seed = 0)
    {
        Config = config.Validate() with { CrossAttention = false };
        Parameters = new ParameterSet();
        Decoder = new TransformerDecoder(Parameters, "", Config, seed);
        Head = new Linear(Parameters, "head.", config.ModelDim, config.VocabSize);
        Parameters.Allocate(seed);
    }

    /// <summary>A new instance with the same config and a copy of the weights (layers keep per-call buffers, so concurrent callers each need one).</summary>
    public TransformerLanguageModel Copy()
    {
        var copy = new TransformerLanguageModel(Config);
        Parameters.Data.CopyTo(copy.Parameters.Data, 0);
        return copy;
    }

    /// <inheritdoc/>
    public TransformerConfig Config { get; }
    /// <inheritdoc/>
    public ParameterSet Parameters { get; }
    /// <inheritdoc/>
    public ModelKind Kind => ModelKind.LanguageModel;
    /// <summary>The decoder stack.</summary>
    public TransformerDecoder Decoder { get; }
    /// <summary>The output projection to the vocabulary.</summary>
    public Linear Head { get; }

    /// <summary>Logits [B, T, vocab] (a buffer reused by the next call).</summary>
    /// <param name="batch">Token ids [B, T] (and targets, unused here).</param>
    /// <param name="training">Whether dropout is active.</param>
    public float[] Forward(TokenBatch batch, bool training = false)
    {
        var padding = batch.PaddingFlags(ref _padding);
        var hidden = Decoder.Forward(batch.Ids, batch.BatchSize, batch.SeqLen, padding, training);
        return Head.Forward(hidden, batch.BatchSize * batch.SeqLen);
    }

    /// <summary>An empty key/value cache for incremental decoding of one sequence of up to MaxLength positions.</summary>
    public KvCache CreateCache() => new(Config);

    /// <summary>
    /// Logits [n, vocab] of <paramref name="n"/> new tokens appended to the sequence held in <paramref name="cache"/>
    /// (which then holds them too). Equals the last n rows of <see cref="Forward"/> on the whole sequence.
    /// </summary>
    /// <param name="ids">Ids of the new tokens of one sequence.</param>
    /// <param name="n">New tokens.</param>
    /// <param name="cache">Keys and values of the positions already processed.</param>
    public float[] ForwardIncremental(int[] ids, int n, KvCache cache)
    {
        if (cache.Capacity != Config.MaxLength || cache.Layers.Count != Config.Layers) throw new ArgumentException("The cache was made for another model.", nameof(cache));
        return Head.Forward(Decoder.ForwardIncremental(ids, n, cache), n);
    }

    /// <inheritdoc/>
    public float ForwardBackward(TokenBatch batch)
    {
        var targets = RequireTargets(batch);
        int n = batch.BatchSize * batch.SeqLen;
        var logits = Forward(batch, training: true);
        float loss = _loss.Compute(logits, targets, n, Config.VocabSize, dlogits: logits);
        Decoder.Backward(Head.Backward(logits, n), batch.BatchSize, batch.SeqLen);
        return loss;
    }

    /// <inheritdoc/>
    public float Loss(TokenBatch batch) =>
        _loss.Compute(Forward(batch), RequireTargets(batch), batch.BatchSize * batch.SeqLen, Config.VocabSize);

    private static int[] RequireTargets(TokenBatch batch)
    {
        int n = batch.BatchSize * batch.SeqLen;
        var t = batch.Labels ?? throw new ArgumentException("The batch has no targets; a language model needs one next-token target per position.", nameof(batch));
        if (t.Length < n) throw new ArgumentException($"The batch has {t.Length} targets for {n} positions.", nameof(batch));
        return t;
    }
}
