using System.Text.Json;
using System.Text.Json.Nodes;
using MLNetTransformers.Persistence;

namespace MLNetTransformers.LanguageModeling;

/// <summary>
/// A trained causal language model in a pipeline: a prompt column → a generated text column (greedy, temperature,
/// top-k, top-p, repetition penalty, max new tokens, stop sequences, seed; the same seed gives the same text for the
/// same prompt). Generation uses a key/value cache. Prompts start after a document separator, like training
/// documents; a prompt longer than the context keeps its end. Thread-safe (one model replica per concurrent caller).
/// </summary>
public sealed class LanguageModelTransformer : LazyRowTransformer, IModelPart, IModelPartLoader<LanguageModelTransformer>
{
    static string IModelPartLoader<LanguageModelTransformer>.Kind => "language_model";

    // Generation is stored with the default (PascalCase) names it has always had.
    private sealed record LanguageModelRecord(string Tokenizer, string Checkpoint, string Prompt, string Generated, JsonObject Generation, string[] Stop);

    object IModelPart.SavePart(ModelPartWriter w) => new LanguageModelRecord(w.Tokenizer(Tokenizer), w.Checkpoint(Model), PromptColumnName, GeneratedColumnName,
        JsonSerializer.SerializeToNode(Generation)!.AsObject(), StopSequences.ToArray());

    static ITransformer IModelPartLoader<LanguageModelTransformer>.LoadPart(ModelPartReader r)
    {
        var rec = r.Record<LanguageModelRecord>();
        GenerationOptions generation;
        try { generation = rec.Generation.Deserialize<GenerationOptions>() ?? throw new JsonException("null generation options."); }
        catch (JsonException e) { throw new InvalidDataException($"Model file '{r.Path}' has malformed generation options: {e.Message.ReplaceLineEndings(" ")}", e); }
        return new LanguageModelTransformer(r.Tokenizer(rec.Tokenizer), r.Checkpoint<TransformerLanguageModel>(rec.Checkpoint), new LanguageModelOptions
        {
            PromptColumnName = rec.Prompt, GeneratedColumnName = rec.Generated, Generation = generation, StopSequences = rec.Stop,
        });
    }

    private readonly ReplicaPool<(TransformerLanguageModel Model, TokenGenerator Generator)> _replicas;

    /// <summary>Wraps a trained model.</summary>
    /// <param name="tokenizer">The tokenizer the model was trained with.</param>
    /// <param name="model">The trained network.</param>
    /// <param name="options">Columns, generation settings and stop sequences (the training settings are not used).</param>
    public LanguageModelTransformer(TextTokenizer tokenizer, TransformerLanguageModel model, LanguageModelOptions options)
    {
        if (tokenizer.VocabularySize != model.Config.VocabSize)
            throw new ArgumentException($"The tokenizer's vocabulary ({tokenizer.VocabularySize}) does not match the model's ({model.Config.VocabSize}).");
        Tokenizer = tokenizer;
        Model = model;
        _replicas = new(() => { var copy = model.Copy(); return (copy, new TokenGenerator(copy, fixedWeights: true)); });
        Generation = options.Generation.Validate();
        StopSequences = options.StopSequences.ToArray();
        PromptColumnName = options.PromptColumnName;
        GeneratedColumnName = options.GeneratedColumnName;
    }

    /// <summary>The tokenizer.</summary>
    public TextTokenizer Tokenizer { get; }
    /// <summary>The network (treat as read-only).</summary>
    public TransformerLanguageModel Model { get; }
    /// <summary>Default generation settings.</summary>
    public GenerationOptions Generation { get; }
    /// <summary>Default stop sequences.</summary>
    public IReadOnlyList<string> StopSequences { get; }
    /// <summary>Prompt column read.</summary>
    public string PromptColumnName { get; }
    /// <summary>Generated column written.</summary>
    public string GeneratedColumnName { get; }
    /// <summary>How training went (null for a loaded model).</summary>
    public LanguageModelSummary? TrainingSummary { get; internal init; }

    /// <summary>
    /// Text generated after <paramref name="prompt"/> (null or empty: from the start of a document). Stops after
    /// <see cref="GenerationOptions.MaxNewTokens"/> tokens or before the first stop sequence, which is not included.
    /// </summary>
    /// <param name="prompt">Text to continue.</param>
    /// <param name="options">Sampling options (default: <see cref="Generation"/>).</param>
    /// <param name="stopSequences">Texts that end generation (default: <see cref="StopSequences"/>).</param>
    /// <param name="onText">Receives the text as it is produced (held back while it could still begin a stop
    /// sequence); the pieces add up to the returned text.</param>
    /// <param name="cancellation">Ends generation after the current token; the text so far is returned.</param>
    public string Generate(string? prompt, GenerationOptions? options = null, IReadOnlyList<string>? stopSequences = null,
        Action<string>? onText = null, CancellationToken cancellation = default)
    {
        options = (options ?? Generation).Validate();
        // Documents were packed as [SEP] doc [SEP] doc …: a generated [SEP] ends the document, and generation with it.
        if (options.EndTokenId is null) options = options with { EndTokenId = Tokenizer.SepId };
        var stops = (stopSequences ?? StopSequences).Where(s => s.Length > 0).ToArray();
        var ids = new List<int> { Tokenizer.SepId };
        ids.AddRange(Tokenizer.EncodeAll(prompt ?? ""));
        int hold = stops.Select(s => s.Length - 1).DefaultIfEmpty(0).Max(), emitted = 0;
        string sent = "";
        bool watch = stops.Length > 0 || onText is not null || cancellation.CanBeCanceled;
        var tokens = _replicas.Use(replica => replica.Generator.Generate(ids.ToArray(), options, !watch ? null : generated =>
        {
            if (cancellation.IsCancellationRequested) return true;
            if (stops.Length == 0 && onText is null) return false;
            var sofar = Tokenizer.Decode(generated);
            if (stops.Any(s => sofar.Contains(s, StringComparison.Ordinal))) return true;
            // Stream what can no longer turn into a stop sequence (and what later tokens did not rewrite).
            int upto = sofar.Length - hold;
            if (onText is not null && upto > emitted && sofar.StartsWith(sent, StringComparison.Ordinal))
            {
                onText(sofar[emitted..upto]);
                (emitted, sent) = (upto, sofar[..upto]);
            }
            return false;
        }));
        string text = Tokenizer.Decode(tokens);
        int cut = stops.Select(s => text.IndexOf(s, StringComparison.Ordinal)).Where(i => i >= 0).DefaultIfEmpty(-1).Min();
        if (cut >= 0) text = text[..cut];
        if (onText is not null && text.Length > emitted && text.StartsWith(sent, StringComparison.Ordinal)) onText(text[emitted..]);
        return text;
    }

    /// <summary>
    /// Generates after many prompts together (one batch per step, finished prompts leave it): much faster than one
    /// <see cref="Generate(string?, GenerationOptions?, IReadOnlyList{string}?, Action{string}?, CancellationToken)"/> call per prompt, and each output equals what that call
    /// returns. Each prompt of a batch holds a key/value cache of the whole context, so many prompts are decoded in
    /// batches whose caches stay under about 256 MB. Thread-safe.
    /// </summary>
    /// <param name="prompts">The texts to continue.</param>
    /// <param name="options">Sampling settings (default: <see cref="Generation"/>).</param>
    /// <param name="stopSequences">Texts that end generation (default: <see cref="StopSequences"/>); the output is cut before the first.</param>
    public string[] Generate(IReadOnlyList<string?> prompts, GenerationOptions? options = null, IReadOnlyList<string>? stopSequences = null)
    {
        ArgumentNullException.ThrowIfNull(prompts);
        options = (options ?? Generation).Validate();
        if (options.EndTokenId is null) options = options with { EndTokenId = Tokenizer.SepId };
        var stops = (stopSequences ?? StopSequences).Where(s => s.Length > 0).ToArray();
        var ids = prompts.Select(p => new[] { Tokenizer.SepId }.Concat(Tokenizer.EncodeAll(p ?? "")).ToArray()).ToArray();
        // Each prompt in a batch holds a key/value cache of the whole context: batches are capped at about 256 MB of them.
        var c = Model.Config;
        long cacheBytes = 2L * c.Layers * c.MaxLength * c.ModelDim * sizeof(float);
        int group = (int)Math.Clamp((256L << 20) / cacheBytes, 1, Math.Max(1, ids.Length));
        var tokens = _replicas.Use(replica => ids.Chunk(group).SelectMany(chunk => replica.Generator.GenerateBatch(chunk, options)).ToArray());
        return tokens.Select(t =>
        {
            string text = Tokenizer.Decode(t);
            int cut = stops.Select(s => text.IndexOf(s, StringComparison.Ordinal)).Where(i => i >= 0).DefaultIfEmpty(-1).Min();
            return cut >= 0 ? text[..cut] : text;
        }).ToArray();
    }

    /// <summary>
    /// The causal self-attention weights the model computes for <paramref name="text"/> read as a prompt (after the
    /// document separator): one map per layer and head. Thread-safe (runs on a copy of the model).
    /// </summary>
    /// <param name="text">The text to look at (cut to the model's context).</param>
    public IReadOnlyList<Interpretability.AttentionMap> AttentionMaps(string? text)
    {
        var ids = new[] { Tokenizer.SepId }.Concat(Tokenizer.EncodeAll(text ?? "")).Take(Model.Config.MaxLength).ToArray();
        var model = Model.Copy();
        foreach (var b in model.Decoder.Blocks) b.SelfAttention.RecordWeights = true; // a copy: the serving model stays tiled
        model.Forward(new TokenBatch(1, ids.Length, ids));
        var tokens = ids.Select(Tokenizer.TokenText).ToArray();
        return model.Decoder.Blocks.SelectMany((b, i) => Interpretability.AttentionMap.PerHead("causal self-attention", i, b.SelfAttention.Weights, model.Config.Heads, tokens, tokens)).ToArray();
    }

    /// <summary>Loss (nats/token) and perplexity of the model on <paramref name="texts"/>, packed as in training.</summary>
    /// <param name="texts">Texts to score, joined into one token stream as in training.</param>
    public (double Loss, double Perplexity, long Tokens) Perplexity(IEnumerable<string?> texts)
    {
        var stream = Corpus.Encode(Tokenizer, texts);
        if (stream.Length < 2) throw new ArgumentException("The text is empty: there is nothing to score.");
        double loss = _replicas.Use(replica => Corpus.Loss(replica.Model, stream, Model.Config.MaxLength, int.MaxValue));
        return (loss, Math.Exp(loss), stream.Length - 1);
    }

    /// <summary>Saves this generator alone (prompt column → generated column) in <see cref="TransformerModel"/> format.</summary>
    /// <param name="path">The model file to write (atomically).</param>
    public void Save(string path)
    {
        var ml = new MLContext();
        var schema = new DataViewSchema.Builder();
        schema.AddColumn(PromptColumnName, TextDataViewType.Instance);
        TransformerModel.Save(ml, this, schema.ToSchema(), path);
    }

    /// <inheritdoc/>
    private protected override ColumnMapper CreateMapper(DataViewSchema inputSchema) =>
        new TextToTextMapper(inputSchema, PromptColumnName, GeneratedColumnName, prompts => Generate(prompts));
}
