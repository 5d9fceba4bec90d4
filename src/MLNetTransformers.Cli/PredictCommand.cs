namespace MLNetTransformers.Cli;

/// <summary><c>predict</c>: the label and class probabilities of one text, as JSON.</summary>
internal static class PredictCommand
{
    public static Command Create()
    {
        var model = CliOption.Model("train");
        var text = CliOption.Text("--text", "The text to classify", required: true);
        var int8 = CliOption.Int8();
        var command = new Command("predict", "Classify one text; prints the label and class probabilities as JSON") { model, text, int8 };
        command.SetAction(r => Run(r.GetValue(model)!, r.GetValue(text)!, r.GetValue(int8)));
        return command;
    }

    private static int Run(string modelPath, string text, bool int8)
    {
        var classifier = ModelFile.Classifier(TransformerModel.Load(new MLContext(seed: 0), modelPath, out _), modelPath);
        if (int8) classifier = classifier.WithInt8Inference();
        var probs = classifier.PredictProbabilities(text);
        int best = Array.IndexOf(probs, probs.Max());
        var byClass = new JsonObject();
        for (int i = 0; i < probs.Length; i++) byClass[classifier.IsBinary ? (i == 1 ? "true" : "false") : classifier.ClassNames[i]] = Math.Round(probs[i], 6);
        JsonNode label = classifier.IsBinary ? JsonValue.Create(best == 1) : JsonValue.Create(classifier.ClassNames[best]);
        Console.WriteLine(new JsonObject { ["label"] = label, ["probabilities"] = byClass }.ToJsonString());
        return 0;
    }
}
