using MLNetTransformers.Classification;
using MLNetTransformers.LanguageModeling;

namespace MLNetTransformers.Cli;

/// <summary>A live progress line on stderr (rewritten in place), kept at each epoch end.</summary>
internal sealed class ClassifierProgressLine : IProgress<ClassificationTrainingProgress>
{
    public void Report(ClassificationTrainingProgress p)
    {
        string line = p.ToString().PadRight(110);
        if (p.EndOfEpoch) Console.Error.WriteLine("\r" + line);
        else Console.Error.Write("\r" + line);
    }
}

/// <summary>A progress line per report of language-model training, on stderr.</summary>
internal sealed class LanguageModelProgressLine : IProgress<LanguageModelTrainingProgress>
{
    public void Report(LanguageModelTrainingProgress p) => Console.Error.WriteLine(p.ToString());
}
