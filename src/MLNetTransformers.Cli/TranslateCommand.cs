namespace MLNetTransformers.Cli;

/// <summary><c>translate</c>: one output line per input line (or for <c>--text</c>), with a saved encoder-decoder.</summary>
internal static class TranslateCommand
{
    public static Command Create()
    {
        var model = CliOption.Model("train-seq2seq");
        var texts = new TextOrLines("--text", "One text to translate", "A file of texts, one per line (- = standard input)");
        var decoding = new DecodingFlags();
        var command = new Command("translate", "Translate --text or every line of --input; prints one line per input") { model };
        texts.AddTo(command);
        decoding.AddTo(command);
        command.SetAction(r =>
        {
            var lines = texts.Read(r, out _);
            var saved = ModelFile.Translator(r.GetValue(model)!);
            var options = decoding.Apply(r, saved.Decoding);
            var translator = saved.WithDecoding(options);
            // Blocks of lines are decoded together and printed as they finish.
            for (int start = 0; start < lines.Length; start += options.BatchSize)
            {
                foreach (var hypotheses in translator.Translate(lines[start..Math.Min(lines.Length, start + options.BatchSize)], options.NBest))
                    Console.WriteLine(options.NBest == 1 ? hypotheses[0].Text : string.Join('\t', hypotheses.Select(h => $"{h.Text}\t{h.Score:F4}")));
            }
            ReportTruncation(translator);
            return 0;
        });
        return command;
    }

    /// <summary>Says on standard error how many inputs were cut to the model's length.</summary>
    public static void ReportTruncation(Seq2SeqTransformer translator)
    {
        if (translator.TruncatedSources > 0)
            Console.Error.WriteLine($"note: {translator.TruncatedSources} input(s) had more than {translator.SourceTokenizer.MaxTokens} tokens and were truncated.");
    }
}
