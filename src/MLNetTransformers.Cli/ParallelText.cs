namespace MLNetTransformers.Cli;

/// <summary>Parallel text files (one sentence per line, line i of one translating line i of the other) as a Source/Target view.</summary>
internal static class ParallelText
{
    public sealed class Pair
    {
        public string Source { get; set; } = "";
        public string Target { get; set; } = "";
    }

    /// <summary>The pairs of <c>--source</c>/<c>--target</c> parallel files, or of a <c>--pairs</c> TSV (header row; source column first, target second).</summary>
    public static IDataView From(MLContext ml, string? sourcePath, string? targetPath, string? pairsPath)
    {
        if (pairsPath is not null)
        {
            if (sourcePath is not null || targetPath is not null) throw new UsageException("Give either --pairs or --source and --target, not both.");
            return LoadTsv(ml, pairsPath);
        }
        if (sourcePath is null || targetPath is null) throw new UsageException("Give --source and --target (parallel files), or --pairs (a two-column TSV).");
        return Load(ml, sourcePath, targetPath);
    }

    private static IDataView LoadTsv(MLContext ml, string path)
    {
        var lines = File.ReadAllLines(path);
        if (lines.Length < 2) throw new InvalidDataException($"'{path}' holds no pairs: a header row and one tab-separated source/target pair per line are expected.");
        var pairs = new List<Pair>();
        for (int i = 1; i < lines.Length; i++)
        {
            if (lines[i].Length == 0) continue;
            var cols = lines[i].Split('\t');
            if (cols.Length < 2) throw new InvalidDataException($"'{path}', line {i + 1}: expected a source and a target separated by a tab.");
            pairs.Add(new Pair { Source = cols[0], Target = cols[1] });
        }
        return ml.Data.LoadFromEnumerable(pairs);
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
