namespace MLNetTransformers.Cli;

/// <summary><c>generate</c>: text from a saved language model, streamed, then a JSON line.</summary>
internal static class GenerateCommand
{
    public static Command Create()
    {
        var model = CliOption.Model("train-lm");
        var prompts = new TextOrLines("--prompt", "Text to continue", "Instead of --prompt: a file of prompts, one per line, generated together (- = standard input)");
        // Sampling defaults are the model's own (saved with it): these options are null unless given.
        var maxNew = CliOption.OptionalInt("--max-new-tokens", $"Tokens to generate at most (1 to {GenerationOptions.MaxNewTokensLimit:N0})");
        var temperature = CliOption.OptionalNumber("--temperature", "Sampling temperature (0 = greedy)");
        var topK = CliOption.OptionalInt("--top-k", "Sample among the k likeliest tokens (0 = all)");
        var topP = CliOption.OptionalNumber("--top-p", "Nucleus sampling mass");
        var penalty = CliOption.OptionalNumber("--repetition-penalty", "Penalty on tokens already generated");
        var seed = CliOption.OptionalInt("--seed", "Sampling seed");
        var stop = CliOption.Text("--stop", @"Stop before this text (\n for a newline)");
        var command = new Command("generate", "Continue a prompt with a language model; streams the text, then prints JSON (with --input: one JSON line per prompt)") { model, maxNew, temperature, topK, topP, penalty, seed, stop };
        prompts.AddTo(command);
        command.SetAction(r =>
        {
            var lm = ModelFile.LanguageModel(r.GetValue(model)!);
            var g = lm.Generation;
            var options = g with
            {
                MaxNewTokens = r.GetValue(maxNew) ?? g.MaxNewTokens, Temperature = (float?)r.GetValue(temperature) ?? g.Temperature, TopK = r.GetValue(topK) ?? g.TopK,
                TopP = (float?)r.GetValue(topP) ?? g.TopP, RepetitionPenalty = (float?)r.GetValue(penalty) ?? g.RepetitionPenalty,
                Seed = r.GetValue(seed) is { } s ? (ulong)s : g.Seed,
            };
            if (options.MaxNewTokens is <= 0 or > GenerationOptions.MaxNewTokensLimit)
                throw new UsageException($"--max-new-tokens must be between 1 and {GenerationOptions.MaxNewTokensLimit}, got {options.MaxNewTokens}.");
            var stops = r.GetValue(stop) is { } st ? new[] { st.Replace("\\n", "\n") } : null;
            var given = prompts.Read(r, out bool inline);
            if (inline) return Run(lm, given[0], options, stops);
            var texts = lm.Generate(given, options, stops); // all prompts decode together
            for (int i = 0; i < given.Length; i++) Console.WriteLine(new JsonObject { ["prompt"] = given[i], ["generated"] = texts[i] }.ToJsonString());
            return 0;
        });
        return command;
    }


    private static int Run(LanguageModeling.LanguageModelTransformer lm, string prompt, GenerationOptions options, string[]? stop)
    {
        // Tokens are printed as they come; Ctrl+C ends generation after the current token and still prints the JSON.
        using var cancel = Interrupt.OnFirstCtrlC(null);
        Console.Write(prompt);
        string text = lm.Generate(prompt, options, stop, piece => { Console.Write(piece); Console.Out.Flush(); }, cancel.Token);
        Console.WriteLine();
        Console.WriteLine(new JsonObject { ["prompt"] = prompt, ["generated"] = text }.ToJsonString());
        return 0;
    }
}
