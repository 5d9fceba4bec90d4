using MLNetTransformers.Translation;

namespace MLNetTransformers.Cli;

/// <summary><c>translate</c>: one output line per input line (or for <c>--text</c>), with a saved encoder-decoder.</summary>
internal static class TranslateCommand
{
    public static Command Create()
    {
        var model = CliOption.Model("train-seq2seq");
        var text = CliOption.Text("--text", "One text to translate");
        var input = CliOption.InputFile("--input", "A file of texts, one per line (- = standard input)", standardInput: true);
        var nBest = CliOption.Int("--n-best", "Hypotheses per input, best first, tab-separated with their scores (1 = the output only)", 1);
        var command = new Command("translate", "Translate --text or every line of --input; prints one line per input") { model, text, input, nBest };
        command.SetAction(r =>
        {
            string? one = r.GetValue(text), file = r.GetValue(input);
            if ((one is null) == (file is null)) throw new UsageException("Give exactly one of --text and --input.");
            int n = r.GetValue(nBest);
            if (n < 1) throw new UsageException($"--n-best must be at least 1, got {n}.");
            var translator = TransformerModel.Parts(TransformerModel.Load(new MLContext(), r.GetValue(model)!, out _)).OfType<Seq2SeqTransformer>().FirstOrDefault()
                ?? throw new InvalidDataException($"Model '{r.GetValue(model)}' holds no sequence-to-sequence model (train one with train-seq2seq).");
            var lines = one is not null ? new[] { one } : file == "-" ? ReadAll(Console.In) : File.ReadAllLines(file!);
            foreach (var line in lines)
            {
                var hypotheses = translator.Translate(line, n);
                Console.WriteLine(n == 1 ? hypotheses[0].Text : string.Join('\t', hypotheses.Select(h => $"{h.Text}\t{h.Score:F4}")));
            }
            return 0;
        });
        return command;
    }

    private static string[] ReadAll(TextReader reader)
    {
        var lines = new List<string>();
        while (reader.ReadLine() is { } l) lines.Add(l);
        return lines.ToArray();
    }
}
