namespace MLNetTransformers.Cli;

/// <summary><c>predict</c>: the label and class probabilities of one text or sentence pair (a regressor's score), as JSON.</summary>
internal static class PredictCommand
{
    public static Command Create()
    {
        var model = CliOption.ClassifierModel();
        var text = CliOption.Text("--text", "The text to classify", required: true);
        var text2 = CliOption.Text("--text2", "The second text, for a model trained on sentence pairs");
        var int8 = CliOption.Int8();
        var runtime = new OnnxRuntimeFlags();
        var command = new Command("predict", "Classify one text or pair; prints the label and class probabilities (a regressor: the score) as JSON") { model, text, text2, int8 };
        runtime.AddTo(command);
        command.SetAction(r => Run(r.GetValue(model)!, r.GetValue(text)!, r.GetValue(text2), r.GetValue(int8), runtime.Read(r, r.GetValue(int8))));
        return command;
    }

    private static int Run(string modelPath, string text, string? text2, bool int8, OnnxExecutionOptions? execution)
    {
        var loaded = ModelFile.Load(new MLContext(seed: 0), modelPath, out _);
        if (TransformerModel.Parts(loaded).OfType<Similarity.SentenceSimilarityTransformer>().FirstOrDefault() is { } bi)
        {
            if (text2 is null) throw new UsageException($"Model '{modelPath}' reads sentence pairs: give --text2 as well.");
            float cosine = bi.Cosine(text, text2);
            Console.WriteLine(new JsonObject { ["score"] = Math.Round(bi.ScoreOf(cosine), 6), ["cosine"] = Math.Round(cosine, 6) }.ToJsonString());
            return 0;
        }
        if (TransformerModel.Parts(loaded).OfType<TokenClassification.TokenClassificationTransformer>().Any())
            throw new UsageException($"Model '{modelPath}' is a tagger (a token classifier): tag its texts with the tag command.");
        if (TransformerModel.Parts(loaded).OfType<QuestionAnswering.QuestionAnsweringTransformer>().Any())
            throw new UsageException($"Model '{modelPath}' is a question answerer: ask it with the answer command.");
        var classifier = ModelFile.Classifier(loaded, modelPath);
        if (int8) classifier = classifier.WithInt8Inference();
        if (execution is not null) classifier = classifier.UseOnnxRuntime(execution);
        using var session = execution is null ? null : classifier; // releases ONNX Runtime's session
        bool pairs = classifier.SecondTextColumnName is not null;
        if (pairs && text2 is null) throw new UsageException($"Model '{modelPath}' reads sentence pairs: give --text2 as well.");
        if (!pairs && text2 is not null) throw new UsageException($"--text2: model '{modelPath}' reads single texts, not pairs.");
        var probs = pairs ? classifier.PredictProbabilities(text, text2) : classifier.PredictProbabilities(text);
        if (classifier.IsRegression)
        {
            Console.WriteLine(new JsonObject { ["score"] = Math.Round(probs[0], 6) }.ToJsonString());
            return 0;
        }
        int best = Array.IndexOf(probs, probs.Max());
        // A binary model trained here answers true/false; one read from a Hugging Face folder by its config's label names.
        bool named = !classifier.IsBinary || !File.Exists(modelPath); // a folder or hub id, not a file train saved
        var byClass = new JsonObject();
        for (int i = 0; i < probs.Length; i++) byClass[named ? classifier.ClassNames[i] : (i == 1 ? "true" : "false")] = Math.Round(probs[i], 6);
        JsonNode label = named ? JsonValue.Create(classifier.ClassNames[best]) : JsonValue.Create(best == 1);
        Console.WriteLine(new JsonObject { ["label"] = label, ["probabilities"] = byClass }.ToJsonString());
        return 0;
    }
}
