namespace MLNetTransformers.Cli;

/// <summary>
/// <c>--provider</c> and <c>--fallback</c> of the commands that score with a classifier, tagger or question answerer: the
/// model's exported graph run by ONNX Runtime on that execution provider instead of the managed engine (<c>UseOnnxRuntime</c>).
/// </summary>
internal sealed class OnnxRuntimeFlags
{
    private readonly Option<string> _provider = new("--provider") { Description = "Score through ONNX Runtime, on the model's exported graph, with this execution provider (cpu or cuda); without it the managed engine scores" };
    private readonly Option<bool> _fallback = new("--fallback") { Description = "With --provider cuda: run on the CPU when CUDA cannot be used" };

    public OnnxRuntimeFlags() => _provider.AcceptOnlyFromAmong("cpu", "cuda");

    /// <summary>Adds both flags to <paramref name="command"/>.</summary>
    public void AddTo(Command command)
    {
        command.Options.Add(_provider);
        command.Options.Add(_fallback);
    }

    /// <summary>The execution options asked for, or null for the managed engine; usage errors for flags that do not go together.</summary>
    public OnnxExecutionOptions? Read(ParseResult r, bool int8)
    {
        string? provider = r.GetValue(_provider);
        bool fallback = r.GetValue(_fallback);
        if (provider is null) return fallback ? throw new UsageException("--fallback goes with --provider cuda.") : null;
        if (int8) throw new UsageException("--int8 scores in the managed engine and --provider runs the float graph under ONNX Runtime: give one of them.");
        return new OnnxExecutionOptions { Provider = provider == "cuda" ? OnnxProvider.Cuda : OnnxProvider.Cpu, FallbackToCpu = fallback, Log = m => Console.Error.WriteLine(m) };
    }
}
