using System.Text;
using MLNetTransformers.Pretrained;
using Xunit;
using Xunit.Abstractions;

namespace MLNetTransformers.Tests;

/// <summary>
/// Mutated Hugging Face model folders (the BERT fixture of Fixtures/pretrained): bytes of the safetensors header and
/// its length changed, the file cut short, config.json and vocab.txt edited. Every case must load or fail with an
/// exception that names the file; none may crash or hang. A safetensors header that still loads after a mutation must
/// describe the same weights (the header has no checksum, but its offsets, sizes and shapes must all agree).
/// </summary>
[Collection("Fuzz")]
public sealed class PretrainedFuzzTests(ITestOutputHelper output)
{
    private static readonly string Source = Path.Combine(AppContext.BaseDirectory, "Fixtures", "pretrained", "bert");

    private enum Mutation { HeaderBytes, HeaderLength, Truncate, Config, Vocabulary }

    [Fact]
    public async Task MutatedCheckpoints_LoadOrFailNamingTheFile()
    {
        var original = PretrainedEncoder.FromHuggingFaceFolder(Source, maxTokens: 16);
        var weights = File.ReadAllBytes(Path.Combine(Source, "model.safetensors"));
        var config = File.ReadAllText(Path.Combine(Source, "config.json"));
        var vocab = File.ReadAllText(Path.Combine(Source, "vocab.txt"));
        long headerLength = BitConverter.ToInt64(weights, 0);
        var counts = new Dictionary<Mutation, int> { [Mutation.HeaderBytes] = 300, [Mutation.HeaderLength] = 50, [Mutation.Truncate] = 50, [Mutation.Config] = 100, [Mutation.Vocabulary] = 100 };
        int cases = 0, rejected = 0, loaded = 0;
        var failures = new List<string>();
        var rng = new Random(20261203);
        string dir = Directory.CreateTempSubdirectory("pretrained-fuzz").FullName;
        try
        {
            foreach (var (kind, n) in counts)
                for (int c = 0; c < n; c++, cases++)
                {
                    byte[] w = (byte[])weights.Clone();
                    string cfg = config, voc = vocab;
                    switch (kind)
                    {
                        case Mutation.HeaderBytes:
                            for (int k = rng.Next(1, 4); k > 0; k--) w[8 + rng.Next((int)headerLength)] = (byte)rng.Next(256);
                            break;
                        case Mutation.HeaderLength:
                            BitConverter.GetBytes(rng.Next(3) switch { 0 => rng.NextInt64(), 1 => headerLength + rng.Next(-64, 64), _ => (long)rng.Next(200_000_000) }).CopyTo(w, 0);
                            break;
                        case Mutation.Truncate:
                            Array.Resize(ref w, rng.Next(w.Length));
                            break;
                        case Mutation.Config:
                            cfg = Edit(config, rng);
                            break;
                        case Mutation.Vocabulary:
                            voc = rng.Next(3) == 0 ? string.Join('\n', vocab.Split('\n').Where((_, i) => i != rng.Next(40))) : Edit(vocab, rng);
                            break;
                    }
                    string folder = Path.Combine(dir, $"case{cases}");
                    Directory.CreateDirectory(folder);
                    File.WriteAllBytes(Path.Combine(folder, "model.safetensors"), w);
                    File.WriteAllText(Path.Combine(folder, "config.json"), cfg);
                    File.WriteAllText(Path.Combine(folder, "vocab.txt"), voc);
                    var task = Task.Run(() => PretrainedEncoder.FromHuggingFaceFolder(folder, maxTokens: 16));
                    if (await Task.WhenAny(task, Task.Delay(TimeSpan.FromSeconds(30))) != task) { failures.Add($"{kind} case {c}: hung"); continue; }
                    if (task.Exception?.InnerException is { } e)
                    {
                        rejected++;
                        if (e is not (InvalidDataException or NotSupportedException or FileNotFoundException))
                            failures.Add($"{kind} case {c}: {e.GetType().Name}: {e.Message}");
                        else if (!e.Message.Contains(folder, StringComparison.Ordinal))
                            failures.Add($"{kind} case {c}: the message does not name the file: {e.Message}");
                        continue;
                    }
                    loaded++;
                    if (kind is Mutation.HeaderBytes or Mutation.HeaderLength or Mutation.Truncate && !(await task).Encoder.Parameters.Data.AsSpan().SequenceEqual(original.Encoder.Parameters.Data))
                        failures.Add($"{kind} case {c}: loaded different weights without an error");
                    Directory.Delete(folder, recursive: true);
                }
        }
        finally { Directory.Delete(dir, recursive: true); }
        output.WriteLine($"{cases} cases: {rejected} rejected, {loaded} loaded, {failures.Count} failures");
        Assert.True(cases >= 500);
        Assert.True(failures.Count == 0, string.Join("\n", failures.Take(20)));
    }

    // One to three character edits: replaced, deleted or inserted.
    private static string Edit(string text, Random rng)
    {
        var sb = new StringBuilder(text);
        for (int k = rng.Next(1, 4); k > 0 && sb.Length > 0; k--)
        {
            int at = rng.Next(sb.Length);
            switch (rng.Next(3))
            {
                case 0: sb[at] = (char)rng.Next(32, 127); break;
                case 1: sb.Remove(at, 1); break;
                default: sb.Insert(at, (char)rng.Next(32, 127)); break;
            }
        }
        return sb.ToString();
    }
}
