using MLNetTransformers.Core.Layers;

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
    /// Creates the options; the source column is named Source, 10% of the pairs validate, the tokenizer keeps case
    /// and accents (translations are scored cased, so the output must carry them), and AdamW's β₂ is 0.98 ("Attention Is
    /// All You Need").
    /// </summary>
    public Seq2SeqOptions()
    {
        TextColumnName = DefaultColumnNames.Source;
        Tokenizer = new Tokenization.TokenizerOptions { MaxTokens = 64, LowerCase = false };
    }

    private protected override float DefaultAdamBeta2 => 0.98f;

    /// <summary>Target text column of the training data.</summary>
    public string TargetColumnName { get; set; } = DefaultColumnNames.Target;
    /// <summary>
    /// The encoder-decoder: the transformer (default), a GRU encoder-decoder with attention (<see cref="Attention"/>) or
    /// without it. The GRU models have one bidirectional GRU layer in the encoder and one in the decoder, of width
    /// <see cref="TransformerTrainingOptions.ModelDim"/> (Layers, Heads and FeedForwardDim shape the transformer only).
    /// </summary>
    public Seq2SeqArchitecture Architecture { get; set; }
    /// <summary>GRU with attention: additive (Bahdanau), dot or general (Luong).</summary>
    public RnnAttentionKind Attention { get; set; } = RnnAttentionKind.Additive;
    /// <summary>GRU models: embedding width (0 = ModelDim).</summary>
    public int EmbeddingDim { get; set; }
    /// <summary>GRU models: hidden width of each encoder direction (0 = ModelDim).</summary>
    public int EncoderHiddenSize { get; set; }
    /// <summary>Column the fitted transformer writes (with <see cref="Seq2SeqDecodingOptions.NBest"/> above 1 also <c>{name}NBest</c> and <c>{name}Scores</c>).</summary>
    public string OutputColumnName { get; set; } = DefaultColumnNames.Translation;
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
    public IProgress<TrainingProgress>? Progress { get; set; }

    internal override void Validate()
    {
        base.Validate();
        if (string.IsNullOrEmpty(TargetColumnName)) throw new ArgumentOutOfRangeException(nameof(TargetColumnName), TargetColumnName, "TargetColumnName must be set.");
        if (string.IsNullOrEmpty(OutputColumnName)) throw new ArgumentOutOfRangeException(nameof(OutputColumnName), OutputColumnName, "OutputColumnName must be set.");
        if (!(LabelSmoothing >= 0f && LabelSmoothing < 1f)) throw new ArgumentOutOfRangeException(nameof(LabelSmoothing), LabelSmoothing, "LabelSmoothing must be in [0, 1).");
        if (!Enum.IsDefined(Architecture)) throw new ArgumentOutOfRangeException(nameof(Architecture), Architecture, "Unknown architecture.");
        if (!Enum.IsDefined(Attention)) throw new ArgumentOutOfRangeException(nameof(Attention), Attention, "Unknown attention.");
        if (EmbeddingDim < 0) throw new ArgumentOutOfRangeException(nameof(EmbeddingDim), EmbeddingDim, "EmbeddingDim must be non-negative (0 = ModelDim).");
        if (EncoderHiddenSize < 0) throw new ArgumentOutOfRangeException(nameof(EncoderHiddenSize), EncoderHiddenSize, "EncoderHiddenSize must be non-negative (0 = ModelDim).");
        int encoderHidden = EncoderHiddenSize == 0 ? ModelDim : EncoderHiddenSize;
        if (Architecture == Seq2SeqArchitecture.GruAttention && Attention == RnnAttentionKind.Dot && 2 * encoderHidden != ModelDim)
            throw new ArgumentOutOfRangeException(nameof(EncoderHiddenSize), EncoderHiddenSize,
                $"Dot attention compares the decoder state ({ModelDim}) with the bidirectional encoder's states (2 × {encoderHidden}): set EncoderHiddenSize to {ModelDim / 2}, or use general attention.");
        if (Architecture == Seq2SeqArchitecture.Transformer && EmbeddingDim != 0 && EmbeddingDim != ModelDim)
            throw new ArgumentOutOfRangeException(nameof(EmbeddingDim), EmbeddingDim, "EmbeddingDim is for the GRU architectures; the transformer's embeddings have ModelDim's width.");
        if (Architecture != Seq2SeqArchitecture.Transformer && TiedEmbeddings)
            throw new ArgumentOutOfRangeException(nameof(TiedEmbeddings), TiedEmbeddings, "TiedEmbeddings is for the transformer architecture.");
        if (ValidationBleuSentences < 0) throw new ArgumentOutOfRangeException(nameof(ValidationBleuSentences), ValidationBleuSentences, "ValidationBleuSentences must be non-negative (0 = none).");
        if (TiedEmbeddings && !SharedVocabulary) throw new ArgumentOutOfRangeException(nameof(TiedEmbeddings), TiedEmbeddings, "TiedEmbeddings needs SharedVocabulary: one vocabulary for both sides.");
        (Decoding ?? throw new ArgumentNullException(nameof(Decoding), "Decoding must be set.")).Validate();
    }
}
