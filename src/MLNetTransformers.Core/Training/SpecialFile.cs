using System.Runtime.InteropServices;

namespace MLNetTransformers.Core.Training;

/// <summary>
/// Tells devices, pipes and sockets from regular files (.NET has no public API for a file's type). Uses libc's
/// <c>stat</c> on Linux (x64 and arm64 layouts); elsewhere it answers null and saving behaves as before.
/// </summary>
internal static class SpecialFile
{
    [DllImport("libc", EntryPoint = "stat", SetLastError = true, CharSet = CharSet.Ansi, BestFitMapping = false, ThrowOnUnmappableChar = true)]
    private static extern int Stat(string path, byte[] buffer);

    /// <summary>"character device", "block device", "named pipe" or "socket" for such a file; null for a regular file, a missing path or an unknown platform.</summary>
    public static string? Kind(string path)
    {
        if (!OperatingSystem.IsLinux()) return null;
        int modeOffset = RuntimeInformation.ProcessArchitecture switch { Architecture.X64 => 24, Architecture.Arm64 => 16, _ => -1 };
        if (modeOffset < 0) return null;
        var buffer = new byte[256]; // struct stat is 144 (x64) or 128 (arm64) bytes
        try
        {
            if (Stat(path, buffer) != 0) return null;
        }
        catch (Exception e) when (e is DllNotFoundException or EntryPointNotFoundException) { return null; }
        uint mode = BitConverter.ToUInt32(buffer, modeOffset) & 0xF000; // S_IFMT
        return mode switch
        {
            0x2000 => "character device",
            0x6000 => "block device",
            0x1000 => "named pipe",
            0xC000 => "socket",
            _ => null,
        };
    }
}
