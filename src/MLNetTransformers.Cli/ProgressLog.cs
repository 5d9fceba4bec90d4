using MLNetTransformers.Training;

namespace MLNetTransformers.Cli;

/// <summary>A progress line per report, on stderr (language models, masked-LM pretraining, encoder-decoders).</summary>
internal sealed class ProgressLog : IProgress<TrainingProgress>
{
    public void Report(TrainingProgress p) => Console.Error.WriteLine(p.ToString());
}
