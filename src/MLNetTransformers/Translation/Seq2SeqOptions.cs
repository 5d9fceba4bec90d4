using MLNetTransformers.Training;

namespace MLNetTransformers.Translation;

/// <summary>
/// Options of the sequence-to-sequence trainer (<c>mlContext.Transforms.Text.TrainSeq2Seq</c>): the source text column
/// is <see cref="TransformerTrainingOptions.TextColumnName"/>, the target <see cref="TargetColumnName"/>; one tokenizer
/// (a WordPiece vocabulary learned from both sides by default) and one vocabulary for both.
/// </summary>
public sealed class Seq2SeqOptions : TransformerTrainingOptions
{
    /// <summary>Creates the options; the source column is named Source, and 10% of the pairs validate.</summary>
    public Seq2SeqOptions() => TextColumnName = "Source";

    /// <summary>Target text column of the training data.</summary>
    public string TargetColumnName { get; set; } = "Target";
    /// <summary>Column the fitted transformer writes.</summary>
    public string OutputColumnName { get; set; } = "Translation";
    /// <summary>Label smoothing ε of the training loss.</summary>
    public float LabelSmoothing { get; set; } = 0.1f;
    /// <summary>Beam width of the fitted transformer's decoding (1 = greedy).</summary>
    public int BeamWidth { get; set; } = 4;
    /// <summary>α of GNMT's length penalty in beam search.</summary>
    public float LengthPenalty { get; set; } = 0.6f;
    /// <summary>Receives loss, tokens/s and validation loss.</summary>
    public IProgress<Core.Training.TrainingReport>? Progress { get; set; }

    internal override void Validate()
    {
        base.Validate();
        if (string.IsNullOrEmpty(TargetColumnName)) throw new ArgumentOutOfRangeException(nameof(TargetColumnName), TargetColumnName, "TargetColumnName must be set.");
        if (!(LabelSmoothing >= 0f && LabelSmoothing < 1f)) throw new ArgumentOutOfRangeException(nameof(LabelSmoothing), LabelSmoothing, "LabelSmoothing must be in [0, 1).");
        Positive(BeamWidth, nameof(BeamWidth));
        if (!(LengthPenalty >= 0f)) throw new ArgumentOutOfRangeException(nameof(LengthPenalty), LengthPenalty, "LengthPenalty must be non-negative.");
    }
}
