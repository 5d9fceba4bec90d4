using MLNetTransformers.Persistence;

namespace MLNetTransformers.Translation;

/// <summary>
/// Maps a source text column to generated text with a trained encoder-decoder: tokenize, encode once, decode by beam
/// search (greedily with width 1, or by sampling) from [CLS] until [SEP], detokenize. Lazy and row-to-row;
/// thread-safe (each thread borrows its own model replica). With <see cref="Seq2SeqDecodingOptions.NBest"/> above 1 it
/// also writes <c>{output}NBest</c> (the hypotheses, best first) and <c>{output}Scores</c> (their length-normalised
/// log-probabilities). <see cref="Translate(IReadOnlyList{string}, int)"/> decodes many texts together, faster than row by row.
/// An empty source gives an empty output; a source longer than the tokenizer's MaxTokens is truncated and counted in
/// <see cref="TruncatedSources"/>.
/// </summary>
public sealed class Seq2SeqTransformer : LazyRowTransformer, IModelPart, IModelPartLoader<Seq2SeqTransformer>
{
    static string IModelPartLoader<Seq2SeqTransformer>.Kind => "seq2seq";

    // Beam and LengthPenalty are what files saved before Decoding existed hold.
    private sealed record Seq2SeqRecord(string Tokenizer, string Checkpoint, string Source, string Output, int Beam, float LengthPenalty,
        string? SourceTokenizer = null, Seq2SeqDecodingOptions? Decoding = null);

    object IModelPart.SavePart(ModelPartWriter w) =>
        new Seq2SeqRecord(w.Tokenizer(Tokenizer), w.Checkpoint(Model), SourceColumnName, OutputColumnName, Decoding.BeamWidth, Decoding.LengthPenalty,
            SourceTokenizer == Tokenizer ? null : w.Entry("source-tokenizer.json", SourceTokenizer.Serialize()), Decoding);

    static ITransformer IModelPartLoader<Seq2SeqTransformer>.LoadPart(ModelPartReader r)
    {
        var rec = r.Record<Seq2SeqRecord>();
        var decoding = rec.Decoding ?? new Seq2SeqDecodingOptions { BeamWidth = rec.Beam, LengthPenalty = rec.LengthPenalty };
        return new Seq2SeqTransformer(r.Tokenizer(rec.Tokenizer), r.Checkpoint<ISeq2SeqModel>(rec.Checkpoint), rec.Source, rec.Output, decoding,
            rec.SourceTokenizer is null ? null : r.Tokenizer(rec.SourceTokenizer));
    }

    private readonly ReplicaPool<Seq2SeqDecoder> _replicas;
    private long _truncated;

    /// <summary>Wraps a trained model.</summary>
    /// <param name="tokenizer">The tokenizer the model was trained with: the target side's, and the source's too unless <paramref name="sourceTokenizer"/> is given.</param>
    /// <param name="model">The trained encoder-decoder, transformer or GRU (its weights are copied per thread, never changed).</param>
    /// <param name="sourceColumnName">Source text column read.</param>
    /// <param name="outputColumnName">Generated text column written.</param>
    /// <param name="decoding">How to decode (null = beam 4, α 0.6, one output).</param>
    /// <param name="sourceTokenizer">The source side's own tokenizer (null = <paramref name="tokenizer"/>).</param>
    public Seq2SeqTransformer(TextTokenizer tokenizer, ISeq2SeqModel model, string sourceColumnName = DefaultColumnNames.Source, string outputColumnName = DefaultColumnNames.Translation,
        Seq2SeqDecodingOptions? decoding = null, TextTokenizer? sourceTokenizer = null)
    {
        ArgumentNullException.ThrowIfNull(tokenizer);
        ArgumentNullException.ThrowIfNull(model);
        sourceTokenizer ??= tokenizer;
        if (tokenizer.VocabularySize != model.Config.VocabSize)
            throw new ArgumentException($"The target tokenizer's vocabulary ({tokenizer.VocabularySize}) does not match the model's ({model.Config.VocabSize}).", nameof(tokenizer));
        if (sourceTokenizer.VocabularySize != model.Config.EncoderVocabSize)
            throw new ArgumentException($"The source tokenizer's vocabulary ({sourceTokenizer.VocabularySize}) does not match the model's encoder ({model.Config.EncoderVocabSize}).", nameof(sourceTokenizer));
        if (sourceTokenizer.MaxTokens > model.Config.MaxLength)
            throw new ArgumentException($"The source tokenizer emits up to {sourceTokenizer.MaxTokens} tokens; the model holds {model.Config.MaxLength}.", nameof(sourceTokenizer));
        Decoding = (decoding ?? new Seq2SeqDecodingOptions()).Validate();
        (Tokenizer, SourceTokenizer, Model, SourceColumnName, OutputColumnName) = (tokenizer, sourceTokenizer, model, sourceColumnName, outputColumnName);
        _replicas = new ReplicaPool<Seq2SeqDecoder>(() =>
        {
            var decoder = model.Copy().CreateIncrementalDecoder();
            if (decoder is TransformerIncrementalDecoder managed) managed.FixedWeights = true; // a replica's weights never change
            return new Seq2SeqDecoder(decoder);
        });
    }

    /// <summary>The target side's tokenizer (and the source's when they share one).</summary>
    public TextTokenizer Tokenizer { get; }
    /// <summary>The source side's tokenizer (the same object as <see cref="Tokenizer"/> when the vocabulary is shared).</summary>
    public TextTokenizer SourceTokenizer { get; }
    /// <summary>The network (treat as read-only).</summary>
    public ISeq2SeqModel Model { get; }
    /// <summary>Source text column read.</summary>
    public string SourceColumnName { get; }
    /// <summary>Generated text column written.</summary>
    public string OutputColumnName { get; }
    /// <summary>How outputs are decoded.</summary>
    public Seq2SeqDecodingOptions Decoding { get; }
    /// <summary>Beam width (1 = greedy).</summary>
    public int BeamWidth => Decoding.BeamWidth;
    /// <summary>How training went (null for a loaded model).</summary>
    public TrainingOutcome? TrainingOutcome { get; internal init; }
    /// <summary>Training texts cut to the tokenizer's MaxTokens (null for a loaded model).</summary>
    public (int Sources, int Targets)? TruncatedTrainingTexts { get; internal init; }
    /// <summary>Training pairs skipped because their source or target was empty (null for a loaded model).</summary>
    public int? SkippedEmptyPairs { get; internal init; }
    /// <summary>Sources translated so far that had more tokens than the model reads (they were truncated).</summary>
    public long TruncatedSources => Interlocked.Read(ref _truncated);

    /// <summary>The same model and tokenizers decoding another way (a new transformer; this one is unchanged).</summary>
    /// <param name="decoding">How the new transformer decodes.</param>
    public Seq2SeqTransformer WithDecoding(Seq2SeqDecodingOptions decoding) =>
        new(Tokenizer, Model, SourceColumnName, OutputColumnName, decoding, SourceTokenizer);

    /// <summary>
    /// Where the decoder looked while it translated <paramref name="source"/>: the best output is decoded, then read
    /// again with teacher forcing, and each output token's attention over the source tokens is returned — per layer
    /// and head of the transformer's cross-attention, or the one attention of a GRU decoder (rows: the output tokens
    /// and the end token; columns: the source tokens). A GRU model without attention has none (an empty list).
    /// Thread-safe (runs on a copy of the model).
    /// </summary>
    /// <param name="source">The source text.</param>
    public IReadOnlyList<Interpretability.AttentionMap> AttentionMaps(string? source)
    {
        if (string.IsNullOrWhiteSpace(source)) return Array.Empty<Interpretability.AttentionMap>();
        int max = SourceTokenizer.MaxTokens;
        var buffer = new int[max];
        var srcIds = buffer[..SourceTokenizer.Encode(source, buffer, new int[max])];
        var model = Model.Copy();
        var output = new Seq2SeqDecoder(model.CreateIncrementalDecoder()).Decode(new[] { srcIds }, Tokenizer.ClsId, Tokenizer.SepId, Decoding with { NBest = 1 })[0][0].Tokens;
        var input = new[] { Tokenizer.ClsId }.Concat(output).ToArray();
        var batch = new TokenBatch(1, input.Length, input) { Source = new TokenBatch(1, srcIds.Length, srcIds) };
        var rows = output.Append(Tokenizer.SepId).Select(Tokenizer.TokenText).ToArray(); // row t predicts token t
        var columns = srcIds.Select(SourceTokenizer.TokenText).ToArray();
        switch (model)
        {
            case TransformerSeq2Seq t:
                foreach (var b in t.Decoder.Blocks) b.CrossAttention!.RecordWeights = true; // a copy: the serving model stays tiled
                t.Forward(batch);
                return t.Decoder.Blocks.SelectMany((b, i) => Interpretability.AttentionMap.PerHead("cross-attention", i, b.CrossAttention!.Weights, t.Config.Heads, rows, columns)).ToArray();
            case RnnSeq2Seq { Attention: { } attention } r:
                r.Forward(batch);
                var weights = new float[input.Length * srcIds.Length];
                for (int step = 0; step < input.Length; step++) attention.Weights(step).CopyTo(weights.AsSpan(step * srcIds.Length, srcIds.Length));
                return new[] { new Interpretability.AttentionMap($"{attention.Kind.ToString().ToLowerInvariant()} attention", rows, columns, weights) };
            default:
                return Array.Empty<Interpretability.AttentionMap>();
        }
    }

    /// <summary>The output for one source text, and the n best when asked (thread-safe).</summary>
    /// <param name="source">The source text.</param>
    /// <param name="nBest">Hypotheses to return, best first (at most the beam width).</param>
    public IReadOnlyList<(string Text, double Score)> Translate(string? source, int nBest = 1) => Translate(new[] { source }, nBest)[0];

    /// <summary>Translates many texts, decoding <see cref="Seq2SeqDecodingOptions.BatchSize"/> of them together (thread-safe).</summary>
    /// <param name="sources">The source texts.</param>
    /// <param name="nBest">Hypotheses to return per text, best first (at most the beam width).</param>
    public IReadOnlyList<(string Text, double Score)>[] Translate(IReadOnlyList<string?> sources, int nBest = 1)
    {
        ArgumentNullException.ThrowIfNull(sources);
        if (nBest < 1) throw new ArgumentOutOfRangeException(nameof(nBest), nBest, "nBest must be at least 1.");
        int max = SourceTokenizer.MaxTokens;
        var buffer = new int[max];
        var mask = new int[max];
        // An empty (or whitespace) source translates to an empty output, without decoding.
        var nonEmpty = Enumerable.Range(0, sources.Count).Where(i => !string.IsNullOrWhiteSpace(sources[i])).ToArray();
        var ids = new int[nonEmpty.Length][];
        for (int k = 0; k < nonEmpty.Length; k++)
        {
            int n = SourceTokenizer.Encode(sources[nonEmpty[k]], buffer, mask, out bool truncated);
            if (truncated) Interlocked.Increment(ref _truncated);
            ids[k] = buffer[..n];
        }
        var options = Decoding with { NBest = nBest };
        var decoded = ids.Length == 0 ? Array.Empty<IReadOnlyList<Seq2SeqHypothesis>>() : _replicas.Use(d => d.Decode(ids, Tokenizer.ClsId, Tokenizer.SepId, options));
        var results = Enumerable.Repeat<IReadOnlyList<(string, double)>>(new[] { ("", 0.0) }, sources.Count).ToArray();
        for (int k = 0; k < nonEmpty.Length; k++)
            results[nonEmpty[k]] = decoded[k].Select(h => (Tokenizer.Decode(h.Tokens), h.Score)).ToArray();
        return results;
    }

    /// <inheritdoc/>
    private protected override ColumnMapper CreateMapper(DataViewSchema inputSchema) =>
        new TextToTextMapper(inputSchema, SourceColumnName, OutputColumnName, Decoding.NBest > 1, sources => Translate(sources, Decoding.NBest));
}
