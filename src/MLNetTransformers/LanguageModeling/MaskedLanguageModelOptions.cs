namespace MLNetTransformers.LanguageModeling;

/// <summary>
/// Options of masked-language-model pretraining (<c>mlContext.Transforms.Text.PretrainMaskedLanguageModel</c>): the
/// model shape and schedule of <see cref="TransformerTrainingOptions"/> (the classifier's defaults, so a pretrained
/// encoder fine-tunes with default classifier options), 10,000 steps at most, no validation.
/// </summary>
public sealed class MaskedLanguageModelOptions : TransformerTrainingOptions
{
    /// <summary>
    /// Creates the options; <see cref="TransformerTrainingOptions.MaxSteps"/> is 10,000 (the data is cycled in shuffled
    /// epochs) and nothing is held out: pretraining does not validate, so <see cref="TransformerTrainingOptions.ValidationFraction"/>,
    /// <see cref="TransformerTrainingOptions.EarlyStoppingPatience"/>, <see cref="TransformerTrainingOptions.ValidateEverySteps"/>
    /// and <see cref="TransformerTrainingOptions.Epochs"/> are refused rather than ignored.
    /// </summary>
    public MaskedLanguageModelOptions()
    {
        MaxSteps = 10000;
        ValidationFraction = 0;
    }

    /// <summary>Embedding column of the fitted featurizer.</summary>
    public string OutputColumnName { get; set; } = DefaultColumnNames.Features;
    /// <summary>Pooling used by the featurizer and by classifiers fine-tuned from this encoder.</summary>
    public Pooling Pooling { get; set; } = Pooling.Mean;
    /// <summary>Share of tokens chosen for prediction (BERT: 0.15; of those 80% [MASK], 10% random, 10% kept).</summary>
    public float MaskProbability { get; set; } = 0.15f;
    /// <summary>
    /// BERT's next-sentence prediction beside the masked tokens: each row of the text column is a document, split into
    /// sentences after <c>.</c>, <c>!</c> or <c>?</c> followed by white space; every example is <c>[CLS] A [SEP] B [SEP]</c>
    /// with B the sentence after A in its document (half the time) or a sentence of another document, and a pooler over
    /// [CLS] learns to tell which (the pooler then seeds classifiers fine-tuned from this encoder). Documents need at
    /// least two sentences to give a "next" example.
    /// </summary>
    public bool NextSentencePrediction { get; set; }
    /// <summary>Receives the masked-token loss and tokens/s (with <see cref="NextSentencePrediction"/>, its loss and accuracy too).</summary>
    public IProgress<TrainingProgress>? Progress { get; set; }

    internal override void Validate()
    {
        base.Validate();
        if (!(MaskProbability > 0f && MaskProbability < 1f))
            throw new ArgumentOutOfRangeException(nameof(MaskProbability), MaskProbability, "MaskProbability must be in (0, 1).");
        if (MaxSteps is null) throw new ArgumentOutOfRangeException(nameof(MaxSteps), MaxSteps, "MaxSteps must be set for pretraining.");
        const string NoValidation = "does not apply to masked-LM pretraining, which does not validate (it trains for MaxSteps or TimeBudget)";
        if (Epochs is not null) throw new ArgumentOutOfRangeException(nameof(Epochs), Epochs, $"Epochs {NoValidation}; set MaxSteps.");
        if (ValidationFraction != 0) throw new ArgumentOutOfRangeException(nameof(ValidationFraction), ValidationFraction, $"ValidationFraction {NoValidation}.");
        if (EarlyStoppingPatience is not null) throw new ArgumentOutOfRangeException(nameof(EarlyStoppingPatience), EarlyStoppingPatience, $"EarlyStoppingPatience {NoValidation}.");
        if (ValidateEverySteps != 0) throw new ArgumentOutOfRangeException(nameof(ValidateEverySteps), ValidateEverySteps, $"ValidateEverySteps {NoValidation}.");
        if (!Enum.IsDefined(Pooling)) throw new ArgumentOutOfRangeException(nameof(Pooling), Pooling, "Unknown pooling.");
    }
}
