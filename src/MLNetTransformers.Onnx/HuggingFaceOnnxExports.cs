using MLNetTransformers.Classification;
using MLNetTransformers.QuestionAnswering;
using MLNetTransformers.TokenClassification;

namespace MLNetTransformers.Onnx;

/// <summary>
/// Task models that PyTorch exported to ONNX (Hugging Face optimum's exports, transformers.js repositories:
/// <c>onnx/model.onnx</c> beside <c>config.json</c> and the tokenizer's files, no weights) as ML.NET transformers running
/// in the managed engine: <c>FromOnnxExport</c> on <see cref="TransformerClassificationTransformer"/>,
/// <see cref="TokenClassificationTransformer"/> and <see cref="QuestionAnsweringTransformer"/>, the ONNX counterparts of
/// their <c>FromHuggingFaceFolder</c>. The weights are read out of the graph (<see cref="OnnxEncoderCheckpoint"/>), so the
/// model then predicts, fine-tunes further, runs int8, saves and writes back a Hugging Face folder as one read from weights.
/// </summary>
// CA1708 takes the compiler's names of the extension blocks for members differing only by case.
#pragma warning disable CA1708
public static class HuggingFaceOnnxExports
#pragma warning restore CA1708
{
    extension(TransformerClassificationTransformer)
    {
        /// <summary>
        /// A sequence classifier exported to ONNX (output <c>logits</c>), read into the engine with the tokenizer and
        /// labels of its folder: two labels score as a binary classifier, more as multiclass, one as a regressor, as
        /// <see cref="TransformerClassificationTransformer.FromHuggingFaceFolder"/>.
        /// </summary>
        /// <param name="path">The model folder holding the export (<c>onnx/model.onnx</c> or <c>model.onnx</c>), or the .onnx file; config.json and the tokenizer's files beside it or one folder up.</param>
        /// <param name="maxTokens">Tokens per text; null = <see cref="Pretrained.PretrainedEncoder.DefaultMaxTokens"/>, or the encoder's positions if fewer.</param>
        /// <param name="textColumnName">The text column.</param>
        /// <param name="secondTextColumnName">A second text column for sentence pairs; null = none.</param>
        /// <example><code>
        /// var sentiment = TransformerClassificationTransformer.FromOnnxExport("models/distilbert-sst2"); // onnx/model.onnx, config.json, vocab.txt
        /// var scored = sentiment.Transform(reviews); // Score, Probability, PredictedLabel
        /// </code></example>
        public static TransformerClassificationTransformer FromOnnxExport(string path, int? maxTokens = null, string textColumnName = DefaultColumnNames.Text,
            string? secondTextColumnName = null) =>
            TransformerClassificationTransformer.FromLoaded(OnnxEncoderCheckpoint.LoadSequenceClassifier(path), OnnxEncoderCheckpoint.TaskFolder(path), maxTokens,
                textColumnName, secondTextColumnName);
    }

    extension(TokenClassificationTransformer)
    {
        /// <summary>
        /// A token classifier (a named-entity tagger, say) exported to ONNX (output <c>logits</c> per token), read into the
        /// engine with its folder's tokenizer and tags, as <see cref="TokenClassificationTransformer.FromHuggingFaceFolder"/>.
        /// </summary>
        /// <param name="path">The model folder holding the export, or the .onnx file; config.json and the tokenizer's files beside it or one folder up.</param>
        /// <param name="maxTokens">Longest sequence read; null = 128, or the model's positions if fewer.</param>
        /// <example><code>
        /// var tagger = TokenClassificationTransformer.FromOnnxExport("models/bert-ner");
        /// var entities = tagger.Entities("Ada Lovelace lived in London.");
        /// </code></example>
        public static TokenClassificationTransformer FromOnnxExport(string path, int? maxTokens = null) =>
            TokenClassificationTransformer.FromLoaded(OnnxEncoderCheckpoint.LoadTokenClassifier(path), OnnxEncoderCheckpoint.TaskFolder(path), maxTokens);
    }

    extension(QuestionAnsweringTransformer)
    {
        /// <summary>
        /// An extractive question answerer exported to ONNX (outputs <c>start_logits</c> and <c>end_logits</c>), read into
        /// the engine with its folder's tokenizer, as <see cref="QuestionAnsweringTransformer.FromHuggingFaceFolder"/>.
        /// </summary>
        /// <param name="path">The model folder holding the export, or the .onnx file; config.json and the tokenizer's files beside it or one folder up.</param>
        /// <param name="maxTokens">A window's length, question and context together; null = 384, or the model's positions if fewer.</param>
        /// <param name="allowNoAnswer">Rank "no answer" among the answers (a reader fine-tuned on SQuAD 2.0).</param>
        /// <example><code>
        /// var reader = QuestionAnsweringTransformer.FromOnnxExport("models/distilbert-squad");
        /// var best = reader.Answer("Where did Ada live?", "Ada Lovelace lived in London.")?.Text;
        /// </code></example>
        public static QuestionAnsweringTransformer FromOnnxExport(string path, int? maxTokens = null, bool allowNoAnswer = false) =>
            QuestionAnsweringTransformer.FromLoaded(OnnxEncoderCheckpoint.LoadQuestionAnswerer(path), OnnxEncoderCheckpoint.TaskFolder(path), maxTokens, allowNoAnswer);
    }
}
