namespace MLNetTransformers.Cli;

/// <summary><c>fill-mask</c>: the top-k tokens and probabilities for each mask token of a text, as JSON.</summary>
internal static class FillMaskCommand
{
    public static Command Create()
    {
        var model = CliOption.Text("--model", "A Hugging Face model folder (or hub id in the Hugging Face cache) with its masked-LM head (BertForMaskedLM, BertForPreTraining, RoBERTa, DistilBERT, MPNet, an ELECTRA generator, ALBERT, DeBERTa v1 and v2/v3, ModernBERT, ESM, MegatronBERT, RoBERTa-PreLayerNorm), or a fill-mask model file", required: true);
        var text = CliOption.Text("--text", "A text with [MASK] (RoBERTa: <mask>) where tokens are to be filled in", required: true);
        var topK = CliOption.Int("--top-k", "Candidates per mask", 5);
        var command = new Command("fill-mask", "Fill each [MASK] of a text; prints the top-k tokens and probabilities per mask as JSON") { model, text, topK };
        command.SetAction(r => Run(r.GetValue(model)!, r.GetValue(text)!, r.GetValue(topK)));
        return command;
    }

    private static int Run(string modelPath, string text, int topK)
    {
        if (topK < 1) throw new UsageException($"--top-k must be at least 1, not {topK}.");
        FillMaskTransformer fill;
        modelPath = ModelFile.FolderOfHubId(modelPath, "--model", "neither a model folder nor a file");
        if (Directory.Exists(modelPath)) fill = FillMaskTransformer.FromHuggingFaceFolder(modelPath, topK);
        else if (File.Exists(modelPath))
            fill = TransformerModel.Parts(TransformerModel.Load(new MLContext(seed: 0), modelPath, out _)).OfType<FillMaskTransformer>().FirstOrDefault()
                ?? throw new InvalidDataException($"Model '{modelPath}' holds no fill-mask model; give a Hugging Face folder with a masked-LM head.");
        else throw new UsageException($"--model '{modelPath}' is neither a model folder nor a file.");
        if (!text.Contains(fill.MaskToken, StringComparison.Ordinal)) throw new UsageException($"--text has no {fill.MaskToken} to fill.");
        var masks = new JsonArray();
        foreach (var p in fill.Predict(text, topK))
            masks.Add(new JsonObject
            {
                ["position"] = p.Position,
                ["candidates"] = new JsonArray(p.Candidates.Select(c => (JsonNode)new JsonObject { ["token"] = c.Token, ["id"] = c.Id, ["probability"] = Math.Round(c.Probability, 6) }).ToArray()),
            });
        Console.WriteLine(new JsonObject { ["masks"] = masks }.ToJsonString());
        return 0;
    }
}
