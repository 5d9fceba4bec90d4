using MLNetTransformers.Training;

namespace MLNetTransformers.Translation;

/// <summary>
/// Options of the sequence-to-sequence trainer (<c>mlContext.Transforms.Text.TrainSeq2Seq</c>): the source text column
/// is <see cref="TransformerTrainingOptions.TextColumnName"/>, the target <see cref="TargetColumnName"/>. By default one
/// tokenizer (a WordPiece vocabulary learned from both sides) and one vocabulary serve both sides; with
/// <see cref="SharedVocabulary"/> off each side learns its own from <see cref="TransformerTrainingOptions.Tokenizer"/>'s settings.
/// </summary>
public sealed class Seq2SeqOptions : TransformerTrainingOptions
{
    /// <summary>
    /// Creates the options; the source column is named Source, 10% of the pairs validate, and the tokenizer keeps case
    /// and accents (translations are scored cased, so the output must carry them).
    /// </summary>
    public Seq2SeqOptions()
    {
        TextColumnName = "Source";
        Tokenizer = new Tokenization.TokenizerOptions { MaxTokens = 64, LowerCase = false };
    }

    /// <summary>Target text column of the training data.</summary>
    public string TargetColumnName { get; set; } = "Target";
    /// <summary>Column the fitted transformer writes (with <see cref="Seq2SeqDecodingOptions.NBest"/> above 1 also <c>{name}NBest</c> and <c>{name}Scores</c>).</summary>
    public string OutputColumnName { get; set; } = "Translation";
    /// <summary>Label smoothing ε of the training loss.</summary>
    public float LabelSmoothing { get; set; } = 0.1f;
    /// <summary>One tokenizer and vocabulary learned from both sides (true), or one per side (false).</summary>
    public bool SharedVocabulary { get; set; } = true;
    /// <summary>One matrix for source embeddings, target embeddings and the output projection (needs <see cref="SharedVocabulary"/>).</summary>
    public bool TiedEmbeddings { get; set; }
    /// <summary>How the fitted transformer decodes: beam width (1 = greedy), length penalty, n-best, output length limit, sampling.</summary>
    public Seq2SeqDecodingOptions Decoding { get; set; } = new();
    /// <summary>
    /// Held-out pairs translated greedily at each validation to report BLEU beside the validation loss (0 = none);
    /// the loss chooses the weights, BLEU only breaks ties.
    /// </summary>
    public int ValidationBleuSentences { get; set; } = 200;
    /// <summary>Receives loss, tokens/s and validation loss (with <see cref="Core.Training.ValidationScore.Metric"/> the validation BLEU).</summary>
    public IProgress<Core.Training.TrainingReport>? Progress { get; set; }

    internal override void Validate()
    {
        base.Validate();
        if (string.IsNullOrEmpty(TargetColumnName)) throw new ArgumentOutOfRangeException(nameof(TargetColumnName), TargetColumnName, "TargetColumnName must be set.");
        if (string.IsNullOrEmpty(OutputColumnName)) throw new ArgumentOutOfRangeException(nameof(OutputColumnName), OutputColumnName, "OutputColumnName must be set.");
        if (!(LabelSmoothing >= 0f && LabelSmoothing < 1f)) throw new ArgumentOutOfRangeException(nameof(LabelSmoothing), LabelSmoothing, "LabelSmoothing must be in [0, 1).");
        if (ValidationBleuSentences < 0) throw new ArgumentOutOfRangeException(nameof(ValidationBleuSentences), ValidationBleuSentences, "ValidationBleuSentences must be non-negative (0 = none).");
        if (TiedEmbeddings && !SharedVocabulary) throw new ArgumentOutOfRangeException(nameof(TiedEmbeddings), TiedEmbeddings, "TiedEmbeddings needs SharedVocabulary: one vocabulary for both sides.");
        (Decoding ?? throw new ArgumentNullException(nameof(Decoding), "Decoding must be set.")).Validate();
    }
}
