namespace MLNetTransformers.Cli;

/// <summary>Parallel text files (one sentence per line, line i of one translating line i of the other) as a Source/Target view.</summary>
internal static class ParallelText
{
    public sealed class Pair
    {
        public string Source { get; set; } = "";
        public string Target { get; set; } = "";
    }

    public static IDataView Load(MLContext ml, string sourcePath, string targetPath)
    {
        var sources = File.ReadAllLines(sourcePath);
        var targets = File.ReadAllLines(targetPath);
        if (sources.Length != targets.Length)
            throw new InvalidDataException($"'{sourcePath}' has {sources.Length} lines and '{targetPath}' {targets.Length}; parallel files need one line each per pair.");
        return ml.Data.LoadFromEnumerable(sources.Zip(targets, (s, t) => new Pair { Source = s, Target = t }).ToList());
    }
}
