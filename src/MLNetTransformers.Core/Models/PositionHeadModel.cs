namespace MLNetTransformers.Core.Models;

/// <summary>
/// An encoder with an output layer at every position, as Hugging Face's <c>*ForTokenClassification</c> and
/// <c>*ForQuestionAnswering</c>: a <see cref="TransformerEncoder"/> (parameter names as in <see cref="TransformerClassifier"/>,
/// so a pretrained encoder loads into it), with <see cref="TransformerConfig.Pooler"/> the encoder's pooler (dense,
/// activation, and norm with <see cref="TransformerConfig.PoolerNorm"/>) at every position (ModernBERT's head), dropout in
/// training (<see cref="TransformerConfig.ClassifierDropout"/>), then a linear head <c>head</c> [outputs, d].
/// </summary>
public abstract class PositionHeadModel : TokenPredictionModel
{
    private readonly Dropout _dropout;

    /// <summary>Declares the encoder and the head, then allocates the weights from <paramref name="seed"/>.</summary>
    /// <param name="config">The encoder's shape, checked by the derived model.</param>
    /// <param name="outputs">Outputs at every position.</param>
    /// <param name="seed">Seed of the initial weights and the dropout masks.</param>
    /// <param name="dropoutStream">Offset of the head's dropout masks from <paramref name="seed"/> (each model keeps its own).</param>
    private protected PositionHeadModel(ClassifierConfig config, int outputs, ulong seed, ulong dropoutStream) : base(config)
    {
        Encoder = new TransformerEncoder(Parameters, "", Config, seed);
        Head = new Linear(Parameters, "head.", Config.ModelDim, outputs);
        _dropout = new Dropout(Config.ClassifierDropout, seed + dropoutStream);
        Parameters.Allocate(seed);
    }

    /// <summary>
    /// <paramref name="config"/> validated, its outputs by <paramref name="outputs"/> (which throws), and without a sequence
    /// classifier's n-gram branch or ensemble, which <paramref name="what"/> (e.g. "a token classifier") does not have.
    /// </summary>
    private protected static ClassifierConfig Checked(ClassifierConfig config, string what, Action<ClassifierConfig> outputs)
    {
        ArgumentNullException.ThrowIfNull(config);
        config.Validate();
        outputs(config);
        if (config.NGramBuckets > 0 || config.Members > 1)
            throw new ArgumentException($"NGramBuckets and Members are a sequence classifier's: {what} has neither.", nameof(config));
        return config;
    }

    /// <summary>The encoder's shape and the number of outputs.</summary>
    public new ClassifierConfig Config => (ClassifierConfig)base.Config;
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
