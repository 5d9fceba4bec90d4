namespace MLNetTransformers.Cli;

/// <summary>
/// <c>export-hf</c>: an encoder and its tokenizer as a Hugging Face model folder (config.json, model.safetensors,
/// tokenizer files; sentence-transformers' modules for an embedding model): a pretrained one as loaded, a saved
/// classifier whole as <c>*ForSequenceClassification</c> when it has its family's head, else the encoder it fine-tuned.
/// </summary>
internal static class ExportHuggingFaceCommand
{
    public static Command Create()
    {
        var pretrained = CliOption.Text("--pretrained", $"A pretrained encoder: {PretrainedArgument.Forms}");
        var model = CliOption.Text("--model", "A classifier, token classifier, question answerer or featurizer saved by train whose encoder was fine-tuned from a pretrained one, or a Hugging Face task model's folder holding only its ONNX export (written as weights)");
        model.Validators.Add(r =>
        {
            if (r.Tokens.Count == 1 && r.Tokens[0].Value is var path && !File.Exists(path) && !Directory.Exists(path)) r.AddError($"Option --model: '{path}' is neither a file nor a folder.");
        });
        var output = CliOption.Text("--out", "The folder to write", required: true);
        var command = new Command("export-hf", "Write an encoder and its tokenizer as a Hugging Face model folder; prints JSON") { pretrained, model, output };
        command.SetAction(r => Run(r.GetValue(pretrained), r.GetValue(model), r.GetValue(output)!));
        return command;
    }

    private static int Run(string? pretrained, string? modelPath, string outPath)
    {
        if ((pretrained is null) == (modelPath is null)) throw new UsageException("Give exactly one of --pretrained and --model.");
        if (File.Exists(outPath)) throw new UsageException($"--out '{outPath}' is a file; give a folder.");
        PretrainedEncoder encoder;
        string? head = null; // what became of a classifier's head
        if (pretrained is not null) encoder = PretrainedArgument.Load(pretrained, maxTokens: null);
        else
        {
            // A task model's ONNX export folder is read into the engine, as predict, tag and answer read it.
            var ml = new MLContext(seed: 0);
            var part = TransformerModel.Parts(Directory.Exists(modelPath) ? ModelFile.Load(ml, modelPath, out _) : TransformerModel.Load(ml, modelPath!, out _))
                .FirstOrDefault(p => p is Classification.TransformerClassificationTransformer or Featurization.EncoderFeaturizerTransformer
                    or TokenClassification.TokenClassificationTransformer or QuestionAnswering.QuestionAnsweringTransformer);
            // A tagger or a reader is written whole, as *ForTokenClassification or *ForQuestionAnswering.
            var (saveWhole, positionEncoder) = part switch
            {
                TokenClassification.TokenClassificationTransformer tagger => ((Action<string>)tagger.SaveHuggingFaceFolder, tagger.Model.Encoder),
                QuestionAnswering.QuestionAnsweringTransformer reader => (reader.SaveHuggingFaceFolder, reader.Model.Encoder),
                _ => (null, null),
            };
            if (saveWhole is not null)
            {
                saveWhole(outPath);
                Print(outPath, positionEncoder!, "written");
                return 0;
            }
            if (part is Classification.TransformerClassificationTransformer whole)
            {
                // A classifier with its family's head is written whole, as *ForSequenceClassification; otherwise its encoder.
                try
                {
                    whole.SaveHuggingFaceFolder(outPath);
                    Print(outPath, whole.Model.Encoder, "written");
                    return 0;
                }
                catch (NotSupportedException e) when (whole.Model.Config.Members == 1) { head = "not written: " + e.Message; }
            }
            encoder = part switch
            {
                Classification.TransformerClassificationTransformer c when c.Model.Config.Members == 1 => new PretrainedEncoder(c.Model.Encoder, c.Tokenizer, modelPath!),
                Classification.TransformerClassificationTransformer => throw new UsageException($"--model '{modelPath}' is an ensemble; one encoder is written."),
                Featurization.EncoderFeaturizerTransformer f => new PretrainedEncoder(f.Encoder, f.Tokenizer, modelPath!),
                _ => throw new InvalidDataException($"Model '{modelPath}' holds no classifier or featurizer encoder."),
            };
        }
        encoder.SaveHuggingFaceFolder(outPath);
        Print(outPath, encoder.Encoder, head);
        return 0;
    }

    private static void Print(string outPath, Core.Models.TransformerEncoder encoder, string? head)
    {
        var result = new JsonObject
        {
            ["folder"] = outPath, ["files"] = new JsonArray(Directory.GetFiles(outPath, "*", SearchOption.AllDirectories).Select(f => Path.GetRelativePath(outPath, f)).Order(StringComparer.Ordinal).Select(f => (JsonNode)f).ToArray()),
            ["model_type"] = Core.Pretrained.EncoderFamily.For(encoder.Config).ModelTypes[0], ["sentence_transformers"] = head is null && !encoder.Config.Pooler,
        };
        if (head is not null) result["classifier_head"] = head;
        Console.WriteLine(result.ToJsonString());
    }
}
