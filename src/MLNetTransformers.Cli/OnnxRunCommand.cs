namespace MLNetTransformers.Cli;

/// <summary><c>onnx-run</c>: any ONNX model on inputs from a JSON file, with ONNX Runtime; outputs as JSON.</summary>
internal static class OnnxRunCommand
{
    public static Command Create()
    {
        var onnx = CliOption.InputFile("--onnx", "The ONNX model", required: true);
        var inputs = CliOption.InputFile("--inputs", "JSON object mapping each input name to a nested array of numbers", required: true);
        var provider = CliOption.Choice("--provider", "Execution provider", "cpu", "cpu", "cuda");
        var device = CliOption.Int("--device", "CUDA device", 0);
        var fallback = new Option<bool>("--fallback") { Description = "Run on the CPU when CUDA cannot be used" };
        var command = new Command("onnx-run", "Run an ONNX model with ONNX Runtime on JSON inputs; prints the outputs as JSON") { onnx, inputs, provider, device, fallback };
        command.SetAction(r => Run(r.GetValue(onnx)!, r.GetValue(inputs)!, new OnnxExecutionOptions
        {
            Provider = r.GetValue(provider) == "cuda" ? OnnxProvider.Cuda : OnnxProvider.Cpu, DeviceId = r.GetValue(device), FallbackToCpu = r.GetValue(fallback),
            Log = m => Console.Error.WriteLine(m),
        }));
        return command;
    }

    private static int Run(string onnxPath, string inputsPath, OnnxExecutionOptions execution)
    {
        if (!File.Exists(inputsPath)) throw new FileNotFoundException($"Inputs file '{inputsPath}' does not exist.", inputsPath);
        const long maxInputs = 64L << 20; // a bound on the JSON read and the tensors built from it
        if (new FileInfo(inputsPath).Length > maxInputs)
            throw new InvalidDataException($"Inputs file '{inputsPath}' is {new FileInfo(inputsPath).Length:N0} bytes; onnx-run reads at most {maxInputs:N0}.");
        var json = JsonNode.Parse(File.ReadAllText(inputsPath)) as JsonObject ?? throw new InvalidDataException($"'{inputsPath}' must hold a JSON object mapping input names to arrays.");
        OnnxImporter.Verify(onnxPath); // exports of this library carry a checksum of their graph and weights
        using var session = OnnxSessionFactory.Create(onnxPath, execution);
        Console.WriteLine(OnnxRun.Run(session, json, $"'{inputsPath}'").ToJsonString());
        return 0;
    }
}
