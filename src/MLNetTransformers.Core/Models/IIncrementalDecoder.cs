namespace MLNetTransformers.Core.Models;

/// <summary>
/// An encoder-decoder that decodes one token per step for many hypotheses at once, keeping each hypothesis's state
/// (self-attention keys and values) and its source's projected encoder states between steps, as fairseq's incremental
/// decoders do. <see cref="Seq2SeqDecoder"/> runs greedy search, beam search and sampling over any implementation: the
/// managed engine (<see cref="TransformerSeq2Seq.CreateIncrementalDecoder"/>) or ONNX Runtime sessions of an exported
/// model (<c>MLNetTransformers.Onnx.OnnxSeq2SeqModel</c>), so both decode the same way.
/// </summary>
public interface IIncrementalDecoder
{
    /// <summary>Target vocabulary size (the width of each logits row).</summary>
    int VocabSize { get; }
    /// <summary>Target positions the decoder holds (start token included): at most MaxLength − 1 output tokens.</summary>
    int MaxLength { get; }
    /// <summary>Longest source accepted, in tokens.</summary>
    int MaxSourceLength { get; }

    /// <summary>Encodes <paramref name="sources"/> and forgets earlier hypotheses; row i of the first <see cref="Advance"/> may continue source i.</summary>
    /// <param name="sources">Source token ids, one array per source (no padding).</param>
    void Encode(IReadOnlyList<int[]> sources);

    /// <summary>
    /// One step: row r continues row <paramref name="parents"/>[r] of the previous step (at the first step after
    /// <see cref="Encode"/>: source <paramref name="parents"/>[r] with nothing decoded yet) by feeding token
    /// <paramref name="tokens"/>[r]. A parent may have several children (beam search) or none (a finished hypothesis
    /// leaves). Returns next-token logits [rows, <see cref="VocabSize"/>], valid until the next call.
    /// </summary>
    /// <param name="parents">Each row's parent row (or source, at the first step).</param>
    /// <param name="tokens">Each row's new token.</param>
    float[] Advance(ReadOnlySpan<int> parents, ReadOnlySpan<int> tokens);

    /// <summary>
    /// Checks a step's rows for <see cref="Advance"/> (at least one, one token each, every parent a row of the previous
    /// step) and writes each row's source, its parent's, into <paramref name="sources"/>.
    /// </summary>
    /// <param name="parents">Each row's parent row.</param>
    /// <param name="tokens">Each row's new token.</param>
    /// <param name="previous">The source of each row of the previous step.</param>
    /// <param name="sources">Receives the source of each new row [rows].</param>
    internal static void RowSources(ReadOnlySpan<int> parents, ReadOnlySpan<int> tokens, ReadOnlySpan<int> previous, Span<int> sources)
    {
        int rows = parents.Length;
        if (tokens.Length != rows || rows == 0) throw new ArgumentException($"{rows} parents and {tokens.Length} tokens; a step needs one token per row and at least one row.", nameof(tokens));
        for (int r = 0; r < rows; r++)
        {
            int p = parents[r];
            if ((uint)p >= (uint)previous.Length) throw new ArgumentOutOfRangeException(nameof(parents), p, $"Row {r}'s parent {p} is not a row of the previous step (0..{previous.Length - 1}).");
            sources[r] = previous[p];
        }
    }
}
