using MLNetTransformers.Core.Training;
using MLNetTransformers.Persistence;

namespace MLNetTransformers.Translation;

/// <summary>
/// Maps a source text column to generated text with a trained encoder-decoder: tokenize, encode once, decode by beam
/// search (or greedily with width 1) from [CLS] until [SEP], detokenize. Lazy and row-to-row; thread-safe (each thread
/// borrows its own model replica).
/// </summary>
public sealed class Seq2SeqTransformer : LazyRowTransformer, IModelPart, IModelPartLoader<Seq2SeqTransformer>
{
    static string IModelPartLoader<Seq2SeqTransformer>.Kind => "seq2seq";

    private sealed record Seq2SeqRecord(string Tokenizer, string Checkpoint, string Source, string Output, int Beam, float LengthPenalty);

    object IModelPart.SavePart(ModelPartWriter w) =>
        new Seq2SeqRecord(w.Tokenizer(Tokenizer), w.Checkpoint(Model), SourceColumnName, OutputColumnName, BeamWidth, LengthPenalty);

    static ITransformer IModelPartLoader<Seq2SeqTransformer>.LoadPart(ModelPartReader r)
    {
        var rec = r.Record<Seq2SeqRecord>();
        return new Seq2SeqTransformer(r.Tokenizer(rec.Tokenizer), r.Checkpoint<TransformerSeq2Seq>(rec.Checkpoint), rec.Source, rec.Output, rec.Beam, rec.LengthPenalty);
    }

    private readonly ReplicaPool<Seq2SeqDecoder> _replicas;

    /// <summary>Wraps a trained model.</summary>
    /// <param name="tokenizer">The tokenizer the model was trained with (both sides).</param>
    /// <param name="model">The trained encoder-decoder (its weights are copied per thread, never changed).</param>
    /// <param name="sourceColumnName">Source text column read.</param>
    /// <param name="outputColumnName">Generated text column written.</param>
    /// <param name="beamWidth">Beam width (1 = greedy).</param>
    /// <param name="lengthPenalty">α of GNMT's length penalty.</param>
    public Seq2SeqTransformer(TextTokenizer tokenizer, TransformerSeq2Seq model, string sourceColumnName = "Source", string outputColumnName = "Translation",
        int beamWidth = 4, float lengthPenalty = 0.6f)
    {
        if (tokenizer.VocabularySize != model.Config.VocabSize)
            throw new ArgumentException($"The tokenizer's vocabulary ({tokenizer.VocabularySize}) does not match the model's ({model.Config.VocabSize}).");
        if (beamWidth < 1) throw new ArgumentOutOfRangeException(nameof(beamWidth), beamWidth, "The beam width must be at least 1.");
        (Tokenizer, Model, SourceColumnName, OutputColumnName, BeamWidth, LengthPenalty) = (tokenizer, model, sourceColumnName, outputColumnName, beamWidth, lengthPenalty);
        _replicas = new ReplicaPool<Seq2SeqDecoder>(() => new Seq2SeqDecoder(model.Copy()));
    }

    /// <summary>The tokenizer (both sides).</summary>
    public TextTokenizer Tokenizer { get; }
    /// <summary>The network (treat as read-only).</summary>
    public TransformerSeq2Seq Model { get; }
    /// <summary>Source text column read.</summary>
    public string SourceColumnName { get; }
    /// <summary>Generated text column written.</summary>
    public string OutputColumnName { get; }
    /// <summary>Beam width (1 = greedy).</summary>
    public int BeamWidth { get; }
    /// <summary>α of GNMT's length penalty.</summary>
    public float LengthPenalty { get; }
    /// <summary>How training went (null for a loaded model).</summary>
    public TrainingOutcome? TrainingOutcome { get; internal init; }

    /// <summary>The output for one source text, and the n best when asked (thread-safe).</summary>
    /// <param name="source">The source text.</param>
    /// <param name="nBest">Hypotheses to return, best first (at most the beam width).</param>
    public IReadOnlyList<(string Text, double Score)> Translate(string? source, int nBest = 1)
    {
        int max = Tokenizer.MaxTokens;
        var ids = new int[max];
        int n = Tokenizer.Encode(source, ids, new int[max]);
        var hypotheses = _replicas.Use(d => d.BeamSearch(ids.AsSpan(0, n), Tokenizer.ClsId, Tokenizer.SepId, max - 2, BeamWidth, LengthPenalty, nBest));
        return hypotheses.Select(h => (Tokenizer.Decode(h.Tokens), h.Score)).ToArray();
    }

    /// <inheritdoc/>
    private protected override ColumnMapper CreateMapper(DataViewSchema inputSchema) =>
        new TextToTextMapper(inputSchema, SourceColumnName, OutputColumnName, text => Translate(text)[0].Text);
}
