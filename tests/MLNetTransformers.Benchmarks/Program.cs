using BenchmarkDotNet.Running;
using MLNetTransformers.Benchmarks;

// The tool's own commands print JSON (`throughput` gives the README's figures); anything else goes to BenchmarkDotNet.
if (BenchmarkCommand.All.FirstOrDefault(c => c.Name == args.FirstOrDefault()) is { } command)
{
    if (args.Contains("--help") || args.Contains("-h")) { Console.WriteLine("usage: " + command.Usage); return 0; }
    if (command.Problem(args) is { } problem) { Console.Error.WriteLine($"error: {command.Name}: {problem} (usage: {command.Usage})"); return 2; }
}
return args.FirstOrDefault() switch
{
    "throughput" => Throughput.Run(args),
    "throughput-model" => Throughput.RunModel(args[1], int.Parse(args[2])),
    "gemm" => Throughput.RunGemm(args),
    "profile" => Profile(args),
    "finetune" => FineTuneThroughput.Run(args),
    "attention" => AttentionThroughput.Run(args),
    "scaling" => Scaling.Run(args),
    "scaling-shape" => Scaling.RunShape(args[1], int.Parse(args[2]), int.Parse(args[3]), int.Parse(args[4])),
    _ => RunBenchmarks(args),
};

static int Profile(string[] args)
{
    int Arg(string name, int fallback) { int i = Array.IndexOf(args, name); return i >= 0 ? int.Parse(args[i + 1]) : fallback; }
    Console.WriteLine(InferenceProfile.Measure(Arg("--batch", ReferenceModel.Batch), Arg("--seq", ReferenceModel.SeqLen)).ToJsonString(new() { WriteIndented = true }));
    return 0;
}

static int RunBenchmarks(string[] args)
{
    BenchmarkSwitcher.FromAssembly(typeof(Throughput).Assembly).Run(args);
    return 0;
}
