namespace MLNetTransformers.Cli;

/// <summary>The lines of an <c>--input</c> file, or of standard input for <c>-</c> (read once, so pipes work).</summary>
internal static class InputLines
{
    public static string[] Read(string path)
    {
        if (path != "-") return File.ReadAllLines(path);
        var lines = new List<string>();
        while (Console.In.ReadLine() is { } l) lines.Add(l);
        return lines.ToArray();
    }
}
