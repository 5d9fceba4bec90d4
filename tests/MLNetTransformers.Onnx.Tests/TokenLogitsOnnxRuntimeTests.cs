using MLNetTransformers.Core.Models;
using MLNetTransformers.QuestionAnswering;
using MLNetTransformers.TokenClassification;
using MLNetTransformers.Tokenization;
using Xunit;

namespace MLNetTransformers.Onnx.Tests;

/// <summary>A tagger and a question answerer computing their logits through ONNX Runtime (UseOnnxRuntime) tag and answer as the managed engine does.</summary>
public class TokenLogitsOnnxRuntimeTests
{
    private static readonly string[] Texts =
    [
        "the film was great and fun", "a dull plot , the worst cast i ever saw", "it was not good but the end was fun",
        "so very good", "the story and the cast were great , the plot was dull and the end was the worst part of it",
    ];

    private static TextTokenizer Tokenizer() => TextTokenizer.Learn(Texts, maxTokens: 12, vocabularySize: 200, minFrequency: 1);

    private static ClassifierConfig Shape(TextTokenizer tokenizer, int outputs) => new()
    {
        VocabSize = tokenizer.VocabularySize, ModelDim = 16, Heads = 2, Layers = 2, FeedForwardDim = 32, MaxLength = 12, NumClasses = outputs, TypeVocabSize = 2,
    };

    // Texts of one window and of several (12 tokens), in float: the same tags, probabilities within 1e-4.
    [Fact]
    public void Tagger_TagsAsTheManagedEngine()
    {
        var tokenizer = Tokenizer();
        var model = new TransformerTokenClassifier(Shape(tokenizer, 3), 3);
        Weights.Scramble(model.Parameters, 5);
        var tagger = new TokenClassificationTransformer(tokenizer, model, ["O", "B-X", "I-X"]);
        using var viaOrt = tagger.UseOnnxRuntime();
        Assert.NotNull(viaOrt.Backend);
        var rounding = 0;
        foreach (var text in Texts)
        {
            var (engine, ort) = (tagger.Predict(text), viaOrt.Predict(text));
            Assert.Equal(engine.Select(w => (w.Word, w.Tag)), ort.Select(w => (w.Word, w.Tag)));
            Assert.All(engine.Zip(ort), p => Assert.Equal(p.First.Probability, p.Second.Probability, 1e-4));
            rounding += engine.Zip(ort).Count(p => p.First.Probability != p.Second.Probability);
        }
        Assert.True(rounding > 0, "ONNX Runtime's probabilities equal the engine's bit for bit: the backend did not run");
        Assert.Null(viaOrt.WithBackend(null).Backend);
    }

    // Questions over contexts of one window and of several (12 tokens), with and without "no answer": the same answers,
    // scores within 1e-4.
    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void QuestionAnswerer_AnswersAsTheManagedEngine(bool noAnswer)
    {
        var tokenizer = Tokenizer();
        var model = new TransformerQuestionAnswerer(Shape(tokenizer, 2), 3);
        Weights.Scramble(model.Parameters, 6);
        var reader = new QuestionAnsweringTransformer(tokenizer, model, topK: 5, documentStride: 3, allowNoAnswer: noAnswer);
        using var viaOrt = reader.UseOnnxRuntime();
        var rounding = 0;
        foreach (var context in Texts)
        {
            var (engine, ort) = (reader.Predict("was it good", context), viaOrt.Predict("was it good", context));
            Assert.Equal(engine.Select(a => (a.Text, a.Start, a.End)), ort.Select(a => (a.Text, a.Start, a.End)));
            Assert.All(engine.Zip(ort), p => Assert.Equal(p.First.Score, p.Second.Score, 1e-4));
            rounding += engine.Zip(ort).Count(p => p.First.Score != p.Second.Score);
        }
        Assert.True(rounding > 0, "ONNX Runtime's scores equal the engine's bit for bit: the backend did not run");
        Assert.Equal(noAnswer, viaOrt.WithNoAnswer(noAnswer).AllowNoAnswer);
    }
}
