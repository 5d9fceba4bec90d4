using System.Globalization;

/// <summary>
/// A command line's positional arguments and <c>--name value</c> options, each declared with its kind and checked before
/// anything runs: a misspelt option, a missing value or a value that does not parse is one line on standard error and
/// exit code 2, never a silently ignored word in a long run or a stack trace. (Shared by the samples and the benchmark
/// tool as a linked source file.)
/// </summary>
/// <param name="args">The command line (after the command's own name, if it has one).</param>
/// <param name="flags">Options without a value.</param>
/// <param name="counts">Options that take a whole number of 0 or more.</param>
/// <param name="positives">Options that take a whole number of 1 or more.</param>
/// <param name="numbers">Options that take a finite number.</param>
/// <param name="texts">Options that take any one value (a path, a name).</param>
/// <param name="choices">Options that take one of the values listed for them.</param>
/// <param name="lists">Options that take one or more values, up to the next option.</param>
/// <param name="optionalTexts">Options whose one value may be left out.</param>
/// <param name="positionals">The arguments before the first option, in order: <c>N</c> for a whole number of 1 or more,
/// else the choices separated by <c>|</c>. Null: none are taken.</param>
internal sealed class CommandArguments(string[] args, string[]? flags = null, string[]? counts = null, string[]? positives = null,
    string[]? numbers = null, string[]? texts = null, IReadOnlyDictionary<string, string[]>? choices = null, string[]? lists = null,
    string[]? optionalTexts = null, string[]? positionals = null)
{
    private readonly string[] _flags = flags ?? [], _counts = counts ?? [], _positives = positives ?? [], _numbers = numbers ?? [],
        _texts = texts ?? [], _lists = lists ?? [], _optionalTexts = optionalTexts ?? [], _positionals = positionals ?? [];
    private readonly IReadOnlyDictionary<string, string[]> _choices = choices ?? new Dictionary<string, string[]>();

    /// <summary>What is wrong with the command line, or null.</summary>
    public string? Problem()
    {
        int i = 0;
        for (; i < args.Length && !IsOption(args[i]); i++)
        {
            if (i >= _positionals.Length) { if (_positionals.Length == 0) return $"unexpected argument '{args[i]}'"; continue; }
            if (_positionals[i] == "N" && !IsWhole(args[i], 1)) return $"argument {i + 1} must be a whole number of 1 or more, not '{args[i]}'";
            if (_positionals[i] != "N" && !_positionals[i].Split('|').Contains(args[i])) return $"argument {i + 1} must be one of {_positionals[i]}, not '{args[i]}'";
        }
        if (i != _positionals.Length) return $"takes {_positionals.Length} argument(s) before the options, got {i}";
        var seen = new HashSet<string>();
        for (; i < args.Length; i++)
        {
            string a = args[i];
            if (!IsOption(a)) return $"unexpected argument '{a}'";
            if (!seen.Add(a)) return $"{a} is given twice";
            bool hasValue = i + 1 < args.Length && !IsOption(args[i + 1]);
            if (_flags.Contains(a)) continue;
            if (_optionalTexts.Contains(a)) { if (hasValue) i++; continue; }
            if (!_counts.Contains(a) && !_positives.Contains(a) && !_numbers.Contains(a) && !_texts.Contains(a) && !_choices.ContainsKey(a) && !_lists.Contains(a))
                return $"unknown option {a}";
            if (!hasValue) return $"{a} needs a value";
            if (_lists.Contains(a)) { while (i + 1 < args.Length && !IsOption(args[i + 1])) i++; continue; }
            string v = args[++i];
            if (_counts.Contains(a) && !IsWhole(v, 0)) return $"{a} takes a whole number of 0 or more, not '{v}'";
            if (_positives.Contains(a) && !IsWhole(v, 1)) return $"{a} takes a whole number of 1 or more, not '{v}'";
            if (_numbers.Contains(a) && !(double.TryParse(v, NumberStyles.Float, CultureInfo.InvariantCulture, out double x) && double.IsFinite(x)))
                return $"{a} takes a number, not '{v}'";
            if (_choices.TryGetValue(a, out var allowed) && !allowed.Contains(v)) return $"{a} takes {string.Join(", ", allowed)}, not '{v}'";
        }
        return null;
    }

    /// <summary>Prints <paramref name="problem"/> as a usage error and returns its exit code, 2.</summary>
    /// <param name="problem">What is wrong, naming the option.</param>
    /// <param name="usage">The command's usage line, or null for a sample (whose options are listed in its Program.cs).</param>
    public static int Fail(string problem, string? usage = null)
    {
        Console.Error.WriteLine($"error: {problem.TrimEnd('.')} ({(usage is null ? "the options are listed at the top of the sample's Program.cs" : "usage: " + usage)})");
        return 2;
    }

    /// <summary>Whether the flag or option <paramref name="name"/> is given.</summary>
    /// <param name="name">The option, e.g. <c>--scratch</c>.</param>
    public bool Has(string name) => Array.IndexOf(args, name) >= 0;

    /// <summary>The value of <paramref name="name"/>, or null when it is not given (or, for an optional value, left out).</summary>
    /// <param name="name">The option, e.g. <c>--train</c>.</param>
    public string? Get(string name)
    {
        int i = Array.IndexOf(args, name);
        return i >= 0 && i + 1 < args.Length && !IsOption(args[i + 1]) ? args[i + 1] : null;
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

    /// <summary>The positional argument at <paramref name="index"/> (checked by <see cref="Problem"/>).</summary>
    /// <param name="index">Its place, from 0.</param>
    public string Positional(int index) => args[index];

    private static bool IsOption(string a) => a.StartsWith("--", StringComparison.Ordinal);

    private static bool IsWhole(string v, int min) => int.TryParse(v, NumberStyles.Integer, CultureInfo.InvariantCulture, out int n) && n >= min;
}
