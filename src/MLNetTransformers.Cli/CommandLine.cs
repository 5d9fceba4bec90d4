using System.Globalization;

namespace MLNetTransformers.Cli;

/// <summary>`--name value` options and `--flag` switches after the command word; unknown options are errors.</summary>
internal sealed class CommandLine
{
    private readonly Dictionary<string, string?> _values = new(StringComparer.Ordinal);
    private readonly HashSet<string> _used = new(StringComparer.Ordinal);

    public CommandLine(IEnumerable<string> args, IReadOnlySet<string> switches)
    {
        var list = args.ToList();
        for (int i = 0; i < list.Count; i++)
        {
            string a = list[i];
            if (!a.StartsWith("--", StringComparison.Ordinal)) throw new UsageException($"Unexpected argument '{a}'.");
            if (switches.Contains(a)) { _values[a] = null; continue; }
            if (i + 1 >= list.Count) throw new UsageException($"Option {a} needs a value.");
            _values[a] = list[++i];
        }
    }

    public string? Get(string name) { _used.Add(name); return _values.TryGetValue(name, out var v) ? v : null; }
    public bool Has(string name) { _used.Add(name); return _values.ContainsKey(name); }
    public string Require(string name) => Get(name) ?? throw new UsageException($"Missing required option {name}.");

    public int Int(string name, int fallback)
    {
        var v = Get(name);
        if (v is null) return fallback;
        return int.TryParse(v, NumberStyles.Integer, CultureInfo.InvariantCulture, out int r) ? r : throw new UsageException($"Option {name} expects an integer, got '{v}'.");
    }

    /// <summary>The integer given for <paramref name="name"/>, or null when the option is absent (the library chooses).</summary>
    public int? IntOrNull(string name) => Get(name) is null ? null : Int(name, 0);

    public double Double(string name, double fallback)
    {
        var v = Get(name);
        if (v is null) return fallback;
        // Invariant culture, no group separators ("1,5" is not 15), finite only ("Infinity" and "NaN" are refused).
        return double.TryParse(v, NumberStyles.Float, CultureInfo.InvariantCulture, out double r) && double.IsFinite(r)
            ? r : throw new UsageException($"Option {name} expects a finite number, got '{v}'.");
    }

    /// <summary>A duration in seconds (finite, positive, at most a year), or null when the option is absent.</summary>
    public TimeSpan? Seconds(string name)
    {
        if (Get(name) is null) return null;
        double v = Double(name, 0);
        if (!(v > 0 && v <= 365 * 86400.0)) throw new UsageException($"Option {name} expects a number of seconds above 0 and at most a year, got '{Get(name)}'.");
        return TimeSpan.FromSeconds(v);
    }

    /// <summary>Throws for options nobody asked for (typos).</summary>
    public void RejectUnknown()
    {
        var unknown = _values.Keys.Where(k => !_used.Contains(k)).ToList();
        if (unknown.Count > 0) throw new UsageException($"Unknown option{(unknown.Count > 1 ? "s" : "")} {string.Join(", ", unknown)}.");
    }
}

/// <summary>Bad command-line usage: printed with the usage text, exit code 2.</summary>
internal sealed class UsageException(string message) : Exception(message);
