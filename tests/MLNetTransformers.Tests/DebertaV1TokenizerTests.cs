using System.Text.Json;
using MLNetTransformers.Pretrained;
using MLNetTransformers.Tokenization;
using Xunit;

namespace MLNetTransformers.Tests;

/// <summary>
/// DeBERTa v1's tokenizer (DebertaTokenizer: GPT-2's byte-level BPE in vocab.json + merges.txt, whose vocabulary holds
/// [PAD] [CLS] [SEP] [UNK] first and [MASK] last) as make_pretrained.py's deberta-v1 folder holds it: the texts its
/// expected.json was computed on tokenize to those ids, pairs take BERT's form, and the folder written back reads to the same.
/// </summary>
public class DebertaV1TokenizerTests
{
    private static readonly string Folder = Path.Combine(AppContext.BaseDirectory, "Fixtures", "pretrained", "deberta-v1");

    [Fact]
    public void TheFoldersTexts_TokenizeToTheReferenceIds_AlsoWrittenBack()
    {
        var encoder = PretrainedEncoder.FromHuggingFaceFolder(Folder, maxTokens: 24);
        var tokenizer = encoder.Tokenizer;
        Assert.Equal((TokenizerKind.ByteLevelBpe, false, true), (tokenizer.Kind, tokenizer.RobertaPairs, tokenizer.MaskTakesPrecedingSpace));
        Assert.Equal(["[CLS]", "[SEP]", "[PAD]", "[MASK]", "[UNK]"], new[] { tokenizer.ClsId, tokenizer.SepId, tokenizer.PadId, tokenizer.MaskId, tokenizer.UnkId }.Select(tokenizer.TokenText));
        using var expected = JsonDocument.Parse(File.ReadAllText(Path.Combine(Folder, "expected.json")));
        using var texts = JsonDocument.Parse(File.ReadAllText(Path.Combine(Folder, "texts.json")));
        var rows = expected.RootElement.GetProperty("input_ids").EnumerateArray().Select(r => r.EnumerateArray().Select(v => v.GetInt32()).ToArray()).ToArray();
        var masks = expected.RootElement.GetProperty("attention_mask").EnumerateArray().Select(r => r.EnumerateArray().Sum(v => v.GetInt32())).ToArray();
        var sentences = texts.RootElement.GetProperty("texts").EnumerateArray().Select(t => t.GetString()!).ToArray();
        string dir = Directory.CreateTempSubdirectory("deberta-v1-written").FullName;
        try
        {
            encoder.SaveHuggingFaceFolder(dir);
            foreach (var t in new[] { tokenizer, PretrainedEncoder.TokenizerOf(dir, 24) })
                for (int i = 0; i < sentences.Length; i++)
                {
                    // The fixture cut its rows at 12 ids (the second lost its [SEP]): the ids agree as far as the row goes.
                    var ids = TokenizerReference.Encode(t, sentences[i]);
                    Assert.Equal(rows[i][..masks[i]], ids[..masks[i]]);
                    if (masks[i] < rows[i].Length) Assert.Equal(ids.Length, masks[i]);
                }
        }
        finally { Directory.Delete(dir, recursive: true); }
        var (pair, mask, types) = (new int[24], new int[24], new int[24]);
        int n = tokenizer.EncodePair("the film", "was fun", pair, mask, types, out _);
        var a = TokenizerReference.Encode(tokenizer, "the film")[1..^1];
        var b = TokenizerReference.Encode(tokenizer, "was fun")[1..^1];
        Assert.Equal([tokenizer.ClsId, .. a, tokenizer.SepId, .. b, tokenizer.SepId], pair[..n]);
        Assert.Equal([.. Enumerable.Repeat(0, a.Length + 2), .. Enumerable.Repeat(1, b.Length + 1)], types[..n]);
    }

    // DebertaForMaskedLM (deberta-v1-mlm/) read with its tokenizer: "the film was [MASK]" ([MASK] taking the space before
    // it) is the fixture's first row, and its candidates and probabilities are PyTorch's.
    [Fact]
    public void FillMask_FromTheText_GivesPyTorchsProbabilities() =>
        ModernBertTokenizerTests.PyTorchsTopFive(Path.Combine(AppContext.BaseDirectory, "Fixtures", "pretrained", "deberta-v1-mlm"), "the film was [MASK]");
}
