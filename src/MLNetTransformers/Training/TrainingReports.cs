namespace MLNetTransformers.Training;

/// <summary>Forwards the loop's reports to a trainer's own progress type and to ML.NET's log (<c>MLContext.Log</c>).</summary>
internal static class TrainingReports
{
    /// <summary>A sink that maps each report with <paramref name="map"/>, hands it to <paramref name="progress"/> and logs its text.</summary>
    public static IProgress<TrainingReport> To<T>(IProgress<T>? progress, IChannel? log, Func<TrainingReport, T> map) where T : notnull =>
        new Sink<T>(progress, log, map);

    private sealed class Sink<T>(IProgress<T>? progress, IChannel? log, Func<TrainingReport, T> map) : IProgress<TrainingReport> where T : notnull
    {
        public void Report(TrainingReport value)
        {
            var p = map(value);
            progress?.Report(p);
            log?.Info(MessageSensitivity.None, p.ToString());
        }
    }
}
