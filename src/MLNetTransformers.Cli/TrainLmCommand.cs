namespace MLNetTransformers.Cli;

/// <summary><c>train-lm</c>: a GPT-style language model from a text file, saved as a model file.</summary>
internal static class TrainLmCommand
{
    private static readonly string[] Tokenizers = { "character", "learned", "bpe", "tiktoken", "wordpiece" };

    public static Command Create()
    {
        var d = new LanguageModelOptions(); // every default below comes from here
        var text = CliOption.InputFile("--text", "Training text file (one document)", required: true);
        var modelPath = CliOption.Text("--model", "Where to save the model", required: true);
        var checkpoint = CliOption.Text("--checkpoint", "Also save the best weights here at each validation improvement");
        var steps = CliOption.Int("--steps", "Optimisation steps", d.MaxSteps!.Value);
        var context = CliOption.Int("--context", "Context length in tokens", d.ContextLength);
        var every = CliOption.Int("--eval-every", "Validate every this many steps", d.ValidateEverySteps);
        var flags = new TrainingFlags(d, Tokenizers, maxTokensFlag: null);
        flags.Add(steps, nameof(d.MaxSteps), (r, o) => o.MaxSteps = r.GetValue(steps));
        flags.Add(context, nameof(d.ContextLength), (r, o) => ((LanguageModelOptions)o).ContextLength = r.GetValue(context));
        flags.Add(every, nameof(d.ValidateEverySteps), (r, o) => o.ValidateEverySteps = r.GetValue(every));
        flags.Add(checkpoint, nameof(d.CheckpointPath), (r, o) => ((LanguageModelOptions)o).CheckpointPath = r.GetValue(checkpoint));
        var command = new Command("train-lm", "Train a GPT-style language model on a text file; prints a JSON summary") { text, modelPath };
        flags.AddTo(command);
        command.SetAction(r => Run(r, flags, r.GetValue(text)!, r.GetValue(modelPath)!));
        return command;
    }

    private static int Run(ParseResult r, TrainingFlags flags, string textPath, string modelPath)
    {
        if (Directory.Exists(modelPath)) throw new IOException($"--model '{modelPath}' is a directory; give a file path (checked before training, not after).");
        var options = new LanguageModelOptions { Progress = new ProgressLog() };
        flags.Apply(r, options);
        options.Tokenizer.LowerCase = false; // a generator writes what it read
        using var cancel = Interrupt.OnFirstCtrlC("\nstopping after this step (Ctrl+C again to kill)...");
        options.CancellationToken = cancel.Token;
        var estimator = flags.Validated(() => new MLContext(seed: options.Seed).Transforms.Text.TrainLanguageModel(options));
        // Said before the tokenizer is built, which takes a while on a large corpus and prints nothing else.
        Console.Error.WriteLine($"reading '{textPath}' and building the tokenizer (Ctrl+C stops training after the current step)");
        var lm = estimator.FitFile(textPath);
        lm.Save(modelPath);
        var s = lm.TrainingSummary!;
        Console.WriteLine(JsonSerializer.Serialize(new
        {
            model = modelPath, steps = s.Steps, stop_reason = s.StopReason, train_seconds = Math.Round(s.Duration.TotalSeconds, 1),
            best_validation_loss = s.BestValidationLoss is { } l ? Math.Round(l, 4) : (double?)null,
            best_validation_perplexity = s.BestValidationPerplexity is { } p ? Math.Round(p, 3) : (double?)null, parameters = lm.Model.Parameters.Count,
        }));
        return 0;
    }
}
