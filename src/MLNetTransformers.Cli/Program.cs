using MLNetTransformers.Cli;

// mlnet-transformers: one file per command; parse errors and refused settings exit 2 with one line, runtime failures 1.
var root = new RootCommand("mlnet-transformers: train and use transformer text classifiers and language models with ML.NET.\n" +
    "Data files are tab-separated with a header row; by default text is the first column and the label the second " +
    "(binary labels 0/1 or true/false; multiclass labels any strings).")
{
    TrainCommand.Create(), EvaluateCommand.Create(), PredictCommand.Create(), TrainLmCommand.Create(), GenerateCommand.Create(),
    PerplexityCommand.Create(), TrainSeq2SeqCommand.Create(), TranslateCommand.Create(), EvaluateSeq2SeqCommand.Create(), AttentionCommand.Create(),
    ExportOnnxCommand.Create(), OnnxRunCommand.Create(), FillMaskCommand.Create(), TagCommand.Create(), AnswerCommand.Create(), EmbedCommand.Create(), ExportHuggingFaceCommand.Create(),
};
const string Hint = "(mlnet-transformers --help lists the commands, mlnet-transformers COMMAND --help their options)";
if (args.Length == 0)
{
    Console.Error.WriteLine($"error: A command is required. {Hint}");
    return 2;
}
var parsed = root.Parse(args);
if (parsed.Errors.Count > 0)
{
    // Name the option whose value was refused when the parser's message does not.
    var error = parsed.Errors[0];
    var option = (error.SymbolResult as System.CommandLine.Parsing.OptionResult ?? error.SymbolResult?.Parent as System.CommandLine.Parsing.OptionResult)?.Option.Name;
    string message = option is not null && !error.Message.Contains(option, StringComparison.Ordinal) ? $"{option}: {error.Message}" : error.Message;
    Console.Error.WriteLine($"error: {OneLine(message)} {Hint}");
    return 2;
}
try
{
    return parsed.Invoke(new InvocationConfiguration { EnableDefaultExceptionHandler = false });
}
catch (UsageException e)
{
    Console.Error.WriteLine($"error: {OneLine(e.Message)} {Hint}");
    return 2;
}
catch (Exception e)
{
    // Nothing escapes as a stack trace: one line, exit 1. Parallel work wraps its failure; show the failure itself.
    var inner = e is AggregateException a ? a.Flatten().InnerExceptions[0] : e;
    bool expected = inner is ArgumentException or InvalidDataException or IOException or InvalidOperationException or FormatException
        or NotSupportedException or System.Text.Json.JsonException or Microsoft.ML.OnnxRuntime.OnnxRuntimeException
        or MLNetTransformers.Core.Training.TrainingDivergedException or UnauthorizedAccessException;
    Console.Error.WriteLine(expected ? $"error: {OneLine(inner.Message)}" : $"error ({inner.GetType().Name}): {OneLine(inner.Message)}");
    return 1;
}

// One line, and no raw control characters from the input (binary garbage in a file is shown escaped, \u0001).
static string OneLine(string message)
{
    var sb = new System.Text.StringBuilder(message.Length);
    foreach (char c in message.ReplaceLineEndings(" ").Trim())
        if (char.IsControl(c)) sb.Append(System.Globalization.CultureInfo.InvariantCulture, $"\\u{(int)c:x4}");
        else sb.Append(c);
    return sb.ToString();
}
