using System.CommandLine.Parsing;
using System.Globalization;

namespace MLNetTransformers.Cli;

/// <summary>Options whose values are parsed the same way by every command: invariant numbers, finite only, durations in seconds.</summary>
internal static class CliOption
{
    /// <summary>An option holding a path or text.</summary>
    public static Option<string> Text(string name, string description, bool required = false) =>
        new(name) { Description = description, Required = required };

    /// <summary>
    /// A file the command reads: a missing file or a directory is a usage error naming the option (exit 2), before any
    /// work. <paramref name="standardInput"/> also accepts <c>-</c>.
    /// </summary>
    public static Option<string> InputFile(string name, string description, bool required = false, bool standardInput = false)
    {
        var o = Text(name, description, required);
        o.Validators.Add(r =>
        {
            if (r.Tokens.Count == 0) return;
            string path = r.Tokens[0].Value;
            if (standardInput && path == "-") return;
            if (Directory.Exists(path)) r.AddError($"Option {name}: '{path}' is a directory; give a file.");
            else if (!File.Exists(path)) r.AddError($"Option {name}: file '{path}' does not exist.");
        });
        return o;
    }

    /// <summary><c>--int8</c>: int8 linear layers (weights per output channel, activations per row), for scoring or export.</summary>
    public static Option<bool> Int8(string description = "Score with int8 linear layers (dynamic quantization; AVX-VNNI where the CPU has it)") =>
        new("--int8") { Description = description };

    /// <summary>
    /// The <c>--model</c> of a command that scores with a classifier: a model file written by <c>train</c>, or a Hugging
    /// Face folder of a BERT, ERNIE, RoBERTa, CamemBERT, data2vec-text, DistilBERT, ELECTRA, MPNet, ALBERT, DeBERTa (v1, v2/v3), ModernBERT, NomicBERT, JinaBERT, MosaicBERT, GTE, ESM, MegatronBERT, RoBERTa-PreLayerNorm or XLM-RoBERTa-XL sequence classifier (<see cref="ModelFile.Load"/>).
    /// </summary>
    public static Option<string> ClassifierModel()
    {
        var o = Text("--model", "A model saved by train, or a Hugging Face folder (or hub id in the Hugging Face cache) of a BERT, ERNIE, RoBERTa, CamemBERT, data2vec-text, DistilBERT, ELECTRA, MPNet, ALBERT, DeBERTa (v1, v2/v3), ModernBERT, NomicBERT, JinaBERT, MosaicBERT, GTE, ESM, MegatronBERT, RoBERTa-PreLayerNorm or XLM-RoBERTa-XL sequence classifier, of weights or of an ONNX export alone", required: true);
        o.Validators.Add(r =>
        {
            if (r.Tokens.Count == 0 || r.Tokens[0].Value is not { } path || File.Exists(path) || Directory.Exists(path)) return;
            if (!Core.Pretrained.HuggingFaceCache.IsModelId(path) || Path.GetExtension(path) is ".mlnt" or ".zip" or ".onnx")
            {
                r.AddError($"Option --model: '{path}' is neither a model file nor a model folder.");
                return;
            }
            try { ModelFile.FolderOfHubId(path, "Option --model:", "neither a model file nor a model folder"); }
            catch (UsageException e) { r.AddError(e.Message); }
        });
        return o;
    }

    /// <summary>The <c>--model</c> a command reads: a model file written by <paramref name="writtenBy"/>.</summary>
    public static Option<string> Model(string writtenBy) => InputFile("--model", $"A model saved by {writtenBy}", required: true);

    /// <summary>An integer option with a default.</summary>
    public static Option<int> Int(string name, string description, int defaultValue) =>
        new(name) { Description = description, DefaultValueFactory = _ => defaultValue, CustomParser = r => ParseInt(r, name) };

    /// <summary>An integer option that may be absent (the library then chooses).</summary>
    public static Option<int?> OptionalInt(string name, string description) =>
        new(name) { Description = description, CustomParser = r => ParseInt(r, name) };

    /// <summary>A finite number (invariant culture, no group separators: "1,5" is not 15; "NaN" and "Infinity" are refused).</summary>
    public static Option<double> Number(string name, string description, double defaultValue) =>
        new(name) { Description = description, DefaultValueFactory = _ => defaultValue, CustomParser = r => ParseNumber(r, name) ?? 0 };

    /// <summary>A finite number that may be absent (the model's or library's setting then holds).</summary>
    public static Option<double?> OptionalNumber(string name, string description) =>
        new(name) { Description = description, CustomParser = r => ParseNumber(r, name) };

    /// <summary>A duration in seconds, above 0 and at most a year, or null when absent.</summary>
    public static Option<TimeSpan?> Seconds(string name, string description) => new(name)
    {
        Description = description + " (seconds)",
        CustomParser = r =>
        {
            if (ParseNumber(r, name) is not { } v) return null;
            if (v > 0 && v <= 365 * 86400.0) return TimeSpan.FromSeconds(v);
            r.AddError($"Option {name} expects a number of seconds above 0 and at most a year, got '{r.Tokens[0].Value}'.");
            return null;
        },
    };

    /// <summary>One of a few words.</summary>
    public static Option<string> Choice(string name, string description, string defaultValue, params string[] choices)
    {
        var o = new Option<string>(name) { Description = description, DefaultValueFactory = _ => defaultValue };
        o.AcceptOnlyFromAmong(choices);
        return o;
    }

    private static int ParseInt(ArgumentResult r, string name)
    {
        string v = r.Tokens[0].Value;
        if (int.TryParse(v, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out int i)) return i;
        r.AddError($"Option {name} expects an integer, got '{v}'.");
        return 0;
    }

    private static double? ParseNumber(ArgumentResult r, string name)
    {
        string v = r.Tokens[0].Value;
        if (double.TryParse(v, NumberStyles.Float, CultureInfo.InvariantCulture, out double d) && double.IsFinite(d)) return d;
        r.AddError($"Option {name} expects a finite number, got '{v}'.");
        return null;
    }
}
