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
}
