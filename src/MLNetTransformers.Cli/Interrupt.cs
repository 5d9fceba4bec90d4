namespace MLNetTransformers.Cli;

/// <summary>Ctrl+C handling of the long commands: the first press asks the work to stop cleanly, a second one ends the process.</summary>
internal static class Interrupt
{
    /// <summary>A token cancelled by the first Ctrl+C (after printing <paramref name="notice"/>); the second Ctrl+C is left to kill the process.</summary>
    public static CancellationTokenSource OnFirstCtrlC(string? notice)
    {
        var cts = new CancellationTokenSource();
        Console.CancelKeyPress += (_, e) =>
        {
            if (cts.IsCancellationRequested) return; // second press: the default action ends the process
            e.Cancel = true;
            cts.Cancel();
            if (notice is not null) Console.Error.WriteLine(notice);
        };
        return cts;
    }
}
