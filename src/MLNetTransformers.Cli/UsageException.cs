namespace MLNetTransformers.Cli;

/// <summary>Bad command-line usage found after parsing (e.g. an option value the library refuses): one line, exit code 2.</summary>
internal sealed class UsageException(string message) : Exception(message);
