using BenchmarkDotNet.Running;
using MLNetTransformers.Benchmarks;

// `throughput [--peers DIR] [--steps N]`: the JSON figures of the README; anything else goes to BenchmarkDotNet.
return args.FirstOrDefault() switch
{
    "throughput" => Throughput.Run(args),
    "throughput-model" => Throughput.RunModel(args[1], int.Parse(args[2])),
    _ => RunBenchmarks(args),
};

static int RunBenchmarks(string[] args)
{
    BenchmarkSwitcher.FromAssembly(typeof(Throughput).Assembly).Run(args);
    return 0;
}
