namespace MLNetTransformers;

/// <summary>
/// Column names the library's estimators read and write unless told otherwise (ML.NET's own names where ML.NET has
/// one: Label, Score, Probability, PredictedLabel, Features).
/// </summary>
public static class DefaultColumnNames
{
    /// <summary>Input text.</summary>
    public const string Text = "Text";
    /// <summary>First sentence of a pair (sentence similarity), as Microsoft.ML.TorchSharp names it.</summary>
    public const string Sentence1 = "Sentence1";
    /// <summary>Second sentence of a pair.</summary>
    public const string Sentence2 = "Sentence2";
    /// <summary>Label of a classifier.</summary>
    public const string Label = "Label";
    /// <summary>Raw score of a classifier.</summary>
    public const string Score = "Score";
    /// <summary>Probability of the positive class (binary classification).</summary>
    public const string Probability = "Probability";
    /// <summary>Predicted label of a classifier.</summary>
    public const string PredictedLabel = "PredictedLabel";
    /// <summary>Embedding vector of a featurizer.</summary>
    public const string Features = "Features";
    /// <summary>Token ids written by the tokenizer, read by ONNX models.</summary>
    public const string TokenIds = "TokenIds";
    /// <summary>Attention mask (1 = real token, 0 = padding) written by the tokenizer.</summary>
    public const string AttentionMask = "AttentionMask";
    /// <summary>Token type (segment) ids of BERT-style ONNX models.</summary>
    public const string TokenTypeIds = "TokenTypeIds";
    /// <summary>Prompt of a text generator.</summary>
    public const string Prompt = "Prompt";
    /// <summary>Text written by a text generator.</summary>
    public const string Generated = "Generated";
    /// <summary>Source text of a translation or text-to-text pair.</summary>
    public const string Source = "Source";
    /// <summary>Target (reference) text of a translation or text-to-text pair.</summary>
    public const string Target = "Target";
    /// <summary>Generated translation.</summary>
    public const string Translation = "Translation";
    /// <summary>Fill-mask candidates (their probabilities in <c>FilledTokensProbabilities</c>).</summary>
    public const string FilledTokens = "FilledTokens";
    /// <summary>The text a question is answered from (extractive question answering), as Microsoft.ML.TorchSharp names it.</summary>
    public const string Context = "Context";
    /// <summary>The question of extractive question answering.</summary>
    public const string Question = "Question";
    /// <summary>Training: the answer as written in the context.</summary>
    public const string TrainingAnswer = "TrainingAnswer";
    /// <summary>Training: the character where the answer starts in the context.</summary>
    public const string AnswerIndex = "AnswerIndex";
    /// <summary>Predicted answers, best first.</summary>
    public const string Answer = "Answer";
    /// <summary>Pooled embedding written by the ONNX model transformer.</summary>
    public const string Embedding = "Embedding";
}
