using BenchmarkDotNet.Running;
using MLNetTransformers.Benchmarks;

// The tool's own commands print JSON (`throughput` gives the README's figures); anything else goes to BenchmarkDotNet.
if (BenchmarkCommand.All.FirstOrDefault(c => c.Name == args.FirstOrDefault()) is { } command)
{
    if (args.Contains("--help") || args.Contains("-h")) { Console.WriteLine("usage: " + command.Usage); return 0; }
    var arguments = command.Declare(args[1..]);
    if (arguments.Problem() is { } problem) return CommandArguments.Fail($"{command.Name}: {problem}", command.Usage);
    return command.Run(arguments);
}
if (args.Length == 0 || args[0] is "help" or "--help" or "-h")
{
    // Without this, BenchmarkDotNet would wait for a benchmark number on standard input.
    Console.WriteLine("commands (JSON on standard output):");
    foreach (var c in BenchmarkCommand.All) Console.WriteLine("  " + c.Usage);
    Console.WriteLine("anything else goes to BenchmarkDotNet, e.g. --filter '*GemmBenchmarks*'");
    return 0;
}
BenchmarkSwitcher.FromAssembly(typeof(Throughput).Assembly).Run(args);
return 0;
