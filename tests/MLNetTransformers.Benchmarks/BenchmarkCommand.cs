namespace MLNetTransformers.Benchmarks;

/// <summary>
/// One of the tool's own commands (the rest go to BenchmarkDotNet): its usage line and the arguments it reads, checked
/// before anything is measured, so that a misspelt option is a one-line usage error (exit 2) rather than a silently
/// ignored word in a long run, and <c>--help</c> prints the usage instead of starting the run.
/// </summary>
/// <param name="Name">The first argument that selects the command.</param>
/// <param name="Usage">The usage line printed with <c>--help</c> and with an error.</param>
/// <param name="Positionals">The positional arguments after the command: <c>N</c> a positive whole number, else the choices separated by <c>|</c>.</param>
/// <param name="Numbers">Options that take a positive whole number (<c>--seed</c>: non-negative).</param>
/// <param name="Values">Options that take any other value.</param>
/// <param name="Flags">Options without a value.</param>
/// <param name="OptionalValues">Options whose value may be left out.</param>
internal sealed record BenchmarkCommand(string Name, string Usage, string[] Positionals, string[] Numbers, string[] Values, string[] Flags, string[] OptionalValues)
{
    public static readonly BenchmarkCommand[] All =
    {
        new("throughput", "throughput [--peers DIR] [--steps N] [--scaling [--scaling-steps N] [--shapes-from FILE] [--plots DIR]]",
            [], ["--steps", "--scaling-steps"], ["--peers", "--shapes-from", "--plots"], ["--scaling"], []),
        new("throughput-model", "throughput-model encoder|decoder|onnx|generation|seq2seq STEPS", ["encoder|decoder|onnx|generation|seq2seq", "N"], [], [], [], []),
        new("gemm", "gemm [--peers DIR]", [], [], ["--peers"], [], []),
        new("profile", "profile [--batch N] [--seq N]", [], ["--batch", "--seq"], [], [], []),
        new("finetune", "finetune [--data TSV] [--bs N] [--steps N] [--peers DIR] [--training-only] [--compare SWITCH] [--width V128|V256|V512]",
            [], ["--bs", "--steps"], ["--data", "--peers", "--compare", "--width"], ["--training-only"], []),
        new("attention", "attention [--reps N] [--rounds N] [--seed N]", [], ["--reps", "--rounds", "--seed"], [], [], []),
        new("scaling", "scaling [--peers [DIR]] [--scaling-steps N] [--shapes-from FILE] [--plots DIR]",
            [], ["--scaling-steps"], ["--shapes-from", "--plots"], [], ["--peers"]),
        new("scaling-shape", "scaling-shape infer|train SEQ BATCH STEPS", ["infer|train", "N", "N", "N"], [], [], [], []),
    };

    /// <summary>What is wrong with <paramref name="args"/> (the command's name first) for this command, or null.</summary>
    /// <param name="args">The whole command line.</param>
    public string? Problem(string[] args)
    {
        int given = 0, i = 1;
        for (; i < args.Length && !args[i].StartsWith("--", StringComparison.Ordinal); i++, given++)
        {
            if (given >= Positionals.Length) continue;
            if (Positionals[given] == "N" && !IsCount(args[i])) return $"argument {given + 1} must be a positive whole number, not '{args[i]}'";
            if (Positionals[given] != "N" && !Positionals[given].Split('|').Contains(args[i])) return $"argument {given + 1} must be one of {Positionals[given]}, not '{args[i]}'";
        }
        if (given != Positionals.Length) return $"takes {Positionals.Length} argument(s) after '{Name}', got {given}";
        var seen = new HashSet<string>();
        for (; i < args.Length; i++)
        {
            string a = args[i];
            if (!a.StartsWith("--", StringComparison.Ordinal)) return $"unexpected argument '{a}'";
            if (!seen.Add(a)) return $"{a} is given twice";
            bool hasValue = i + 1 < args.Length && !args[i + 1].StartsWith("--", StringComparison.Ordinal);
            if (Flags.Contains(a)) continue;
            if (OptionalValues.Contains(a)) { if (hasValue) i++; continue; }
            if (!Numbers.Contains(a) && !Values.Contains(a)) return $"unknown option {a}";
            if (!hasValue) return $"{a} needs a value";
            if (Numbers.Contains(a) && !(a == "--seed" ? int.TryParse(args[i + 1], out int s) && s >= 0 : IsCount(args[i + 1])))
                return $"{a} must be a {(a == "--seed" ? "non-negative" : "positive")} whole number, not '{args[i + 1]}'";
            if (a == "--width" && args[i + 1] is not ("V128" or "V256" or "V512"))
                return $"--width must be V128, V256 or V512, not '{args[i + 1]}'";
            i++;
        }
        return null;
    }

    private static bool IsCount(string s) => int.TryParse(s, out int n) && n > 0;
}
