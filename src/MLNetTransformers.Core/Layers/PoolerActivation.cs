namespace MLNetTransformers.Core.Layers;

/// <summary>The activation of a classifier's dense layer over the first token (<see cref="Pooler"/>).</summary>
public enum PoolerActivation
{
    /// <summary>tanh: BERT's pooler and RoBERTa's classification head.</summary>
    Tanh,
    /// <summary>ReLU: DistilBERT's <c>pre_classifier</c>.</summary>
    Relu,
    /// <summary>GELU (the erf form): ELECTRA's classification head (<c>classifier.dense</c>).</summary>
    Gelu,
    /// <summary>None (the dense layer's output as it is): a sentence-transformers Dense module with <c>torch.nn.Identity</c>.</summary>
    Identity,
}
