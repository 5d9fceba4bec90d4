using System.Reflection;
using MLNetTransformers.Classification;
using MLNetTransformers.Featurization;
using MLNetTransformers.LanguageModeling;

namespace MLNetTransformers;

/// <summary>Catalog extension methods, ML.NET style: a simple overload and an Options overload each.</summary>
public static class TransformerCatalog
{
    /// <summary>
    /// Tokenizes <paramref name="inputColumnName"/> into token ids and an attention mask (Int64 vectors of
    /// <paramref name="maxTokens"/>), learning a WordPiece vocabulary of <paramref name="vocabularySize"/> at Fit.
    /// </summary>
    /// <param name="catalog">The text transforms catalog (<c>mlContext.Transforms.Text</c>).</param>
    /// <param name="tokenIdsColumnName">Output column of token ids (Int64 vector).</param>
    /// <param name="inputColumnName">Input text column.</param>
    /// <param name="attentionMaskColumnName">Output column of the attention mask (1 = real token, 0 = padding).</param>
    /// <param name="maxTokens">Length of the id and mask vectors, [CLS] and [SEP] included.</param>
    /// <param name="vocabularySize">Target size of the vocabulary learned from the text, special tokens included.</param>
    /// <example>
    /// <code>
    /// var tokens = mlContext.Transforms.Text.TokenizeForTransformer(maxTokens: 64).Fit(data).Transform(data);
    /// // columns TokenIds and AttentionMask, e.g. for ApplyTransformerOnnxModel
    /// </code>
    /// </example>
    public static TokenizerEstimator TokenizeForTransformer(this TransformsCatalog.TextTransforms catalog,
        string tokenIdsColumnName = DefaultColumnNames.TokenIds, string inputColumnName = DefaultColumnNames.Text, string attentionMaskColumnName = DefaultColumnNames.AttentionMask,
        int maxTokens = 128, int vocabularySize = 8000)
        => new(inputColumnName, tokenIdsColumnName, attentionMaskColumnName, new TokenizerOptions { MaxTokens = maxTokens, VocabularySize = vocabularySize });

    /// <summary>Tokenization with every option (learned, WordPiece, BPE, Tiktoken or characters).</summary>
    /// <param name="catalog">The text transforms catalog (<c>mlContext.Transforms.Text</c>).</param>
    /// <param name="options">Tokenizer kind, vocabulary source and length.</param>
    /// <param name="tokenIdsColumnName">Output column of token ids (Int64 vector).</param>
    /// <param name="inputColumnName">Input text column.</param>
    /// <param name="attentionMaskColumnName">Output column of the attention mask (1 = real token, 0 = padding).</param>
    /// <param name="secondInputColumnName">Second text of a sentence pair: rows become <c>[CLS] a [SEP] b [SEP]</c>, the longer
    /// side cut first when the pair does not fit; null = single texts.</param>
    /// <param name="tokenTypeIdsColumnName">Output column of token type ids, 0 for the first text and 1 for the second (pairs only).</param>
    /// <example>
    /// <code>
    /// var bert = mlContext.Transforms.Text.TokenizeForTransformer(
    ///     new TokenizerOptions { Kind = TokenizerKind.WordPiece, VocabularyFile = "vocab.txt", MaxTokens = 128 });
    /// // sentence pairs: TokenIds, AttentionMask and TokenTypeIds from the columns Premise and Hypothesis
    /// var pairs = mlContext.Transforms.Text.TokenizeForTransformer(options, inputColumnName: "Premise", secondInputColumnName: "Hypothesis");
    /// </code>
    /// </example>
    public static TokenizerEstimator TokenizeForTransformer(this TransformsCatalog.TextTransforms catalog, TokenizerOptions options,
        string tokenIdsColumnName = DefaultColumnNames.TokenIds, string inputColumnName = DefaultColumnNames.Text, string attentionMaskColumnName = DefaultColumnNames.AttentionMask,
        string? secondInputColumnName = null, string tokenTypeIdsColumnName = DefaultColumnNames.TokenTypeIds)
        => new(inputColumnName, tokenIdsColumnName, attentionMaskColumnName, options, secondInputColumnName, tokenTypeIdsColumnName);

    /// <summary>Trains a transformer encoder binary classifier from a text column (Boolean label).</summary>
    /// <param name="catalog">The binary classification trainers (<c>mlContext.BinaryClassification.Trainers</c>).</param>
    /// <param name="labelColumnName">Label column: Boolean, or Single/Double holding 0 and 1.</param>
    /// <param name="textColumnName">Text column.</param>
    /// <param name="epochs">Passes over the data; null = chosen from the data size, with early stopping.</param>
    /// <param name="batchSize">Sequences per step; null = the <see cref="TransformerClassifierOptions"/> default.</param>
    /// <param name="learningRate">Peak learning rate; null = the <see cref="TransformerClassifierOptions"/> default.</param>
    /// <param name="validationSet">Held-out data with the same columns (early stopping, kept weights); null = 10% of the training rows.</param>
    /// <example>
    /// <code>
    /// var model = mlContext.BinaryClassification.Trainers.TransformerClassifier(labelColumnName: "Sentiment").Fit(train);
    /// var metrics = mlContext.BinaryClassification.Evaluate(model.Transform(test), "Sentiment");
    /// </code>
    /// </example>
    public static TransformerClassificationTrainer TransformerClassifier(this BinaryClassificationCatalog.BinaryClassificationTrainers catalog,
        string labelColumnName = DefaultColumnNames.Label, string textColumnName = DefaultColumnNames.Text, int? epochs = null, int? batchSize = null,
        float? learningRate = null, IDataView? validationSet = null)
        => new(Simple(labelColumnName, textColumnName, epochs, batchSize, learningRate, validationSet), binary: true, Environment(catalog));

    /// <summary>Trains a transformer encoder multiclass classifier from a text column (key-typed label).</summary>
    /// <param name="catalog">The multiclass classification trainers (<c>mlContext.MulticlassClassification.Trainers</c>).</param>
    /// <param name="labelColumnName">Label column of a key type (map strings with <c>MapValueToKey</c> first).</param>
    /// <param name="textColumnName">Text column.</param>
    /// <param name="epochs">Passes over the data; null = chosen from the data size, with early stopping.</param>
    /// <param name="batchSize">Sequences per step; null = the <see cref="TransformerClassifierOptions"/> default.</param>
    /// <param name="learningRate">Peak learning rate; null = the <see cref="TransformerClassifierOptions"/> default.</param>
    /// <param name="validationSet">Held-out data with the same columns (early stopping, kept weights); null = 10% of the training rows.</param>
    /// <example>
    /// <code>
    /// var pipeline = mlContext.Transforms.Conversion.MapValueToKey("Label", "Topic")
    ///     .Append(mlContext.MulticlassClassification.Trainers.TransformerClassifier())
    ///     .Append(mlContext.Transforms.Conversion.MapKeyToValue("PredictedTopic", "PredictedLabel"));
    /// </code>
    /// </example>
    public static TransformerClassificationTrainer TransformerClassifier(this MulticlassClassificationCatalog.MulticlassClassificationTrainers catalog,
        string labelColumnName = DefaultColumnNames.Label, string textColumnName = DefaultColumnNames.Text, int? epochs = null, int? batchSize = null,
        float? learningRate = null, IDataView? validationSet = null)
        => new(Simple(labelColumnName, textColumnName, epochs, batchSize, learningRate, validationSet), binary: false, Environment(catalog));

    /// <summary>
    /// Trains a token classifier (named entities, parts of speech): every word of the text column (its whitespace-separated
    /// pieces) is tagged, learned from a label column holding one tag per word (a vector of text such as <c>B-PER</c>,
    /// <c>I-PER</c>, <c>O</c>), as Hugging Face's <c>*ForTokenClassification</c> is fine-tuned. <c>PredictedLabel</c> is a
    /// vector of text, one tag per word.
    /// </summary>
    /// <param name="catalog">The multiclass classification trainers (<c>mlContext.MulticlassClassification.Trainers</c>).</param>
    /// <param name="labelColumnName">Tags, a vector of text with one tag per word of the text.</param>
    /// <param name="textColumnName">Text column; give punctuation its own word, as CoNLL-style data does.</param>
    /// <param name="pretrained">A pretrained encoder to fine-tune (e.g. <c>MiniLM.Load()</c> or <c>PretrainedEncoder.FromHuggingFaceFolder</c>), or null to train from scratch.</param>
    /// <param name="validationSet">Held-out data with the same columns (early stopping on tag accuracy, kept weights); null = 10% of the training rows.</param>
    /// <example>
    /// <code>
    /// var pipeline = mlContext.Transforms.Text.TokenizeIntoWords("Label", "Tags") // "B-PER I-PER O O B-LOC" → one tag per word
    ///     .Append(mlContext.MulticlassClassification.Trainers.TokenClassifier(pretrained: MiniLM.Load()));
    /// var model = pipeline.Fit(train);
    /// var tagger = (TokenClassificationTransformer)model.LastTransformer;
    /// foreach (var entity in tagger.Entities("Angela Merkel visited Paris ."))
    ///     Console.WriteLine($"{entity.Type}: {entity.Text}");
    /// </code>
    /// </example>
    public static TokenClassification.TokenClassificationTrainer TokenClassifier(this MulticlassClassificationCatalog.MulticlassClassificationTrainers catalog,
        string labelColumnName = DefaultColumnNames.Label, string textColumnName = DefaultColumnNames.Text, PretrainedEncoder? pretrained = null, IDataView? validationSet = null)
        => new(new TransformerClassifierOptions { LabelColumnName = labelColumnName, TextColumnName = textColumnName, Pretrained = pretrained, ValidationSet = validationSet }, Environment(catalog));

    /// <summary>The token classifier with every option (the classifier's options; those of a sequence classifier alone, as n-grams and ensembles, are refused).</summary>
    /// <param name="catalog">The multiclass classification trainers (<c>mlContext.MulticlassClassification.Trainers</c>).</param>
    /// <param name="options">Columns, pretrained encoder or shape, schedule and validation.</param>
    /// <example>
    /// <code>
    /// var trainer = mlContext.MulticlassClassification.Trainers.TokenClassifier(new TransformerClassifierOptions
    /// {
    ///     TextColumnName = "Sentence", LabelColumnName = "Tags", Pretrained = MiniLM.Load(), Epochs = 3, BatchSize = 16,
    /// });
    /// </code>
    /// </example>
    public static TokenClassification.TokenClassificationTrainer TokenClassifier(this MulticlassClassificationCatalog.MulticlassClassificationTrainers catalog, TransformerClassifierOptions options)
        => new(options, Environment(catalog));

    /// <summary>
    /// Extractive question answering: learns to point at the answer to a question in a context (SQuAD-style data), as
    /// Microsoft.ML.TorchSharp's <c>QuestionAnswer</c> trainer, with the same columns: the context and question (text), the
    /// answer as written in the context and the character where it starts; writes the best answers (<c>Answer</c>, a vector
    /// of text, best first) and their scores (<c>Score</c>). Fine-tunes <paramref name="pretrained"/> (all-MiniLM-L6-v2,
    /// a Hugging Face checkpoint) or trains from scratch.
    /// </summary>
    /// <param name="catalog">The multiclass classification trainers (<c>mlContext.MulticlassClassification.Trainers</c>).</param>
    /// <param name="contextColumnName">The text answers are taken from.</param>
    /// <param name="questionColumnName">The question.</param>
    /// <param name="trainingAnswerColumnName">Training: the answer as written in the context (empty: none).</param>
    /// <param name="answerIndexColumnName">Training: where the answer starts in the context, in characters (−1: none).</param>
    /// <param name="predictedAnswerColumnName">Output: the best answers, best first.</param>
    /// <param name="scoreColumnName">Output: their scores.</param>
    /// <param name="topK">Answers per question.</param>
    /// <param name="pretrained">The encoder to fine-tune; null = train one from scratch.</param>
    /// <param name="validationSet">Held-out questions with the same columns, scored by exact match after every epoch.</param>
    /// <example>
    /// <code>
    /// var trainer = mlContext.MulticlassClassification.Trainers.QuestionAnswer(pretrained: MiniLM.Load(maxTokens: 256));
    /// var reader = trainer.Fit(squad);
    /// var best = reader.Answer("Who wrote Hamlet?", "Hamlet is a tragedy written by William Shakespeare around 1600.");
    /// Console.WriteLine($"{best?.Text} ({best?.Score:P0})");
    /// </code>
    /// </example>
    public static QuestionAnswering.QuestionAnsweringTrainer QuestionAnswer(this MulticlassClassificationCatalog.MulticlassClassificationTrainers catalog,
        string contextColumnName = DefaultColumnNames.Context, string questionColumnName = DefaultColumnNames.Question,
        string trainingAnswerColumnName = DefaultColumnNames.TrainingAnswer, string answerIndexColumnName = DefaultColumnNames.AnswerIndex,
        string predictedAnswerColumnName = DefaultColumnNames.Answer, string scoreColumnName = DefaultColumnNames.Score, int topK = 3,
        PretrainedEncoder? pretrained = null, IDataView? validationSet = null)
        => new(new QuestionAnswering.QuestionAnsweringOptions
        {
            ContextColumnName = contextColumnName, QuestionColumnName = questionColumnName, TrainingAnswerColumnName = trainingAnswerColumnName,
            AnswerIndexColumnName = answerIndexColumnName, PredictedAnswerColumnName = predictedAnswerColumnName, ScoreColumnName = scoreColumnName, TopK = topK,
            Pretrained = pretrained, ValidationSet = validationSet,
        }, Environment(catalog));

    /// <summary>The question answerer with every option (the classifier's options for the encoder and schedule; those of a sequence classifier alone are refused).</summary>
    /// <param name="catalog">The multiclass classification trainers (<c>mlContext.MulticlassClassification.Trainers</c>).</param>
    /// <param name="options">Columns, windows, pretrained encoder or shape, schedule and validation.</param>
    /// <example>
    /// <code>
    /// var trainer = mlContext.MulticlassClassification.Trainers.QuestionAnswer(new QuestionAnsweringOptions
    /// {
    ///     Pretrained = MiniLM.Load(maxTokens: 256), Epochs = 2, BatchSize = 16, DocumentStride = 64, MaxAnswerTokens = 15,
    /// });
    /// </code>
    /// </example>
    public static QuestionAnswering.QuestionAnsweringTrainer QuestionAnswer(this MulticlassClassificationCatalog.MulticlassClassificationTrainers catalog, QuestionAnswering.QuestionAnsweringOptions options)
        => new(options, Environment(catalog));

    /// <summary>Binary transformer classifier with every option.</summary>
    /// <param name="catalog">The binary classification trainers (<c>mlContext.BinaryClassification.Trainers</c>).</param>
    /// <param name="options">Columns, tokenizer, model shape and schedule.</param>
    /// <example>
    /// <code>
    /// var trainer = mlContext.BinaryClassification.Trainers.TransformerClassifier(new TransformerClassifierOptions
    /// {
    ///     LabelColumnName = "Sentiment", Layers = 4, ModelDim = 256, TimeBudget = TimeSpan.FromMinutes(10),
    ///     Progress = new Progress&lt;TrainingProgress&gt;(Console.WriteLine),
    /// });
    /// </code>
    /// </example>
    public static TransformerClassificationTrainer TransformerClassifier(this BinaryClassificationCatalog.BinaryClassificationTrainers catalog,
        TransformerClassifierOptions options)
        => new(options, binary: true, Environment(catalog));

    /// <summary>Multiclass transformer classifier with every option.</summary>
    /// <param name="catalog">The multiclass classification trainers (<c>mlContext.MulticlassClassification.Trainers</c>).</param>
    /// <param name="options">Columns, tokenizer, model shape and schedule.</param>
    /// <example>
    /// <code>
    /// var trainer = mlContext.MulticlassClassification.Trainers.TransformerClassifier(
    ///     new TransformerClassifierOptions { Epochs = 10, Pooling = Pooling.Cls, ValidationSet = validKeys });
    /// </code>
    /// </example>
    public static TransformerClassificationTrainer TransformerClassifier(this MulticlassClassificationCatalog.MulticlassClassificationTrainers catalog,
        TransformerClassifierOptions options)
        => new(options, binary: false, Environment(catalog));

    /// <summary>
    /// Sentence similarity as a cross-encoder: each pair is read as one sequence, <c>[CLS] sentence1 [SEP] sentence2 [SEP]</c>,
    /// and a regression head on the pooled encoder output predicts the label (e.g. STS-B's 0-5), trained by mean squared
    /// error. <c>Score</c> is the prediction, so <c>mlContext.Regression.Evaluate</c> scores it. Fine-tune a
    /// <paramref name="pretrained"/> encoder for accuracy; without one a small encoder is trained from scratch.
    /// </summary>
    /// <param name="catalog">The regression trainers (<c>mlContext.Regression.Trainers</c>).</param>
    /// <param name="labelColumnName">Similarity label: Single or Double.</param>
    /// <param name="sentence1ColumnName">First sentence of each pair.</param>
    /// <param name="sentence2ColumnName">Second sentence of each pair.</param>
    /// <param name="pretrained">A pretrained encoder to fine-tune (e.g. <c>MiniLM.Load()</c>), or null to train from scratch.</param>
    /// <param name="validationSet">Held-out pairs with the same columns (early stopping, kept weights); null = 10% of the training rows.</param>
    /// <example>
    /// <code>
    /// var model = mlContext.Regression.Trainers.SentenceSimilarity(pretrained: MiniLM.Load()).Fit(train);
    /// var metrics = mlContext.Regression.Evaluate(model.Transform(test)); // RSquared, RootMeanSquaredError, ...
    /// </code>
    /// </example>
    public static TransformerClassificationTrainer SentenceSimilarity(this RegressionCatalog.RegressionTrainers catalog,
        string labelColumnName = DefaultColumnNames.Label, string sentence1ColumnName = DefaultColumnNames.Sentence1, string sentence2ColumnName = DefaultColumnNames.Sentence2,
        PretrainedEncoder? pretrained = null, IDataView? validationSet = null)
        => new(new TransformerClassifierOptions
        {
            LabelColumnName = labelColumnName, TextColumnName = sentence1ColumnName, SecondTextColumnName = sentence2ColumnName, Pretrained = pretrained, ValidationSet = validationSet,
        }, binary: false, Environment(catalog), regression: true);

    /// <summary>
    /// Sentence similarity as a bi-encoder (Sentence-BERT): each sentence embedded on its own by one shared encoder,
    /// <c>Score</c> the cosine of the two vectors mapped onto the label range, trained as sentence-transformers'
    /// <c>CosineSimilarityLoss</c>. Less accurate than <see cref="SentenceSimilarity"/>'s cross-encoder on a pair, but
    /// sentences embed once and compare with many (search, clustering): the trained
    /// <see cref="Similarity.SentenceSimilarityTransformer.Encoder"/> is an embedding model.
    /// </summary>
    /// <param name="catalog">The regression trainers (<c>mlContext.Regression.Trainers</c>).</param>
    /// <param name="labelColumnName">Similarity label: Single or Double.</param>
    /// <param name="sentence1ColumnName">First sentence of each pair.</param>
    /// <param name="sentence2ColumnName">Second sentence of each pair.</param>
    /// <param name="pretrained">A pretrained encoder to fine-tune (e.g. <c>MiniLM.Load()</c>), or null to train from scratch.</param>
    /// <param name="validationSet">Held-out pairs with the same columns (early stopping, kept weights); null = 10% of the training rows.</param>
    /// <example>
    /// <code>
    /// var model = mlContext.Regression.Trainers.BiEncoderSimilarity(pretrained: MiniLM.Load()).Fit(train);
    /// float cosine = model.Cosine("A man is playing a flute.", "A man plays the flute.");
    /// </code>
    /// </example>
    public static Similarity.BiEncoderSimilarityTrainer BiEncoderSimilarity(this RegressionCatalog.RegressionTrainers catalog,
        string labelColumnName = DefaultColumnNames.Label, string sentence1ColumnName = DefaultColumnNames.Sentence1, string sentence2ColumnName = DefaultColumnNames.Sentence2,
        PretrainedEncoder? pretrained = null, IDataView? validationSet = null)
        => new(new TransformerClassifierOptions
        {
            LabelColumnName = labelColumnName, TextColumnName = sentence1ColumnName, SecondTextColumnName = sentence2ColumnName, Pretrained = pretrained, ValidationSet = validationSet,
        }, Environment(catalog));

    /// <summary>The bi-encoder similarity trainer with every option (the classifier's options; <see cref="TransformerClassifierOptions.SecondTextColumnName"/> is required).</summary>
    /// <param name="catalog">The regression trainers (<c>mlContext.Regression.Trainers</c>).</param>
    /// <param name="options">Columns, pretrained encoder or shape, schedule and validation.</param>
    /// <example>
    /// <code>
    /// var trainer = mlContext.Regression.Trainers.BiEncoderSimilarity(new TransformerClassifierOptions
    /// {
    ///     TextColumnName = "Sentence1", SecondTextColumnName = "Sentence2", Pretrained = MiniLM.Load(), Epochs = 4, BatchSize = 16,
    /// });
    /// </code>
    /// </example>
    public static Similarity.BiEncoderSimilarityTrainer BiEncoderSimilarity(this RegressionCatalog.RegressionTrainers catalog, TransformerClassifierOptions options)
        => new(options, Environment(catalog));

    /// <summary>
    /// A transformer regressor with every option: one text column, or sentence pairs with
    /// <see cref="TransformerClassifierOptions.SecondTextColumnName"/>; <c>Score</c> is the prediction, trained by mean
    /// squared error (the n-gram branch, a classification feature, is off).
    /// </summary>
    /// <param name="catalog">The regression trainers (<c>mlContext.Regression.Trainers</c>).</param>
    /// <param name="options">Columns, tokenizer or pretrained encoder, model shape and schedule.</param>
    /// <example>
    /// <code>
    /// var trainer = mlContext.Regression.Trainers.TransformerRegressor(new TransformerClassifierOptions
    /// {
    ///     TextColumnName = "Sentence1", SecondTextColumnName = "Sentence2", Pretrained = MiniLM.Load(), Epochs = 4,
    /// });
    /// </code>
    /// </example>
    public static TransformerClassificationTrainer TransformerRegressor(this RegressionCatalog.RegressionTrainers catalog, TransformerClassifierOptions options)
        => new(options, binary: false, Environment(catalog), regression: true);

    // The simple overloads: what is not given keeps the options class's default.
    private static TransformerClassifierOptions Simple(string label, string text, int? epochs, int? batchSize, float? learningRate, IDataView? validationSet)
    {
        var o = new TransformerClassifierOptions { LabelColumnName = label, TextColumnName = text, Epochs = epochs, ValidationSet = validationSet };
        if (batchSize is { } b) o.BatchSize = b;
        if (learningRate is { } lr) o.LearningRate = lr;
        return o;
    }

    /// <summary>
    /// Sentence embeddings from a trained transformer encoder: text → a [d_model] float vector (the classifier's
    /// pooling), usable as <c>Features</c> by any ML.NET trainer.
    /// </summary>
    /// <param name="catalog">The text transforms catalog (<c>mlContext.Transforms.Text</c>).</param>
    /// <param name="trainedModel">A fitted transformer classifier whose encoder embeds the text.</param>
    /// <param name="outputColumnName">Output column of the embedding vector.</param>
    /// <param name="inputColumnName">Text column to embed.</param>
    /// <example>
    /// <code>
    /// var features = mlContext.Transforms.Text.FeaturizeWithTransformer(classifier)
    ///     .Append(mlContext.BinaryClassification.Trainers.SdcaLogisticRegression());
    /// </code>
    /// </example>
    public static EncoderFeaturizerEstimator FeaturizeWithTransformer(this TransformsCatalog.TextTransforms catalog,
        TransformerClassificationTransformer trainedModel, string outputColumnName = DefaultColumnNames.Features, string inputColumnName = DefaultColumnNames.Text)
    {
        ArgumentNullException.ThrowIfNull(trainedModel);
        return new(trainedModel.Tokenizer, trainedModel.Model.Encoder, inputColumnName, outputColumnName);
    }

    /// <summary>Old name of <see cref="FeaturizeWithTransformer(TransformsCatalog.TextTransforms, TransformerClassificationTransformer, string, string)"/>.</summary>
    /// <param name="catalog">The text transforms catalog.</param>
    /// <param name="trainedModel">A fitted transformer classifier.</param>
    /// <param name="outputColumnName">Output column of the embedding vector.</param>
    /// <param name="inputColumnName">Text column to embed.</param>
    [Obsolete("Use FeaturizeWithTransformer (transforms are named by what they do, as FeaturizeText).")]
    public static EncoderFeaturizerEstimator TransformerFeaturizer(this TransformsCatalog.TextTransforms catalog,
        TransformerClassificationTransformer trainedModel, string outputColumnName = DefaultColumnNames.Features, string inputColumnName = DefaultColumnNames.Text)
        => catalog.FeaturizeWithTransformer(trainedModel, outputColumnName, inputColumnName);

    /// <summary>
    /// Sentence embeddings from a pretrained encoder: text → a [d_model] float vector pooled as the model was trained
    /// to be used (all-MiniLM-L6-v2: the mean over tokens, scaled to unit length), usable as <c>Features</c> by any
    /// ML.NET trainer.
    /// </summary>
    /// <param name="catalog">The text transforms catalog (<c>mlContext.Transforms.Text</c>).</param>
    /// <param name="pretrained">A pretrained encoder and its tokenizer.</param>
    /// <param name="outputColumnName">Output column of the embedding vector.</param>
    /// <param name="inputColumnName">Text column to embed.</param>
    /// <example>
    /// <code>
    /// var pipeline = mlContext.Transforms.Text.FeaturizeWithTransformer(MiniLM.Load())
    ///     .Append(mlContext.BinaryClassification.Trainers.SdcaLogisticRegression());
    /// </code>
    /// </example>
    public static EncoderFeaturizerEstimator FeaturizeWithTransformer(this TransformsCatalog.TextTransforms catalog,
        PretrainedEncoder pretrained, string outputColumnName = DefaultColumnNames.Features, string inputColumnName = DefaultColumnNames.Text)
    {
        ArgumentNullException.ThrowIfNull(pretrained);
        return new(pretrained.Tokenizer, pretrained.Encoder, inputColumnName, outputColumnName);
    }

    /// <summary>Old name of <see cref="FeaturizeWithTransformer(TransformsCatalog.TextTransforms, PretrainedEncoder, string, string)"/>.</summary>
    /// <param name="catalog">The text transforms catalog.</param>
    /// <param name="pretrained">A pretrained encoder and its tokenizer.</param>
    /// <param name="outputColumnName">Output column of the embedding vector.</param>
    /// <param name="inputColumnName">Text column to embed.</param>
    [Obsolete("Use FeaturizeWithTransformer (transforms are named by what they do, as FeaturizeText).")]
    public static EncoderFeaturizerEstimator TransformerFeaturizer(this TransformsCatalog.TextTransforms catalog,
        PretrainedEncoder pretrained, string outputColumnName = DefaultColumnNames.Features, string inputColumnName = DefaultColumnNames.Text)
        => catalog.FeaturizeWithTransformer(pretrained, outputColumnName, inputColumnName);

    /// <summary>
    /// Trains a GPT-style causal language model on the documents of a text column (or, with
    /// <see cref="LanguageModelEstimator.FitFile"/>, on a text file); the fitted transformer maps a prompt column to
    /// generated text.
    /// </summary>
    /// <param name="catalog">The text transforms catalog (<c>mlContext.Transforms.Text</c>).</param>
    /// <param name="options">Tokenizer, model shape, schedule and generation settings; null = the defaults.</param>
    /// <example>
    /// <code>
    /// var lm = mlContext.Transforms.Text.TrainLanguageModel(new LanguageModelOptions { TimeBudget = TimeSpan.FromMinutes(5) })
    ///     .FitFile("input.txt");
    /// Console.WriteLine(lm.Generate("ROMEO:"));
    /// </code>
    /// </example>
    public static LanguageModelEstimator TrainLanguageModel(this TransformsCatalog.TextTransforms catalog, LanguageModelOptions? options = null)
        => new(options ?? new LanguageModelOptions(), Environment(catalog));

    /// <summary>
    /// Pretrains a transformer encoder by masked language modelling (BERT) on an unlabelled text column; the fitted
    /// featurizer's encoder can start a classifier (<see cref="TransformerClassifierOptions.InitialModel"/>).
    /// </summary>
    /// <param name="catalog">The text transforms catalog (<c>mlContext.Transforms.Text</c>).</param>
    /// <param name="options">Tokenizer, model shape and schedule; null = the defaults.</param>
    /// <example>
    /// <code>
    /// var pretrained = mlContext.Transforms.Text.PretrainMaskedLanguageModel(
    ///     new MaskedLanguageModelOptions { TimeBudget = TimeSpan.FromMinutes(5) }).Fit(unlabelled);
    /// var options = new TransformerClassifierOptions { InitialModel = pretrained.Encoder, PretrainedTokenizer = pretrained.Tokenizer };
    /// </code>
    /// </example>
    public static MaskedLanguageModelEstimator PretrainMaskedLanguageModel(this TransformsCatalog.TextTransforms catalog, MaskedLanguageModelOptions? options = null)
        => new(options ?? new MaskedLanguageModelOptions(), Environment(catalog));

    /// <summary>
    /// Trains an encoder-decoder transformer (translation, any text-to-text job) from a source and a target text
    /// column; the fitted transformer maps the source column to generated text by beam search.
    /// </summary>
    /// <param name="catalog">The text transforms catalog (<c>mlContext.Transforms.Text</c>).</param>
    /// <param name="options">Columns, tokenizer, model shape, schedule and decoding; null = the defaults (Source → Translation, trained on Target).</param>
    /// <example>
    /// <code>
    /// var translator = mlContext.Transforms.Text.TrainSeq2Seq(new Seq2SeqOptions { TimeBudget = TimeSpan.FromMinutes(10) }).Fit(pairs);
    /// var metrics = TranslationMetrics.Evaluate(translator.Transform(test), referenceColumnName: "Target");
    /// </code>
    /// </example>
    public static Translation.Seq2SeqTrainer TrainSeq2Seq(this TransformsCatalog.TextTransforms catalog, Translation.Seq2SeqOptions? options = null)
        => new(options ?? new Translation.Seq2SeqOptions(), Environment(catalog));

    /// <summary>
    /// ML.NET keeps a catalog's MLContext internal; its log is reached through the catalog's non-public
    /// <c>Environment</c> property when present, and training still works (without MLContext.Log messages) if not.
    /// </summary>
    private static IChannelProvider? Environment(object catalog)
    {
        const BindingFlags flags = BindingFlags.Instance | BindingFlags.NonPublic | BindingFlags.Public | BindingFlags.DeclaredOnly;
        for (var t = catalog.GetType(); t is not null; t = t.BaseType)
            foreach (var p in t.GetProperties(flags))
                if (typeof(IChannelProvider).IsAssignableFrom(p.PropertyType) && p.GetIndexParameters().Length == 0 && p.GetValue(catalog) is IChannelProvider env)
                    return env;
        return null;
    }
}
