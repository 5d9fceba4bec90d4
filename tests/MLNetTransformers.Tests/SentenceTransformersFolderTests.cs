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
            MeanPooledFolder(source, dir, normalize: false);
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

    // A sentence-transformers folder in dir around the model folder source: its files, mean pooling, and Normalize if asked.
    internal static void MeanPooledFolder(string source, string dir, bool normalize)
    {
        foreach (var f in Directory.GetFiles(source)) File.Copy(f, Path.Combine(dir, Path.GetFileName(f)));
        string modules = """
            [{"idx": 0, "name": "0", "path": "", "type": "sentence_transformers.models.Transformer"},
             {"idx": 1, "name": "1", "path": "1_Pooling", "type": "sentence_transformers.models.Pooling"}
            """;
        File.WriteAllText(Path.Combine(dir, "modules.json"), modules + (normalize ? """, {"idx": 2, "name": "2", "path": "2_Normalize", "type": "sentence_transformers.models.Normalize"}]""" : "]"));
        Directory.CreateDirectory(Path.Combine(dir, "1_Pooling"));
        if (normalize) Directory.CreateDirectory(Path.Combine(dir, "2_Normalize"));
        File.WriteAllText(Path.Combine(dir, "1_Pooling", "config.json"), """{"pooling_mode_mean_tokens": true}""");
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

/// <summary>
/// An MPNet sentence-transformers folder, as all-mpnet-base-v2 is laid out (mean pooling, Normalize, MPNet's tokenizer):
/// the embedding of a text is the unit-length mean of PyTorch's hidden states over its real tokens.
/// </summary>
public class MpnetSentenceEmbeddingTests
{
    [Fact]
    public async Task AnMpnetEmbeddingFolder_GivesTheNormalizedMeanOfPyTorchsHiddenStates()
    {
        string source = Path.Combine(AppContext.BaseDirectory, "Fixtures", "pretrained", "mpnet");
        string dir = Directory.CreateTempSubdirectory("st-mpnet").FullName;
        try
        {
            SentenceTransformersFolderTests.MeanPooledFolder(source, dir, normalize: true);
            var encoder = PretrainedEncoder.FromHuggingFaceFolder(dir);
            Assert.Equal((Core.Models.Pooling.Mean, false, true), (encoder.Encoder.Config.Pooling, encoder.Encoder.Config.Pooler, encoder.Encoder.Config.NormalizeEmbeddings));

            // The fixture's second sequence is <s> film movie not good </s>: the text "film movie not good" tokenizes to it.
            using var doc = System.Text.Json.JsonDocument.Parse(File.ReadAllText(Path.Combine(source, "expected.json")));
            var ids = doc.RootElement.GetProperty("input_ids")[1].EnumerateArray().Select(v => v.GetInt32()).ToArray();
            var vocab = File.ReadAllLines(Path.Combine(source, "vocab.txt"));
            Assert.Equal(new[] { "<s>", "film", "movie", "not", "good", "</s>" }, ids.Take(6).Select(i => vocab[i]));
            int t = ids.Length, d = encoder.Encoder.Config.ModelDim;
            var hidden = doc.RootElement.GetProperty("last_hidden_state").EnumerateArray().Select(v => v.GetDouble()).Skip(t * d).Take(6 * d).ToArray();
            var mean = Enumerable.Range(0, d).Select(k => Enumerable.Range(0, 6).Average(r => hidden[r * d + k])).ToArray();
            double norm = Math.Sqrt(mean.Sum(v => v * v));
            var embedding = (await new Embeddings.TransformerEmbeddingGenerator(encoder).GenerateAsync(["film movie not good"]))[0].Vector.ToArray();
            for (int k = 0; k < d; k++) Assert.Equal(mean[k] / norm, embedding[k], 4);
        }
        finally { Directory.Delete(dir, recursive: true); }
    }
}
