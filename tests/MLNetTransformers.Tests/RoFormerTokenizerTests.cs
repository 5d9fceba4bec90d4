using Xunit;

namespace MLNetTransformers.Tests;

/// <summary>
/// RoFormer's tokenizer (RoFormerTokenizer): jieba's words that its vocabulary holds whole, the rest as BERT tokenizes
/// them. Without words of several Chinese characters in the vocabulary, jieba's segmentation changes nothing and BERT's
/// rules give its ids (a character-level vocabulary, as roformer_chinese_char_base's); with them, the folder is refused
/// by name rather than tokenized differently.
/// </summary>
public class RoFormerTokenizerTests
{
    private static string Folder(string name) => Path.Combine(AppContext.BaseDirectory, "Fixtures", "pretrained", name);

    private static string WithVocabulary(params string[] extra)
    {
        string dir = Directory.CreateTempSubdirectory("roformer-tokenizer").FullName;
        File.Copy(Path.Combine(Folder("roformer"), "config.json"), Path.Combine(dir, "config.json"));
        File.WriteAllLines(Path.Combine(dir, "vocab.txt"), File.ReadAllLines(Path.Combine(Folder("roformer"), "vocab.txt")).Concat(extra));
        File.WriteAllText(Path.Combine(dir, "tokenizer_config.json"), """{"tokenizer_class": "RoFormerTokenizer", "do_lower_case": true}""");
        return dir;
    }

    [Fact]
    public void ACharacterVocabulary_TokenizesAsBert_AndWordsOfSeveralCharacters_AreRefusedByName()
    {
        string chars = WithVocabulary("中", "国", "##国"), words = WithVocabulary("中", "国", "中国");
        try
        {
            var tokenizer = Pretrained.PretrainedEncoder.TokenizerOf(chars, 16);
            int zhong = tokenizer.VocabularySize - 3, guo = zhong + 1;
            Assert.Equal([zhong, guo], tokenizer.EncodeAll("中国"));            // each character its own word, as BERT splits them
            Assert.Equal(tokenizer.EncodeAll("the film"), Pretrained.PretrainedEncoder.TokenizerOf(Folder("roformer"), 16).EncodeAll("The Film"));
            var e = Assert.Throws<NotSupportedException>(() => Pretrained.PretrainedEncoder.TokenizerOf(words, 16));
            Assert.Contains("'中国'", e.Message);
            Assert.Contains("jieba", e.Message);
            Assert.Contains(Path.Combine(words, "vocab.txt"), e.Message);
        }
        finally
        {
            Directory.Delete(chars, recursive: true);
            Directory.Delete(words, recursive: true);
        }
    }
}
