using MLNetTransformers.Metrics;
using MLNetTransformers.Translation;

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
        var command = new Command("evaluate-seq2seq", "BLEU (sacreBLEU 13a) and chrF of the translations of --source against --target, as JSON") { model, source, target, pairs };
        command.SetAction(r =>
        {
            var ml = new MLContext(seed: 0);
            var loaded = TransformerModel.Load(ml, r.GetValue(model)!, out _);
            if (!TransformerModel.Parts(loaded).OfType<Seq2SeqTransformer>().Any())
                throw new InvalidDataException($"Model '{r.GetValue(model)}' holds no sequence-to-sequence model (train one with train-seq2seq).");
            var m = TranslationMetrics.Evaluate(loaded.Transform(ParallelText.From(ml, r.GetValue(source), r.GetValue(target), r.GetValue(pairs))));
            Console.WriteLine(new JsonObject
            {
                ["bleu"] = Math.Round(m.Bleu, 2), ["chrf"] = Math.Round(m.ChrF, 2), ["signature"] = m.BleuSignature, ["sentences"] = m.Sentences,
            }.ToJsonString());
            return 0;
        });
        return command;
    }
}
