using MLNetTransformers.Classification;

namespace MLNetTransformers.QuestionAnswering;

/// <summary>
/// Options of the extractive question-answering trainer (<c>mlContext.MulticlassClassification.Trainers.QuestionAnswer</c>):
/// the columns as Microsoft.ML.TorchSharp's question-answering trainer names them (<c>Context</c>, <c>Question</c>,
/// <c>TrainingAnswer</c>, <c>AnswerIndex</c>; outputs <c>Answer</c> and <c>Score</c>), how contexts longer than the
/// tokenizer's length are read, and the classifier's options for the encoder, schedule and validation
/// (<see cref="TransformerClassifierOptions.Pretrained"/> to fine-tune a checkpoint; options of a sequence classifier alone,
/// such as n-grams and ensembles, are refused).
/// </summary>
public sealed class QuestionAnsweringOptions : TransformerClassifierOptions
{
    /// <summary>Creates the options: the context column <c>Context</c> (<see cref="TransformerTrainingOptions.TextColumnName"/>), the rest as the classifier's.</summary>
    public QuestionAnsweringOptions() => TextColumnName = DefaultColumnNames.Context;

    /// <summary>The text the answers are taken from (the same column as <see cref="TransformerTrainingOptions.TextColumnName"/>).</summary>
    public string ContextColumnName { get => TextColumnName; set => TextColumnName = value; }
    /// <summary>The question (text).</summary>
    public string QuestionColumnName { get; set; } = DefaultColumnNames.Question;
    /// <summary>Training: the answer as written in the context (text; empty when the context holds none).</summary>
    public string TrainingAnswerColumnName { get; set; } = DefaultColumnNames.TrainingAnswer;
    /// <summary>Training: where the answer starts in the context, in characters (an integer column; −1 when the context holds none).</summary>
    public string AnswerIndexColumnName { get; set; } = DefaultColumnNames.AnswerIndex;
    /// <summary>Output: the best answers, best first (a vector of text of <see cref="TopK"/> entries, fewer when the context has fewer words).</summary>
    public string PredictedAnswerColumnName { get; set; } = DefaultColumnNames.Answer;
    /// <summary>How many answers each prediction gives (the output columns' length).</summary>
    public int TopK { get; set; } = 3;
    /// <summary>The longest answer considered, in tokens (transformers' <c>max_answer_len</c> is 15 in its pipeline, 30 in its SQuAD script).</summary>
    public int MaxAnswerTokens { get; set; } = 30;
    /// <summary>The question is cut to this many tokens (transformers' SQuAD script: 64), and to half the tokenizer's length.</summary>
    public int MaxQuestionTokens { get; set; } = 64;
    /// <summary>
    /// A context longer than fits beside its question is read in windows of whole words that overlap by up to this many
    /// tokens (transformers' <c>doc_stride</c>, 128) and at most half a window; each window's answer is scored and the best kept.
    /// </summary>
    public int DocumentStride { get; set; } = 128;
    /// <summary>
    /// The fitted reader ranks "no answer" (an empty text) among its answers, for data where some contexts hold none
    /// (SQuAD 2.0; rows with an empty answer at index −1 train toward [CLS] either way): see
    /// <see cref="QuestionAnsweringTransformer.AllowNoAnswer"/>. Validation then scores "no answer" like any answer.
    /// </summary>
    public bool AllowNoAnswer { get; set; }

    internal override void Validate()
    {
        base.Validate();
        Positive(TopK, nameof(TopK));
        Positive(MaxAnswerTokens, nameof(MaxAnswerTokens));
        Positive(MaxQuestionTokens, nameof(MaxQuestionTokens));
        if (DocumentStride < 0) throw new ArgumentOutOfRangeException(nameof(DocumentStride), DocumentStride, "DocumentStride must be non-negative (0 = windows do not overlap).");
        foreach (var (name, value) in new[] { (nameof(QuestionColumnName), QuestionColumnName), (nameof(TrainingAnswerColumnName), TrainingAnswerColumnName),
            (nameof(AnswerIndexColumnName), AnswerIndexColumnName), (nameof(PredictedAnswerColumnName), PredictedAnswerColumnName) })
            if (string.IsNullOrWhiteSpace(value)) throw new ArgumentException($"{name} must name a column.", name);
    }
}
