namespace MLNetTransformers.Core.Models;

/// <summary>
/// An encoder-decoder the library can train and decode: the transformer (<see cref="TransformerSeq2Seq"/>) or a GRU
/// encoder-decoder (<see cref="RnnSeq2Seq"/>). Training goes through the one training loop; decoding through
/// <see cref="Seq2SeqDecoder"/> over <see cref="CreateIncrementalDecoder"/>.
/// </summary>
public interface ISeq2SeqModel : ITrainableModel
{
    /// <summary>Vocabularies, widths and architecture.</summary>
    new Seq2SeqConfig Config { get; }
    /// <summary>Label smoothing ε of the training loss.</summary>
    float LabelSmoothing { get; set; }
    /// <summary>An incremental decoder over this model (one per thread).</summary>
    IIncrementalDecoder CreateIncrementalDecoder();
    /// <summary>A new instance with the same config and a copy of the weights (layers keep per-call buffers, so concurrent callers each need one).</summary>
    ISeq2SeqModel Copy();
}
