using MLNetTransformers.Core.Pretrained;
using Xunit;

namespace MLNetTransformers.Core.Tests;

/// <summary>Models in the cache Python's transformers fills (models--OWNER--NAME/snapshots/COMMIT, refs/main) are found by id.</summary>
public class HuggingFaceCacheTests
{
    // A cache as huggingface_hub lays it out, holding the BERT fixture as owner/tiny-bert at commit 0123abcd.
    private static string Cache()
    {
        string cache = Directory.CreateTempSubdirectory("hf-cache").FullName;
        string repo = Path.Combine(cache, "models--owner--tiny-bert");
        string snapshot = Path.Combine(repo, "snapshots", "0123abcd");
        Directory.CreateDirectory(snapshot);
        Directory.CreateDirectory(Path.Combine(repo, "refs"));
        File.WriteAllText(Path.Combine(repo, "refs", "main"), "0123abcd");
        foreach (var f in Directory.GetFiles(PretrainedCheckpointTests.Folder("bert"))) File.Copy(f, Path.Combine(snapshot, Path.GetFileName(f)));
        return cache;
    }

    [Fact]
    public void AModelId_ResolvesToItsSnapshot_ByBranchOrCommit()
    {
        string cache = Cache();
        try
        {
            string snapshot = HuggingFaceCache.Resolve("owner/tiny-bert", cacheFolder: cache);
            Assert.Equal(Path.Combine(cache, "models--owner--tiny-bert", "snapshots", "0123abcd"), snapshot);
            Assert.Equal(snapshot, HuggingFaceCache.Resolve("owner/tiny-bert", "0123abcd", cache));
            Assert.Equal("BERT", PretrainedCheckpoint.LoadFolder(snapshot).Family.Name);
        }
        finally { Directory.Delete(cache, recursive: true); }
    }

    [Fact]
    public void MissingModelsAndBadNames_AreNamed()
    {
        string cache = Cache();
        try
        {
            Assert.Contains("is not in the Hugging Face cache", Assert.Throws<DirectoryNotFoundException>(() => HuggingFaceCache.Resolve("owner/other", cacheFolder: cache)).Message);
            Assert.Contains("has no snapshot for 'v2'", Assert.Throws<DirectoryNotFoundException>(() => HuggingFaceCache.Resolve("owner/tiny-bert", "v2", cache)).Message);
            Assert.Throws<ArgumentException>(() => HuggingFaceCache.Resolve("../outside", cacheFolder: cache));
            Assert.False(HuggingFaceCache.IsModelId("/tmp/folder"));
            Assert.True(HuggingFaceCache.IsModelId("bert-base-uncased"));
            File.WriteAllText(Path.Combine(cache, "models--owner--tiny-bert", "refs", "main"), "../../elsewhere");
            Assert.Contains("does not name a commit", Assert.Throws<InvalidDataException>(() => HuggingFaceCache.Resolve("owner/tiny-bert", cacheFolder: cache)).Message);
        }
        finally { Directory.Delete(cache, recursive: true); }
    }
}
