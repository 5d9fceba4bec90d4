namespace MLNetTransformers.Cli;

/// <summary><c>tag</c>: every word of a text with its tag, and the entities the tags make, as JSON (a line per text).</summary>
internal static class TagCommand
{
    public static Command Create()
    {
        var model = CliOption.Text("--model", "A token classifier: a model file saved by train --task tag, or a Hugging Face *ForTokenClassification folder of weights or of an ONNX export alone (or hub id in the Hugging Face cache)", required: true);
        var texts = new TextOrLines("--text", "The text to tag (its words are its space-separated pieces)", "A file of texts to tag, one per line (- = standard input)");
        var maxTokens = CliOption.OptionalInt("--max-tokens", "With a Hugging Face folder: longest sequence read (default 128, or the model's positions if fewer); longer texts are read in windows of whole words");
        var int8 = CliOption.Int8();
        var runtime = new OnnxRuntimeFlags();
        var command = new Command("tag", "Tag every word of a text (named entities, parts of speech); prints the words' tags and the entities as JSON") { model, maxTokens, int8 };
        texts.AddTo(command);
        runtime.AddTo(command);
        command.SetAction(r => Run(r.GetValue(model)!, texts.Read(r, out _), r.GetValue(maxTokens), r.GetValue(int8), runtime.Read(r, r.GetValue(int8))));
        return command;
    }

    private static int Run(string modelPath, string[] texts, int? maxTokens, bool int8, OnnxExecutionOptions? execution)
    {
        if (maxTokens is < 3) throw new UsageException($"--max-tokens must be at least 3, not {maxTokens}.");
        var tagger = ModelFile.PositionModel(modelPath, maxTokens, ModelFile.TaggerFolder,
            "token classifier; train one with train --task tag, or give a Hugging Face *ForTokenClassification folder");
        if (int8) tagger = tagger.WithInt8Inference();
        if (execution is not null) tagger = tagger.UseOnnxRuntime(execution);
        using var session = execution is null ? null : tagger; // releases ONNX Runtime's session
        foreach (var text in texts)
        {
            var words = tagger.Predict(text);
            Console.WriteLine(new JsonObject
            {
                ["words"] = new JsonArray(words.Select(w => (JsonNode)new JsonObject { ["word"] = w.Word, ["start"] = w.Start, ["tag"] = w.Tag, ["probability"] = Math.Round(w.Probability, 6) }).ToArray()),
                ["entities"] = new JsonArray(TokenClassification.TokenClassificationTransformer.EntitiesOf(words, text).Select(e => (JsonNode)new JsonObject
                {
                    ["type"] = e.Type, ["text"] = e.Text, ["start"] = e.Start, ["end"] = e.End, ["first_word"] = e.FirstWord, ["last_word"] = e.LastWord, ["probability"] = Math.Round(e.Probability, 6),
                }).ToArray()),
            }.ToJsonString());
        }
        return 0;
    }
}
