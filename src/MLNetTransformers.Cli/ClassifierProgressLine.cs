using MLNetTransformers.Training;

namespace MLNetTransformers.Cli;

/// <summary>A live progress line on stderr (rewritten in place), kept at each epoch end.</summary>
internal sealed class ClassifierProgressLine : IProgress<TrainingProgress>
{
    public void Report(TrainingProgress p)
    {
        string line = p.ToString().PadRight(110);
        if (p.EndOfEpoch) Console.Error.WriteLine("\r" + line);
        else Console.Error.Write("\r" + line);
    }
}
