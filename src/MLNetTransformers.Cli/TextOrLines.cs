namespace MLNetTransformers.Cli;

/// <summary>
/// A command's texts: one given inline (<c>--text</c>, <c>--prompt</c>) or every line of an <c>--input</c> file, or of
/// standard input for <c>-</c> (read once, so pipes work). Giving both or neither is a usage error.
/// </summary>
internal sealed class TextOrLines
{
    private readonly Option<string> _text;
    private readonly Option<string> _input;

    /// <param name="textName">The inline option, e.g. <c>--text</c>.</param>
    /// <param name="textDescription">Its help text.</param>
    /// <param name="inputDescription">The help text of <c>--input</c>.</param>
    public TextOrLines(string textName, string textDescription, string inputDescription)
    {
        _text = CliOption.Text(textName, textDescription);
        _input = CliOption.InputFile("--input", inputDescription, standardInput: true);
    }

    /// <summary>Adds both options to <paramref name="command"/>.</summary>
    public void AddTo(Command command)
    {
        command.Options.Add(_text);
        command.Options.Add(_input);
    }

    /// <summary>The texts given: the inline one alone (<paramref name="inline"/> true), or the lines of the file.</summary>
    public string[] Read(ParseResult r, out bool inline)
    {
        string? one = r.GetValue(_text), path = r.GetValue(_input);
        if ((one is null) == (path is null)) throw new UsageException($"Give exactly one of {_text.Name} and {_input.Name}.");
        inline = one is not null;
        if (one is not null) return new[] { one };
        if (path != "-") return File.ReadAllLines(path!);
        var lines = new List<string>();
        while (Console.In.ReadLine() is { } l) lines.Add(l);
        return lines.ToArray();
    }
}
