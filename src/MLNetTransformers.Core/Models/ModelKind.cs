namespace MLNetTransformers.Core.Models;

/// <summary>The model families a checkpoint can hold.</summary>
public enum ModelKind
{
    /// <summary><see cref="TransformerClassifier"/>.</summary>
    Classifier = 1,
    /// <summary><see cref="TransformerLanguageModel"/>.</summary>
    LanguageModel = 2,
    /// <summary><see cref="MaskedLanguageModel"/>.</summary>
    MaskedLanguageModel = 3,
    /// <summary><see cref="TransformerEncoder"/> on its own (a featurizer).</summary>
    Encoder = 4,
    /// <summary><see cref="TransformerSeq2Seq"/>.</summary>
    Seq2Seq = 5,
    /// <summary><see cref="RnnSeq2Seq"/> (GRU encoder-decoder, with or without attention).</summary>
    RnnSeq2Seq = 6,
    /// <summary><see cref="TransformerTokenClassifier"/>.</summary>
    TokenClassifier = 7,
    /// <summary><see cref="TransformerQuestionAnswerer"/>.</summary>
    QuestionAnswerer = 8,
}
