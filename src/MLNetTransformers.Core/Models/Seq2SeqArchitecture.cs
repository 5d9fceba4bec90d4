namespace MLNetTransformers.Core.Models;

/// <summary>Which encoder-decoder a <see cref="Seq2SeqConfig"/> describes.</summary>
public enum Seq2SeqArchitecture
{
    /// <summary>The transformer of "Attention Is All You Need" (<see cref="TransformerSeq2Seq"/>).</summary>
    Transformer,
    /// <summary>
    /// A GRU encoder-decoder without attention (Cho et al. 2014): the encoder's final states are the one context vector
    /// the decoder sees at every step (<see cref="RnnSeq2Seq"/>).
    /// </summary>
    Gru,
    /// <summary>A GRU encoder-decoder whose decoder attends to every encoder state (Bahdanau or Luong; <see cref="RnnSeq2Seq"/>).</summary>
    GruAttention,
}
