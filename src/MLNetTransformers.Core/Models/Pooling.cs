namespace MLNetTransformers.Core.Models;

/// <summary>How a classifier turns token states into one vector.</summary>
public enum Pooling
{
    /// <summary>The state of the first token (BERT's [CLS]).</summary>
    Cls,
    /// <summary>The mean over non-padded tokens.</summary>
    Mean,
}
