using MLNetTransformers.Interpretability;
using MLNetTransformers.Plots;

namespace MLNetTransformers.Cli;

/// <summary><c>attention</c>: the attention weights a saved model computes for one text, as JSON and heatmap PNGs.</summary>
internal static class AttentionCommand
{
    public static Command Create()
    {
        var model = CliOption.Model("train, train-lm or train-seq2seq");
        var text = CliOption.Text("--text", "The text (for a translator: the source)", required: true);
        var output = CliOption.Text("--out", "Directory for attention.json and one PNG heatmap per map", required: true);
        var command = new Command("attention", "Attention weights for one text: per layer and head (transformers) or per output token (translators); prints JSON")
        {
            model, text, output,
        };
        command.SetAction(r =>
        {
            string dir = r.GetValue(output)!;
            if (File.Exists(dir)) throw new UsageException($"--out '{dir}' is a file; give a directory.");
            var parts = TransformerModel.Parts(TransformerModel.Load(new MLContext(), r.GetValue(model)!, out _)).ToArray();
            string input = r.GetValue(text)!;
            IReadOnlyList<AttentionMap> maps =
                parts.OfType<TransformerClassificationTransformer>().FirstOrDefault()?.AttentionMaps(input)
                ?? parts.OfType<Seq2SeqTransformer>().FirstOrDefault()?.AttentionMaps(input)
                ?? parts.OfType<LanguageModelTransformer>().FirstOrDefault()?.AttentionMaps(input)
                ?? parts.OfType<Featurization.EncoderFeaturizerTransformer>().FirstOrDefault()?.AttentionMaps(input)
                ?? throw new InvalidDataException($"Model '{r.GetValue(model)}' holds no classifier, featurizer, translator or language model whose attention can be shown.");
            Directory.CreateDirectory(dir);
            string json = Path.Combine(dir, "attention.json");
            Core.Training.Checkpoint.WriteAtomically(json, System.Text.Encoding.UTF8.GetBytes(AttentionMap.ToJson(maps)));
            var pngs = new JsonArray();
            foreach (var map in maps)
            {
                string png = Path.Combine(dir, string.Concat(map.Title.Select(c => char.IsLetterOrDigit(c) ? c : '-')).Replace("--", "-") + ".png");
                AttentionHeatmap.Save(map, png);
                pngs.Add(png);
            }
            Console.WriteLine(new JsonObject { ["maps"] = maps.Count, ["json"] = json, ["png"] = pngs }.ToJsonString());
            return 0;
        });
        return command;
    }
}
