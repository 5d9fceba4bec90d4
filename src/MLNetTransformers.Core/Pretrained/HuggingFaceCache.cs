namespace MLNetTransformers.Core.Pretrained;

/// <summary>
/// The Hugging Face hub cache that Python's <c>transformers</c> and <c>huggingface_hub</c> fill
/// (<c>models--OWNER--NAME/snapshots/COMMIT/</c>, with <c>refs/main</c> naming the commit): a model downloaded there once
/// is read from it by id, without copying it or going online. The cache is <c>HF_HUB_CACHE</c>, else <c>HF_HOME/hub</c>,
/// else <c>XDG_CACHE_HOME/huggingface/hub</c>, else <c>~/.cache/huggingface/hub</c>, as huggingface_hub finds it.
/// </summary>
public static class HuggingFaceCache
{
    /// <summary>The cache folder huggingface_hub would use on this machine.</summary>
    public static string DefaultFolder
    {
        get
        {
            if (Environment.GetEnvironmentVariable("HF_HUB_CACHE") is { Length: > 0 } hub) return hub;
            if (Environment.GetEnvironmentVariable("HF_HOME") is { Length: > 0 } home) return Path.Combine(home, "hub");
            string cache = Environment.GetEnvironmentVariable("XDG_CACHE_HOME") is { Length: > 0 } xdg
                ? xdg : Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".cache");
            return Path.Combine(cache, "huggingface", "hub");
        }
    }

    /// <summary>Whether <paramref name="text"/> has the form of a hub model id (<c>name</c> or <c>owner/name</c>).</summary>
    /// <param name="text">The text.</param>
    public static bool IsModelId(string text) =>
        System.Text.RegularExpressions.Regex.IsMatch(text, @"^[A-Za-z0-9][\w.\-]*(/[A-Za-z0-9][\w.\-]*)?$") && !text.Contains("..", StringComparison.Ordinal);

    /// <summary>
    /// The snapshot folder of <paramref name="modelId"/> at <paramref name="revision"/> (a branch or tag the cache has a
    /// ref for, or a commit); throws <see cref="DirectoryNotFoundException"/> saying where it looked.
    /// </summary>
    /// <param name="modelId">The hub id, e.g. <c>sentence-transformers/all-MiniLM-L6-v2</c>.</param>
    /// <param name="revision">The branch, tag or commit.</param>
    /// <param name="cacheFolder">The cache; null = <see cref="DefaultFolder"/>.</param>
    public static string Resolve(string modelId, string revision = "main", string? cacheFolder = null)
    {
        ArgumentNullException.ThrowIfNull(modelId);
        if (!IsModelId(modelId)) throw new ArgumentException($"'{modelId}' is not a Hugging Face model id (owner/name).", nameof(modelId));
        if (!IsModelId(revision) || revision.Contains('/')) throw new ArgumentException($"'{revision}' is not a revision name.", nameof(revision));
        string cache = cacheFolder ?? DefaultFolder;
        string repo = Path.Combine(cache, "models--" + modelId.Replace("/", "--", StringComparison.Ordinal));
        if (!Directory.Exists(repo))
            throw new DirectoryNotFoundException($"Model '{modelId}' is not in the Hugging Face cache '{cache}' (no {Path.GetFileName(repo)}); download it once with huggingface_hub or give its folder.");
        string refFile = Path.Combine(repo, "refs", revision);
        string commit = File.Exists(refFile) ? File.ReadAllText(refFile).Trim() : revision;
        if (!IsModelId(commit) || commit.Contains('/')) throw new InvalidDataException($"'{refFile}' does not name a commit.");
        string snapshot = Path.Combine(repo, "snapshots", commit);
        if (!Directory.Exists(snapshot))
            throw new DirectoryNotFoundException($"Model '{modelId}' has no snapshot for '{revision}' in the Hugging Face cache ('{snapshot}' does not exist).");
        return snapshot;
    }
}
