namespace MLNetTransformers.Onnx;

/// <summary>What an exported graph computes.</summary>
public enum OnnxExportKind
{
    /// <summary>Encoder classifier: outputs <c>logits</c> [batch, classes] and <c>embeddings</c> [batch, d_model].</summary>
    Classifier,
    /// <summary>Encoder featurizer: outputs <c>embeddings</c> [batch, d_model] (the pooled sentence vector).</summary>
    Featurizer,
    /// <summary>Causal decoder LM: outputs <c>logits</c> [batch, sequence, vocab].</summary>
    LanguageModel,
    /// <summary>Encoder of an encoder-decoder: outputs <c>last_hidden_state</c> and each decoder layer's cross-attention keys and values (see onnx/README.md).</summary>
    Seq2SeqEncoder,
    /// <summary>One decoding step of an encoder-decoder: <c>logits</c> and the self-attention keys and values to pass to the next step (see onnx/README.md).</summary>
    Seq2SeqDecoder,
    /// <summary>Token classifier: outputs <c>logits</c> [batch, sequence, tags], a tag's scores at every token.</summary>
    TokenClassifier,
    /// <summary>Extractive question answerer: outputs <c>start_logits</c> and <c>end_logits</c> [batch, sequence], as transformers' ONNX exports of <c>*ForQuestionAnswering</c> name them.</summary>
    QuestionAnswerer,
}
