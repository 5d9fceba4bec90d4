namespace MLNetTransformers.Cli;

/// <summary><c>perplexity</c>: a language model's loss and perplexity on a text file, as JSON.</summary>
internal static class PerplexityCommand
{
    public static Command Create()
    {
        var model = CliOption.Model("train-lm");
        var text = CliOption.InputFile("--text", "Text file to score", required: true);
        var command = new Command("perplexity", "Loss (nats/token) and perplexity of a language model on a text file, as JSON") { model, text };
        command.SetAction(r =>
        {
            string textPath = r.GetValue(text)!;
            var lm = ModelFile.LanguageModel(r.GetValue(model)!);
            if (!File.Exists(textPath)) throw new FileNotFoundException($"Text file '{textPath}' does not exist.", textPath);
            var (loss, ppl, tokens) = lm.Perplexity(new[] { File.ReadAllText(textPath) });
            Console.WriteLine(new JsonObject { ["loss"] = Math.Round(loss, 4), ["perplexity"] = Math.Round(ppl, 4), ["tokens"] = tokens }.ToJsonString());
            return 0;
        });
        return command;
    }
}
