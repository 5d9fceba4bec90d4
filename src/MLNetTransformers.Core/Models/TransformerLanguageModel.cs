namespace MLNetTransformers.Core.Models;

/// <summary>
/// GPT-style causal language model: <see cref="TransformerDecoder"/> (no cross-attention) → linear head
/// <c>head</c> [vocab, d] giving next-token logits at every position.
/// </summary>
public sealed class TransformerLanguageModel : TokenPredictionModel
{
    /// <summary>Builds the model and initialises its weights from <paramref name="seed"/>.</summary>
    /// <param name="config">The model's shape.</param>
    /// <param name="seed">Seed of the initial weights and the dropout masks.</param>
    public TransformerLanguageModel(TransformerConfig config, ulong seed = 0) : base(config.Validate().Shape() with { CrossAttention = false })
    {
        Decoder = new TransformerDecoder(Parameters, "", Config, seed);
        Head = new Linear(Parameters, "head.", config.ModelDim, config.VocabSize);
        Parameters.Allocate(seed);
    }

    /// <summary>A new instance with the same config and a copy of the weights (layers keep per-call buffers, so concurrent callers each need one).</summary>
    public TransformerLanguageModel Copy() => new TransformerLanguageModel(Config).WithWeightsOf(this);

    /// <inheritdoc/>
    public override ModelKind Kind => ModelKind.LanguageModel;
    /// <summary>The decoder stack.</summary>
    public TransformerDecoder Decoder { get; }

    private protected override float[] Hidden(TokenBatch batch, bool[]? padding, bool training) =>
        Decoder.Forward(batch.Ids, batch.BatchSize, batch.SeqLen, padding, training);

    private protected override void HiddenBackward(float[] dhidden, int batch, int seqLen) => Decoder.Backward(dhidden, batch, seqLen);

    /// <summary>An empty key/value cache for incremental decoding of one sequence of up to MaxLength positions.</summary>
    public KvCache CreateCache() => new(Config);

    /// <summary>
    /// Logits [n, vocab] of <paramref name="n"/> new tokens appended to the sequence held in <paramref name="cache"/>
    /// (which then holds them too). Equals the last n rows of <see cref="TokenPredictionModel.Forward"/> on the whole sequence.
    /// </summary>
    /// <param name="ids">Ids of the new tokens of one sequence.</param>
    /// <param name="n">New tokens.</param>
    /// <param name="cache">Keys and values of the positions already processed.</param>
    public float[] ForwardIncremental(int[] ids, int n, KvCache cache)
    {
        CheckCache(cache, nameof(cache));
        return Head.Forward(Decoder.ForwardIncremental(ids, n, cache), n);
    }

    /// <summary>
    /// As <see cref="ForwardIncremental"/> for several sequences at once (prompts read together: sequence s brings the
    /// next <paramref name="lengths"/>[s] ids), but only the logits of each sequence's last new token, [count, vocab]:
    /// reading a prompt needs no others, and the head is the largest product of a step.
    /// </summary>
    internal float[] ForwardIncrementalLast(int[] ids, int[] lengths, IReadOnlyList<KvCache> caches)
    {
        for (int s = 0; s < lengths.Length; s++)
        {
            CheckCache(caches[s], nameof(caches));
            if (lengths[s] < 1) throw new ArgumentException($"Sequence {s} brings no tokens; its last token has no logits.", nameof(lengths));
        }
        var hidden = Decoder.ForwardIncremental(ids, lengths, caches);
        int d = Config.ModelDim;
        var last = Workspace.Ensure(ref _lastHidden, lengths.Length * d);
        for (int s = 0, end = 0; s < lengths.Length; s++)
        {
            end += lengths[s];
            hidden.AsSpan((end - 1) * d, d).CopyTo(last.AsSpan(s * d, d));
        }
        return Head.Forward(last, lengths.Length);
    }

    private float[]? _lastHidden;

    private void CheckCache(KvCache cache, string paramName)
    {
        if (cache.Capacity != Config.MaxLength || cache.Layers.Count != Config.Layers) throw new ArgumentException("The cache was made for another model.", paramName);
    }
}
