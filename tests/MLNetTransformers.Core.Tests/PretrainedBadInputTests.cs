using System.Text;
using System.Text.Json.Nodes;
using MLNetTransformers.Core.Pretrained;
using Xunit;

namespace MLNetTransformers.Core.Tests;

/// <summary>Bad checkpoints are refused with one message naming the file and the problem, before anything is half-loaded.</summary>
public class PretrainedBadInputTests
{
    private static string Copy(Action<string>? change = null, string fixture = "bert")
    {
        string dir = Directory.CreateTempSubdirectory("bad-checkpoint").FullName;
        foreach (var f in Directory.GetFiles(PretrainedCheckpointTests.Folder(fixture))) File.Copy(f, Path.Combine(dir, Path.GetFileName(f)));
        change?.Invoke(dir);
        return dir;
    }

    // A copy of a fixture folder with its config.json edited.
    private static string Edited(string fixture, Action<JsonObject> edit) => Copy(d => EditConfig(d, edit), fixture);

    private static void EditConfig(string dir, Action<JsonObject> edit)
    {
        var config = JsonNode.Parse(File.ReadAllText(Path.Combine(dir, "config.json")))!.AsObject();
        edit(config);
        File.WriteAllText(Path.Combine(dir, "config.json"), config.ToJsonString());
    }

    // Rewrites the fixture's safetensors header through edit (tensor name → its JSON description) and keeps the data.
    private static void EditHeader(string dir, Action<JsonObject> edit, Func<byte[], byte[]>? data = null)
    {
        string path = Path.Combine(dir, "model.safetensors");
        var bytes = File.ReadAllBytes(path);
        int n = (int)BitConverter.ToInt64(bytes, 0);
        var header = JsonNode.Parse(Encoding.UTF8.GetString(bytes, 8, n))!.AsObject();
        edit(header);
        var json = Encoding.UTF8.GetBytes(header.ToJsonString());
        var body = bytes.AsSpan(8 + n).ToArray();
        File.WriteAllBytes(path, [.. BitConverter.GetBytes((long)json.Length), .. json, .. data is null ? body : data(body)]);
    }

    private static string Refused<T>(string dir) where T : Exception
    {
        try { return Assert.Throws<T>(() => PretrainedCheckpoint.LoadFolder(dir)).Message; }
        finally { Directory.Delete(dir, recursive: true); }
    }

    [Fact]
    public void UnsupportedModelTypeAndActivation_AreNamed()
    {
        Assert.Contains("model_type 'gpt2' is not supported", Refused<NotSupportedException>(Copy(d => EditConfig(d, c => c["model_type"] = "gpt2"))));
        Assert.Contains("activation 'mish' is not supported", Refused<NotSupportedException>(Copy(d => EditConfig(d, c => c["hidden_act"] = "mish"))));
        Assert.Contains("num_attention_heads", Refused<InvalidDataException>(Copy(d => EditConfig(d, c => c["num_attention_heads"] = "two"))));
        // BERT's code can score relative positions instead; read as absolute ones, such a model would compute something else.
        Assert.Contains("position_embedding_type 'relative_key' is not supported", Refused<NotSupportedException>(Copy(d => EditConfig(d, c => c["position_embedding_type"] = "relative_key"))));
    }

    // ALBERT's grouping of shared layers: only one layer per group is read, and groups must divide among the layers.
    [Fact]
    public void AlbertGroupingsTheEngineCannotRun_AreNamed()
    {
        string Albert(Action<JsonObject> edit) => Edited("albert", edit);
        Assert.Contains("inner_group_num 2 is not supported", Refused<NotSupportedException>(Albert(c => c["inner_group_num"] = 2)));
        Assert.Contains("num_hidden_groups is 4; it must be between 1 and num_hidden_layers (3)", Refused<InvalidDataException>(Albert(c => c["num_hidden_groups"] = 4)));
        Assert.Contains("num_hidden_groups is 0", Refused<InvalidDataException>(Albert(c => c["num_hidden_groups"] = 0)));
        Assert.Contains("embedding_size equal to hidden_size (16) is not supported", Refused<NotSupportedException>(Albert(c => c["embedding_size"] = 16)));
        // Three groups of one layer each: the checkpoint holds one group's weights, too few for three, refused before anything is allocated.
        Assert.Contains("the config describes an encoder of at least", Refused<InvalidDataException>(Albert(c => c["num_hidden_groups"] = 3)));
    }

    // DeBERTa's relative attention: the settings DeBERTa-v3 and DeBERTa v1 use are read, every other one is named (v2's log
    // buckets under v1's model_type too).
    [Fact]
    public void DebertaSettingsTheEngineCannotRun_AreNamed()
    {
        string Deberta(Action<JsonObject> edit) => Edited("deberta", edit);
        Assert.Contains("share_att_key other than true is not supported", Refused<NotSupportedException>(Deberta(c => c["share_att_key"] = false)));
        Assert.Contains("pos_att_type [c2p] (only both c2p and p2c)", Refused<NotSupportedException>(Deberta(c => c["pos_att_type"] = new JsonArray("c2p"))));
        Assert.Contains("relative_attention other than true", Refused<NotSupportedException>(Deberta(c => c["relative_attention"] = false)));
        Assert.Contains("conv_kernel_size 4", Refused<NotSupportedException>(Deberta(c => c["conv_kernel_size"] = 4)));
        Assert.Contains("conv_groups 2", Refused<NotSupportedException>(Deberta(c => { c["conv_kernel_size"] = 3; c["conv_groups"] = 2; })));
        Assert.Contains("conv_act 'relu'", Refused<NotSupportedException>(Deberta(c => { c["conv_kernel_size"] = 3; c["conv_act"] = "relu"; })));
        // A convolution the config names but the weights lack: the missing tensor named with its shape.
        Assert.Matches("lacks the tensor '(deberta\\.)?encoder\\.conv\\.conv\\.weight'.*\\[16, 16, 3\\]", Refused<InvalidDataException>(Deberta(c => c["conv_kernel_size"] = 3)));
        Assert.Contains("norm_rel_ebd without layer_norm", Refused<NotSupportedException>(Deberta(c => c["norm_rel_ebd"] = "none")));
        Assert.Contains("embedding_size other than hidden_size", Refused<NotSupportedException>(Deberta(c => c["embedding_size"] = 8)));
        Assert.Contains("pooler_hidden_act 'tanh'", Refused<NotSupportedException>(Deberta(c => c["pooler_hidden_act"] = "tanh")));
        Assert.Contains("position_buckets (DeBERTa-v2's log buckets, with model_type deberta) is not supported", Refused<NotSupportedException>(Deberta(c => c["model_type"] = "deberta")));
        string V1(Action<JsonObject> edit) => Edited("deberta-v1", edit);
        Assert.Contains("talking_head is not supported", Refused<NotSupportedException>(V1(c => c["talking_head"] = true)));
        Assert.Contains("pos_att_type [c2p, p2p] (only both c2p and p2c)", Refused<NotSupportedException>(V1(c => c["pos_att_type"] = "c2p|p2p")));
        Assert.Contains("relative_attention other than true", Refused<NotSupportedException>(V1(c => c["relative_attention"] = false)));
        // "p2c|c2p" as one text, as older configs write it, is read as the list.
        string pipe = Deberta(c => c["pos_att_type"] = "p2c|c2p");
        try { Assert.Equal(6, PretrainedCheckpoint.LoadFolder(pipe).Encoder.Config.DisentangledSpan); }
        finally { Directory.Delete(pipe, recursive: true); }
    }

    [Fact]
    public void DropoutsOutOfRange_AreNamed_AndMissingOnesAreBertDefaults()
    {
        Assert.Contains("config.json' describes an invalid model: AttentionDropout must be in [0, 1), got 1.5", Refused<InvalidDataException>(Copy(d => EditConfig(d, c => c["attention_probs_dropout_prob"] = 1.5))));
        Assert.Contains("attention_probs_dropout_prob", Refused<InvalidDataException>(Copy(d => EditConfig(d, c => c["attention_probs_dropout_prob"] = "high"))));
        string dir = Copy(d => EditConfig(d, c => { c.Remove("attention_probs_dropout_prob"); c.Remove("hidden_dropout_prob"); }));
        try
        {
            var c = PretrainedCheckpoint.LoadFolder(dir).Encoder.Config;
            Assert.Equal((0.1f, 0.1f), (c.Dropout, c.AttentionDropout));
        }
        finally { Directory.Delete(dir, recursive: true); }
    }

    [Fact]
    public void MissingExtraAndMisShapedTensors_AreNamedWithTheirShapes()
    {
        const string query = "bert.encoder.layer.1.attention.self.query.weight";
        Assert.Contains($"lacks the tensor '{query}'", Refused<InvalidDataException>(Copy(d => EditHeader(d, h => h.Remove(query)))));
        // A config that disagrees with the tensors: both shapes are named.
        var wrong = Refused<InvalidDataException>(Copy(d => EditConfig(d, c => c["intermediate_size"] = 16)));
        Assert.Contains("has shape [32, 16], expected [16, 16]", wrong);
        // A tensor of the encoder's own namespace that no parameter reads.
        var extra = Refused<InvalidDataException>(Copy(d => EditHeader(d, h =>
        {
            h["bert.encoder.layer.0.attention.self.rotary"] = h["cls.predictions.bias"]!.DeepClone();
            h.Remove("cls.predictions.bias");
        })));
        Assert.Contains("'bert.encoder.layer.0.attention.self.rotary' [40], which no BERT encoder parameter reads", extra);
    }

    [Fact]
    public void HeadersThatLie_AreRefused()
    {
        const string bias = "cls.predictions.bias";
        Assert.Contains("outside the", Refused<InvalidDataException>(Copy(d => EditHeader(d, h => h[bias]!["data_offsets"] = new JsonArray(100000, 100160)))));
        Assert.Contains("overlaps", Refused<InvalidDataException>(Copy(d => EditHeader(d, h => h[bias]!["data_offsets"] = new JsonArray(0, 160)))));
        Assert.Contains("needs 80 bytes but its data_offsets span 160", Refused<InvalidDataException>(Copy(d => EditHeader(d, h => h[bias]!["dtype"] = "F16"))));
        Assert.Contains("unknown dtype 'Q4'", Refused<InvalidDataException>(Copy(d => EditHeader(d, h => h[bias]!["dtype"] = "Q4"))));
        Assert.Contains("more than the 100,000,000 allowed", Refused<InvalidDataException>(Copy(d =>
        {
            string path = Path.Combine(d, "model.safetensors");
            var bytes = File.ReadAllBytes(path);
            BitConverter.GetBytes(200_000_000L).CopyTo(bytes, 0);
            File.WriteAllBytes(path, bytes);
        })));
        // A config claiming far more weights than the file holds is refused before the encoder is allocated.
        Assert.Contains("holds", Refused<InvalidDataException>(Copy(d => EditConfig(d, c => c["vocab_size"] = 2_000_000_000))));
    }
}
