namespace MLNetTransformers.Benchmarks;

/// <summary>
/// One of the tool's own commands (the rest go to BenchmarkDotNet): its usage line, the arguments it declares (checked
/// before anything is measured, so that a misspelt option is a one-line usage error, exit 2, rather than a silently
/// ignored word in a long run) and what it runs.
/// </summary>
/// <param name="Name">The first argument that selects the command.</param>
/// <param name="Usage">The usage line printed with <c>--help</c> and with an error.</param>
/// <param name="Declare">The command's arguments (those after its name), declared.</param>
/// <param name="Run">Runs the command on its checked arguments; returns the exit code.</param>
internal sealed record BenchmarkCommand(string Name, string Usage, Func<string[], CommandArguments> Declare, Func<CommandArguments, int> Run)
{
    public static readonly BenchmarkCommand[] All =
    {
        new("throughput", "throughput [--peers DIR] [--steps N] [--scaling [--scaling-steps N] [--shapes-from FILE] [--plots DIR]]",
            a => new(a, flags: ["--scaling"], positives: ["--steps", "--scaling-steps"], texts: ["--peers", "--shapes-from", "--plots"]),
            Throughput.Run),
        new("throughput-model", "throughput-model encoder|decoder|onnx|generation|seq2seq STEPS",
            a => new(a, positionals: ["encoder|decoder|onnx|generation|seq2seq", "N"]),
            a => Throughput.RunModel(a.Positional(0), int.Parse(a.Positional(1)))),
        new("gemm", "gemm [--peers DIR]", a => new(a, texts: ["--peers"]), Throughput.RunGemm),
        new("profile", "profile [--batch N] [--seq N]", a => new(a, positives: ["--batch", "--seq"]), Profile),
        new("finetune", "finetune [--data TSV] [--bs N] [--steps N] [--peers DIR] [--training-only] [--compare SWITCH] [--width V128|V256|V512] [--int8-kernel Vnni|Avx512Widening|Avx2Widening|Scalar]",
            a => new(a, flags: ["--training-only"], positives: ["--bs", "--steps"], texts: ["--data", "--peers", "--compare"],
                choices: new Dictionary<string, string[]> { ["--width"] = ["V128", "V256", "V512"], ["--int8-kernel"] = ["Vnni", "Avx512Widening", "Avx2Widening", "Scalar"] }),
            FineTuneThroughput.Run),
        new("attention", "attention [--reps N] [--rounds N] [--seed N]",
            a => new(a, positives: ["--reps", "--rounds"], counts: ["--seed"]), AttentionThroughput.Run),
        new("scaling", "scaling [--peers [DIR]] [--scaling-steps N] [--shapes-from FILE] [--plots DIR]",
            a => new(a, positives: ["--scaling-steps"], texts: ["--shapes-from", "--plots"], optionalTexts: ["--peers"]),
            Scaling.Run),
        new("families", "families [--steps N] [--batch N] [--seq N]", a => new(a, positives: ["--steps", "--batch", "--seq"]),
            a => { Console.WriteLine(OnnxThroughput.MeasureFamilies(a.GetInt("--steps", 5), a.GetInt("--batch", 8), a.GetInt("--seq", 128)).ToJsonString(new() { WriteIndented = true })); return 0; }),
        new("scaling-shape", "scaling-shape infer|train SEQ BATCH STEPS",
            a => new(a, positionals: ["infer|train", "N", "N", "N"]),
            a => Scaling.RunShape(a.Positional(0), int.Parse(a.Positional(1)), int.Parse(a.Positional(2)), int.Parse(a.Positional(3)))),
    };

    /// <summary>`profile`: where one inference batch of the reference encoder spends its time, as JSON.</summary>
    private static int Profile(CommandArguments a)
    {
        Console.WriteLine(InferenceProfile.Measure(a.GetInt("--batch", ReferenceModel.Batch), a.GetInt("--seq", ReferenceModel.SeqLen)).ToJsonString(new() { WriteIndented = true }));
        return 0;
    }
}
