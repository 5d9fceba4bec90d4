namespace MLNetTransformers.LanguageModeling;

/// <summary>
/// Options of masked-language-model pretraining (<c>mlContext.Transforms.Text.PretrainMaskedLanguageModel</c>): the
/// model shape and schedule of <see cref="TransformerTrainingOptions"/> (the classifier's defaults, so a pretrained
/// encoder fine-tunes with default classifier options), 10,000 steps at most, no validation.
/// </summary>
public sealed class MaskedLanguageModelOptions : TransformerTrainingOptions
{
    /// <summary>Creates the options; <see cref="TransformerTrainingOptions.MaxSteps"/> is 10,000 (the data is cycled in shuffled epochs).</summary>
    public MaskedLanguageModelOptions() => MaxSteps = 10000;

    /// <summary>Embedding column of the fitted featurizer.</summary>
    public string OutputColumnName { get; set; } = DefaultColumnNames.Features;
    /// <summary>Pooling used by the featurizer and by classifiers fine-tuned from this encoder.</summary>
    public Pooling Pooling { get; set; } = Pooling.Mean;
    /// <summary>Share of tokens chosen for prediction (BERT: 0.15; of those 80% [MASK], 10% random, 10% kept).</summary>
    public float MaskProbability { get; set; } = 0.15f;
    /// <summary>Receives the masked-token loss and tokens/s.</summary>
    public IProgress<LanguageModelTrainingProgress>? Progress { get; set; }

    internal override void Validate()
    {
        base.Validate();
        if (!(MaskProbability > 0f && MaskProbability < 1f))
            throw new ArgumentOutOfRangeException(nameof(MaskProbability), MaskProbability, "MaskProbability must be in (0, 1).");
        if (MaxSteps is null) throw new ArgumentOutOfRangeException(nameof(MaxSteps), MaxSteps, "MaxSteps must be set for pretraining.");
        if (!Enum.IsDefined(Pooling)) throw new ArgumentOutOfRangeException(nameof(Pooling), Pooling, "Unknown pooling.");
    }
}
