namespace MLNetTransformers.Cli;

/// <summary>A progress line per report of language-model training, on stderr.</summary>
internal sealed class LanguageModelProgressLine : IProgress<LanguageModelTrainingProgress>
{
    public void Report(LanguageModelTrainingProgress p) => Console.Error.WriteLine(p.ToString());
}
