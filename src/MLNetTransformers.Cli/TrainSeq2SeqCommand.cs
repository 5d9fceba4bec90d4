namespace MLNetTransformers.Cli;

/// <summary><c>train-seq2seq</c>: an encoder-decoder (translation, text-to-text) from parallel text files, saved as a model file.</summary>
internal static class TrainSeq2SeqCommand
{
    private static readonly string[] Tokenizers = { "learned", "wordpiece", "bpe", "tiktoken" };

    public static Command Create()
    {
        var d = new Seq2SeqOptions(); // every default below comes from here
        var source = CliOption.InputFile("--source", "Source sentences, one per line");
        var target = CliOption.InputFile("--target", "Target sentences, one per line (parallel to --source)");
        var pairs = CliOption.InputFile("--pairs", "Instead of --source/--target: a TSV with a header row, source first, target second");
        var modelPath = CliOption.Text("--model", "Where to save the model", required: true);
        var arch = CliOption.Choice("--arch", "transformer (\"Attention Is All You Need\"), gru-attention (GRU encoder-decoder with attention) or gru (without: one context vector)",
            "transformer", "transformer", "gru-attention", "gru");
        var attention = CliOption.Choice("--attention", "gru-attention: additive (Bahdanau), dot or general (Luong)", "additive", "additive", "dot", "general");
        var embeddingDim = CliOption.Int("--embedding-dim", "GRU models: embedding width (0 = --dim)", d.EmbeddingDim);
        var encoderHidden = CliOption.Int("--encoder-hidden", "GRU models: hidden width of each encoder direction (0 = --dim)", d.EncoderHiddenSize);
        var epochs = CliOption.OptionalInt("--epochs", "Passes over the pairs (default: chosen from the data size)");
        var beam = CliOption.Int("--beam", "Beam width of the saved translator (1 = greedy)", d.Decoding.BeamWidth);
        var tie = new Option<bool>("--tie-embeddings") { Description = "One matrix for source and target embeddings and the output projection" };
        var separate = new Option<bool>("--separate-vocabularies") { Description = "Learn one tokenizer per side instead of one shared vocabulary" };
        var flags = new TrainingFlags(d, Tokenizers, "--max-tokens");
        flags.Add(epochs, nameof(d.Epochs), (r, o) => o.Epochs = r.GetValue(epochs));
        flags.Add(beam, nameof(Core.Models.Seq2SeqDecodingOptions.BeamWidth), (r, o) => ((Seq2SeqOptions)o).Decoding = ((Seq2SeqOptions)o).Decoding with { BeamWidth = r.GetValue(beam) });
        flags.Add(arch, nameof(d.Architecture), (r, o) => ((Seq2SeqOptions)o).Architecture = r.GetValue(arch) switch
        {
            "gru" => Core.Models.Seq2SeqArchitecture.Gru, "gru-attention" => Core.Models.Seq2SeqArchitecture.GruAttention, _ => Core.Models.Seq2SeqArchitecture.Transformer,
        });
        flags.Add(attention, nameof(d.Attention), (r, o) => ((Seq2SeqOptions)o).Attention = Enum.Parse<Core.Layers.RnnAttentionKind>(r.GetValue(attention)!, ignoreCase: true));
        flags.Add(embeddingDim, nameof(d.EmbeddingDim), (r, o) => ((Seq2SeqOptions)o).EmbeddingDim = r.GetValue(embeddingDim));
        flags.Add(encoderHidden, nameof(d.EncoderHiddenSize), (r, o) => ((Seq2SeqOptions)o).EncoderHiddenSize = r.GetValue(encoderHidden));
        flags.Add(tie, nameof(d.TiedEmbeddings), (r, o) => ((Seq2SeqOptions)o).TiedEmbeddings = r.GetValue(tie));
        flags.Add(separate, nameof(d.SharedVocabulary), (r, o) => ((Seq2SeqOptions)o).SharedVocabulary = !r.GetValue(separate));
        var command = new Command("train-seq2seq", "Train an encoder-decoder transformer on parallel files; prints a JSON summary") { source, target, pairs, modelPath };
        flags.AddTo(command);
        command.SetAction(r => Run(r, flags, r.GetValue(source), r.GetValue(target), r.GetValue(pairs), r.GetValue(modelPath)!));
        return command;
    }

    private static int Run(ParseResult r, TrainingFlags flags, string? sourcePath, string? targetPath, string? pairsPath, string modelPath)
    {
        if (Directory.Exists(modelPath)) throw new IOException($"--model '{modelPath}' is a directory; give a file path (checked before training, not after).");
        var options = new Seq2SeqOptions { Progress = new ProgressLog() };
        flags.Apply(r, options);
        var ml = new MLContext(seed: options.Seed);
        var pairs = ParallelText.From(ml, sourcePath, targetPath, pairsPath);
        using var cancel = Interrupt.OnFirstCtrlC("\nstopping after this step (Ctrl+C again to kill)...");
        options.CancellationToken = cancel.Token;
        var trainer = flags.Validated(() => ml.Transforms.Text.TrainSeq2Seq(options));
        var translator = trainer.Fit(pairs);
        TransformerModel.Save(ml, translator, pairs.Schema, modelPath);
        var s = translator.TrainingOutcome!;
        Console.WriteLine(JsonSerializer.Serialize(new
        {
            model = modelPath, steps = s.Steps, stop_reason = s.StopReason, train_seconds = Math.Round(s.Elapsed.TotalSeconds, 1),
            best_validation_loss = s.Best is { } b ? Math.Round(b.Loss, 4) : (double?)null, parameters = translator.Model.Parameters.Count,
            truncated_sources = translator.TruncatedTrainingTexts?.Sources, truncated_targets = translator.TruncatedTrainingTexts?.Targets,
            skipped_empty_pairs = translator.SkippedEmptyPairs,
        }));
        return 0;
    }
}
