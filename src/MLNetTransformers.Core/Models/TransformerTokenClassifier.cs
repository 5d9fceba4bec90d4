namespace MLNetTransformers.Core.Models;

/// <summary>
/// Token classification (named entities, parts of speech), as Hugging Face's <c>*ForTokenClassification</c>: a
/// <see cref="TransformerEncoder"/> (parameter names as in <see cref="TransformerClassifier"/>, so a pretrained encoder
/// loads into it), dropout on its states (<see cref="TransformerConfig.ClassifierDropout"/>), and a linear head <c>head</c> [classes, d] at every
/// position. With <see cref="TransformerConfig.Pooler"/> the encoder's pooler (dense, activation, and norm with
/// <see cref="TransformerConfig.PoolerNorm"/>) first runs at every position: ModernBERT's token classifier puts its head
/// there. Trained with cross-entropy over the positions that have a target (−100 elsewhere: padding, special tokens
/// and a word's pieces after its first), averaged over them.
/// </summary>
public sealed class TransformerTokenClassifier : TokenPredictionModel
{
    private readonly Dropout _dropout;

    /// <summary>Builds the model and initialises its weights from <paramref name="seed"/>.</summary>
    /// <param name="config">The encoder's shape; <see cref="ClassifierConfig.NumClasses"/> is the number of tags (at least 2). Pooling, n-grams and ensembles are a sequence classifier's and must be left unset.</param>
    /// <param name="seed">Seed of the initial weights and the dropout masks.</param>
    public TransformerTokenClassifier(ClassifierConfig config, ulong seed = 0) : base(Checked(config))
    {
        Encoder = new TransformerEncoder(Parameters, "", Config, seed);
        Head = new Linear(Parameters, "head.", Config.ModelDim, config.NumClasses);
        _dropout = new Dropout(Config.ClassifierDropout, seed + 104_729);
        Parameters.Allocate(seed);
    }

    private static ClassifierConfig Checked(ClassifierConfig config)
    {
        ArgumentNullException.ThrowIfNull(config);
        config.Validate();
        if (config.NumClasses < 2) throw new ArgumentException($"NumClasses is {config.NumClasses}: a token classifier needs at least 2 tags.", nameof(config));
        if (config.NGramBuckets > 0 || config.Members > 1)
            throw new ArgumentException("NGramBuckets and Members are a sequence classifier's: a token classifier has neither.", nameof(config));
        return config;
    }

    /// <summary>A new instance with the same config and a copy of the weights (layers keep per-call buffers, so concurrent callers each need one).</summary>
    public TransformerTokenClassifier Copy() => new TransformerTokenClassifier(Config).WithWeightsOf(this);

    /// <summary>The encoder's shape and the number of tags.</summary>
    public new ClassifierConfig Config => (ClassifierConfig)base.Config;
    /// <inheritdoc/>
    public override ModelKind Kind => ModelKind.TokenClassifier;
    /// <summary>Tags each position predicts (<see cref="ClassifierConfig.NumClasses"/>).</summary>
    public override int Outputs => Config.NumClasses;
    /// <summary>The encoder.</summary>
    public TransformerEncoder Encoder { get; }

    private protected override float[] Hidden(TokenBatch batch, bool[]? padding, bool training)
    {
        int n = batch.BatchSize * batch.SeqLen;
        var hidden = Encoder.Forward(batch.Ids, batch.TokenTypeIds, batch.BatchSize, batch.SeqLen, padding, training);
        if (Encoder.Pooler is { } head) hidden = head.Forward(hidden, n); // every position, padding too (it has no target)
        return _dropout.Forward(hidden, n * Config.ModelDim, training);
    }

    private protected override void HiddenBackward(float[] dhidden, int batch, int seqLen)
    {
        var d = _dropout.Backward(dhidden, batch * seqLen * Config.ModelDim);
        Encoder.Backward(Encoder.Pooler is { } head ? head.Backward(d) : d, batch, seqLen);
    }
}
