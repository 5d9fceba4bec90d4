using System.Globalization;

/// <summary>
/// A sample's <c>--name value</c> options, each declared with its kind and checked before anything runs: a misspelt
/// option, a missing value or a value that does not parse is one line on standard error and exit code 2, never a silently
/// ignored word in a long run or a stack trace. (Shared by the samples' projects as a linked source file.)
/// </summary>
/// <param name="args">The command line.</param>
/// <param name="flags">Options without a value.</param>
/// <param name="counts">Options that take a whole number of 0 or more.</param>
/// <param name="numbers">Options that take a finite number.</param>
/// <param name="texts">Options that take any one value (a path, a name).</param>
/// <param name="lists">Options that take one or more values, up to the next option.</param>
internal sealed class SampleArguments(string[] args, string[]? flags = null, string[]? counts = null, string[]? numbers = null, string[]? texts = null, string[]? lists = null)
{
    private readonly string[] _flags = flags ?? [], _counts = counts ?? [], _numbers = numbers ?? [], _texts = texts ?? [], _lists = lists ?? [];

    /// <summary>What is wrong with the command line, or null.</summary>
    public string? Problem()
    {
        var seen = new HashSet<string>();
        for (int i = 0; i < args.Length; i++)
        {
            string a = args[i];
            if (!a.StartsWith("--", StringComparison.Ordinal)) return $"unexpected argument '{a}'";
            if (!seen.Add(a)) return $"{a} is given twice";
            if (_flags.Contains(a)) continue;
            if (!_counts.Contains(a) && !_numbers.Contains(a) && !_texts.Contains(a) && !_lists.Contains(a)) return $"unknown option {a}";
            if (i + 1 >= args.Length || IsOption(args[i + 1])) return $"{a} needs a value";
            if (_lists.Contains(a)) { while (i + 1 < args.Length && !IsOption(args[i + 1])) i++; continue; }
            string v = args[++i];
            if (_counts.Contains(a) && !(int.TryParse(v, NumberStyles.Integer, CultureInfo.InvariantCulture, out int n) && n >= 0))
                return $"{a} takes a whole number of 0 or more, not '{v}'";
            if (_numbers.Contains(a) && !(double.TryParse(v, NumberStyles.Float, CultureInfo.InvariantCulture, out double x) && double.IsFinite(x)))
                return $"{a} takes a number, not '{v}'";
        }
        return null;
    }

    /// <summary>Prints <paramref name="problem"/> as a usage error and returns its exit code, 2.</summary>
    /// <param name="problem">What is wrong, naming the option.</param>
    public static int Fail(string problem)
    {
        Console.Error.WriteLine($"error: {problem.TrimEnd('.')} (the options are listed at the top of the sample's Program.cs)");
        return 2;
    }

    /// <summary>Whether the flag or option <paramref name="name"/> is given.</summary>
    /// <param name="name">The option, e.g. <c>--scratch</c>.</param>
    public bool Has(string name) => Array.IndexOf(args, name) >= 0;

    /// <summary>The value of <paramref name="name"/>, or null when it is not given.</summary>
    /// <param name="name">The option, e.g. <c>--train</c>.</param>
    public string? Get(string name)
    {
        int i = Array.IndexOf(args, name);
        return i >= 0 && i + 1 < args.Length ? args[i + 1] : null;
    }

    /// <summary>The values of a list option (empty when it is not given).</summary>
    /// <param name="name">The option, e.g. <c>--compare</c>.</param>
    public string[] GetList(string name) => args.SkipWhile(a => a != name).Skip(1).TakeWhile(a => !IsOption(a)).ToArray();

    /// <summary>The whole-number value of <paramref name="name"/> (checked by <see cref="Problem"/>), or <paramref name="fallback"/>.</summary>
    /// <param name="name">The option.</param>
    /// <param name="fallback">The value when the option is not given.</param>
    public int GetInt(string name, int fallback) => Get(name) is { } v ? int.Parse(v, CultureInfo.InvariantCulture) : fallback;

    /// <summary>The number value of <paramref name="name"/> (checked by <see cref="Problem"/>), or <paramref name="fallback"/>.</summary>
    /// <param name="name">The option.</param>
    /// <param name="fallback">The value when the option is not given.</param>
    public double GetDouble(string name, double fallback) => Get(name) is { } v ? double.Parse(v, NumberStyles.Float, CultureInfo.InvariantCulture) : fallback;

    private static bool IsOption(string a) => a.StartsWith("--", StringComparison.Ordinal);
}
