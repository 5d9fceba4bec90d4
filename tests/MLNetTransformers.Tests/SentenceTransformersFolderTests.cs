using MLNetTransformers.Pretrained;
using Xunit;

namespace MLNetTransformers.Tests;

/// <summary>A sentence-transformers folder cuts sequences at its sentence_bert_config.json's max_seq_length unless told otherwise.</summary>
public class SentenceTransformersFolderTests
{
    [Fact]
    public void MaxSeqLength_IsTheTokenizersDefaultLength_AndABadOneIsNamed()
    {
        string source = Path.Combine(AppContext.BaseDirectory, "Fixtures", "pretrained", "bert");
        string dir = Directory.CreateTempSubdirectory("st-length").FullName;
        try
        {
            foreach (var f in Directory.GetFiles(source)) File.Copy(f, Path.Combine(dir, Path.GetFileName(f)));
            File.WriteAllText(Path.Combine(dir, "modules.json"), """
                [{"idx": 0, "name": "0", "path": "", "type": "sentence_transformers.models.Transformer"},
                 {"idx": 1, "name": "1", "path": "1_Pooling", "type": "sentence_transformers.models.Pooling"}]
                """);
            Directory.CreateDirectory(Path.Combine(dir, "1_Pooling"));
            File.WriteAllText(Path.Combine(dir, "1_Pooling", "config.json"), """{"pooling_mode_mean_tokens": true}""");
            Assert.Equal(Math.Min(PretrainedEncoder.DefaultMaxTokens, 24), PretrainedEncoder.FromHuggingFaceFolder(dir).Tokenizer.MaxTokens); // the fixture has 24 positions
            File.WriteAllText(Path.Combine(dir, "sentence_bert_config.json"), """{"max_seq_length": 12, "do_lower_case": false}""");
            Assert.Equal(12, PretrainedEncoder.FromHuggingFaceFolder(dir).Tokenizer.MaxTokens);
            Assert.Equal(20, PretrainedEncoder.FromHuggingFaceFolder(dir, maxTokens: 20).Tokenizer.MaxTokens);
            File.WriteAllText(Path.Combine(dir, "sentence_bert_config.json"), """{"max_seq_length": "long"}""");
            var e = Assert.Throws<InvalidDataException>(() => PretrainedEncoder.FromHuggingFaceFolder(dir));
            Assert.Contains("sentence_bert_config.json' is invalid: max_seq_length is long", e.Message);
        }
        finally { Directory.Delete(dir, recursive: true); }
    }
}
