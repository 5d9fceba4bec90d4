using System.Text.Json;
using System.Text.Json.Nodes;
using Xunit;

namespace MLNetTransformers.Tests;

/// <summary>RoBERTa's tokenizer read from a fast tokenizer's tokenizer.json alone gives the reference ids of vocab.json + merges.txt.</summary>
public class TokenizerJsonTests
{
    [Theory]
    [InlineData(false)]
    [InlineData(true)] // newer tokenizers write each merge as a [a, b] pair
    public void BpeTokenizerJson_GivesTheReferenceIds(bool mergesAsPairs)
    {
        string roberta = Path.Combine(AppContext.BaseDirectory, "Fixtures", "pretrained", "roberta");
        var merges = File.ReadAllLines(Path.Combine(roberta, "merges.txt")).Where(l => l.Length > 0 && !l.StartsWith("#version", StringComparison.Ordinal))
            .Select(l => mergesAsPairs ? (JsonNode)new JsonArray(l.Split(' ').Select(p => (JsonNode)p).ToArray()) : l).ToArray();
        var json = new JsonObject
        {
            ["pre_tokenizer"] = new JsonObject { ["type"] = "ByteLevel", ["add_prefix_space"] = false },
            ["model"] = new JsonObject { ["type"] = "BPE", ["vocab"] = JsonNode.Parse(File.ReadAllText(Path.Combine(roberta, "vocab.json"))), ["merges"] = new JsonArray(merges) },
        };
        string dir = Directory.CreateTempSubdirectory("tokenizer-json").FullName;
        try
        {
            File.WriteAllText(Path.Combine(dir, "tokenizer.json"), json.ToJsonString());
            var tokenizer = Pretrained.PretrainedEncoder.TokenizerOf(dir, 64);
            using var reference = JsonDocument.Parse(File.ReadAllText(Path.Combine(roberta, "tokenizer_reference.json")));
            var texts = reference.RootElement.GetProperty("texts").EnumerateArray().Select(t => t.GetString()!).ToArray();
            var expected = reference.RootElement.GetProperty("ids").EnumerateArray().Select(r => r.EnumerateArray().Select(v => v.GetInt32()).ToArray()).ToArray();
            for (int i = 0; i < texts.Length; i++)
            {
                var ids = new int[64];
                int n = tokenizer.Encode(texts[i], ids, new int[64]);
                Assert.Equal(expected[i], ids[..n]);
            }
        }
        finally { Directory.Delete(dir, recursive: true); }
    }
}
