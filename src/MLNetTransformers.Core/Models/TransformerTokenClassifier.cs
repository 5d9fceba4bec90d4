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
public sealed class TransformerTokenClassifier : PositionHeadModel
{
    /// <summary>Builds the model and initialises its weights from <paramref name="seed"/>.</summary>
    /// <param name="config">The encoder's shape; <see cref="ClassifierConfig.NumClasses"/> is the number of tags (at least 2). Pooling, n-grams and ensembles are a sequence classifier's and must be left unset.</param>
    /// <param name="seed">Seed of the initial weights and the dropout masks.</param>
    public TransformerTokenClassifier(ClassifierConfig config, ulong seed = 0)
        : base(Checked(config, "a token classifier", c =>
        {
            if (c.NumClasses < 2) throw new ArgumentException($"NumClasses is {c.NumClasses}: a token classifier needs at least 2 tags.", nameof(config));
        }), config.NumClasses, seed, dropoutStream: 104_729) { }

    /// <summary>A new instance with the same config and a copy of the weights (layers keep per-call buffers, so concurrent callers each need one).</summary>
    public TransformerTokenClassifier Copy() => new TransformerTokenClassifier(Config).WithWeightsOf(this);

    /// <inheritdoc/>
    public override ModelKind Kind => ModelKind.TokenClassifier;
    /// <summary>Tags each position predicts (<see cref="ClassifierConfig.NumClasses"/>).</summary>
    public override int Outputs => Config.NumClasses;
}
