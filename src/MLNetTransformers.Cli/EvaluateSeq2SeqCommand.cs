using MLNetTransformers.Metrics;

namespace MLNetTransformers.Cli;

/// <summary><c>evaluate-seq2seq</c>: corpus BLEU and chrF of a saved encoder-decoder on parallel files, as JSON.</summary>
internal static class EvaluateSeq2SeqCommand
{
    public static Command Create()
    {
        var model = CliOption.Model("train-seq2seq");
        var source = CliOption.InputFile("--source", "Source sentences, one per line");
        var target = CliOption.InputFile("--target", "Reference translations, one per line");
        var pairs = CliOption.InputFile("--pairs", "Instead of --source/--target: a TSV with a header row, source first, reference second");
        var decoding = new DecodingFlags();
        var command = new Command("evaluate-seq2seq", "BLEU (sacreBLEU 13a) and chrF of the translations of --source against --target, as JSON") { model, source, target, pairs };
        decoding.AddTo(command);
        command.SetAction(r =>
        {
            var ml = new MLContext(seed: 0);
            var data = ParallelText.From(ml, r.GetValue(source), r.GetValue(target), r.GetValue(pairs));
            var saved = ModelFile.Translator(r.GetValue(model)!);
            var translator = saved.WithDecoding(decoding.Apply(r, saved.Decoding) with { NBest = 1 });
            var sources = Microsoft.ML.Data.ColumnCursorExtensions.GetColumn<string>(data, DefaultColumnNames.Source).ToArray();
            var references = Microsoft.ML.Data.ColumnCursorExtensions.GetColumn<string>(data, DefaultColumnNames.Target).ToArray();
            var clock = System.Diagnostics.Stopwatch.StartNew();
            var hypotheses = translator.Translate(sources).Select(h => h[0].Text).ToArray();
            var m = TranslationMetrics.Compute(hypotheses, references);
            TranslateCommand.ReportTruncation(translator);
            Console.WriteLine(new JsonObject
            {
                ["bleu"] = Math.Round(m.Bleu, 2), ["chrf"] = Math.Round(m.ChrF, 2), ["signature"] = m.BleuSignature, ["sentences"] = m.Sentences,
                ["beam"] = translator.Decoding.BeamWidth, ["decode_seconds"] = Math.Round(clock.Elapsed.TotalSeconds, 1),
            }.ToJsonString());
            return 0;
        });
        return command;
    }
}
