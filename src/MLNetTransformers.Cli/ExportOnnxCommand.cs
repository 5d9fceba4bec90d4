namespace MLNetTransformers.Cli;

/// <summary><c>export-onnx</c>: the network of a saved model as an ONNX file.</summary>
internal static class ExportOnnxCommand
{
    public static Command Create()
    {
        var model = CliOption.Model("train, train-lm or train-seq2seq");
        var output = CliOption.Text("--out", "The .onnx file to write (for an encoder-decoder: a directory for its two graphs)", required: true);
        var int8 = CliOption.Int8("Export a classifier's or featurizer's linear layers in int8 (MatMulInteger), as predict --int8 runs them");
        var command = new Command("export-onnx", "Export a model's network as ONNX (opset 17); prints JSON") { model, output, int8 };
        command.SetAction(r => Run(r.GetValue(model)!, r.GetValue(output)!, r.GetValue(int8)));
        return command;
    }

    private static int Run(string modelPath, string outPath, bool int8)
    {
        static string Real(string p) => new FileInfo(Path.GetFullPath(p)) is { LinkTarget: not null } link
            ? link.ResolveLinkTarget(returnFinalTarget: true)?.FullName ?? link.FullName : Path.GetFullPath(p);
        if (Real(modelPath) == Real(outPath)) throw new UsageException($"--out '{outPath}' is the input model itself; give another path.");
        var ml = new MLContext(seed: 0);
        var model = TransformerModel.Load(ml, modelPath, out _);
        if (int8 && !TransformerModel.Parts(model).Any(p => p is Classification.TransformerClassificationTransformer or Featurization.EncoderFeaturizerTransformer
                or TokenClassification.TokenClassificationTransformer or QuestionAnswering.QuestionAnsweringTransformer))
            throw new UsageException($"--int8 exports classifiers, featurizers, token classifiers and question answerers; the model in '{modelPath}' exports in float only.");
        if (TransformerModel.Parts(model).OfType<Translation.Seq2SeqTransformer>().Any())
        {
            ml.Model.ExportSeq2SeqToOnnx(model, outPath);
            var files = new[] { Seq2SeqOnnxGraphs.EncoderFileName, Seq2SeqOnnxGraphs.DecoderFileName }.Select(f => Path.Combine(outPath, f)).ToArray();
            Console.WriteLine(new JsonObject
            {
                ["onnx"] = outPath, ["files"] = new JsonArray(files.Select(f => (JsonNode)f).ToArray()),
                ["bytes"] = files.Sum(f => new FileInfo(f).Length), ["opset"] = OnnxExporter.Opset,
            }.ToJsonString());
            return 0;
        }
        ml.Model.ExportTransformerToOnnx(model, outPath, int8);
        Console.WriteLine(new JsonObject { ["onnx"] = outPath, ["bytes"] = new FileInfo(outPath).Length, ["opset"] = OnnxExporter.Opset, ["int8"] = int8 }.ToJsonString());
        return 0;
    }
}
