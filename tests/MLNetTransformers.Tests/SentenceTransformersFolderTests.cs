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

    // Older sentence-transformers folders keep the model, tokenizer and sentence_bert_config.json in a subfolder (0_BERT).
    [Fact]
    public void TheTransformerInASubfolder_IsReadFromThere_AndAPathOutOfTheFolderIsRefused()
    {
        string source = Path.Combine(AppContext.BaseDirectory, "Fixtures", "pretrained", "bert");
        string dir = Directory.CreateTempSubdirectory("st-old").FullName;
        try
        {
            Directory.CreateDirectory(Path.Combine(dir, "0_BERT"));
            foreach (var f in Directory.GetFiles(source)) File.Copy(f, Path.Combine(dir, "0_BERT", Path.GetFileName(f)));
            File.WriteAllText(Path.Combine(dir, "0_BERT", "sentence_bert_config.json"), """{"max_seq_length": 10}""");
            File.WriteAllText(Path.Combine(dir, "modules.json"), """
                [{"idx": 0, "name": "0", "path": "0_BERT", "type": "sentence_transformers.models.BERT"},
                 {"idx": 1, "name": "1", "path": "1_Pooling", "type": "sentence_transformers.models.Pooling"}]
                """);
            Directory.CreateDirectory(Path.Combine(dir, "1_Pooling"));
            File.WriteAllText(Path.Combine(dir, "1_Pooling", "config.json"), """{"pooling_mode_mean_tokens": true}""");
            var old = PretrainedEncoder.FromHuggingFaceFolder(dir);
            Assert.Equal(10, old.Tokenizer.MaxTokens);
            Assert.Equal((Core.Models.Pooling.Mean, false), (old.Encoder.Config.Pooling, old.Encoder.Config.Pooler));
            Assert.Equal(PretrainedEncoder.FromHuggingFaceFolder(source).Encoder.Parameters["tok.weight"].Value.ToArray(), old.Encoder.Parameters["tok.weight"].Value.ToArray());
            File.WriteAllText(Path.Combine(dir, "modules.json"), File.ReadAllText(Path.Combine(dir, "modules.json")).Replace("\"0_BERT\"", "\"../elsewhere\""));
            Assert.Contains("the Transformer's path '../elsewhere' leaves the folder", Assert.Throws<InvalidDataException>(() => PretrainedEncoder.FromHuggingFaceFolder(dir)).Message);
        }
        finally { Directory.Delete(dir, recursive: true); }
    }
}
