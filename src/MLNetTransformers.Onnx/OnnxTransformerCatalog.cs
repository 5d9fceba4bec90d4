using Microsoft.ML;
using Microsoft.ML.OnnxRuntime.Tensors;
using MLNetTransformers.Classification;
using MLNetTransformers.Featurization;

namespace MLNetTransformers.Onnx;

/// <summary>ML.NET-style entry points for ONNX export, import and execution.</summary>
public static class OnnxTransformerCatalog
{
    /// <summary>
    /// Exports the network of a fitted pipeline (its transformer classifier, else its encoder featurizer, else its
    /// language model) as ONNX,
    /// with the tokenizer and class names in the metadata. Tokenization stays outside the graph: feed it the
    /// <c>input_ids</c>/<c>attention_mask</c> that the stored tokenizer produces.
    /// </summary>
    /// <param name="catalog">The model operations catalog (<c>mlContext.Model</c>).</param>
    /// <param name="model">A fitted pipeline holding a transformer classifier, encoder featurizer or language model.</param>
    /// <example>
    /// <code>
    /// byte[] onnx = mlContext.Model.ExportTransformerToOnnx(model);
    /// using var session = new InferenceSession(onnx); // inputs input_ids and attention_mask, int64 [batch, sequence]
    /// </code>
    /// </example>
    public static byte[] ExportTransformerToOnnx(this ModelOperationsCatalog catalog, ITransformer model) => catalog.ExportTransformerToOnnx(model, quantize: false);

    /// <summary>
    /// As <see cref="ExportTransformerToOnnx(ModelOperationsCatalog, ITransformer)"/>; with <paramref name="quantize"/> a
    /// classifier's or featurizer's linear layers are exported in int8 as <c>WithInt8Inference</c> runs them (int8 weights
    /// per output channel, inputs quantized per row, <c>MatMulInteger</c>; contract in <c>onnx/README.md</c>).
    /// </summary>
    /// <param name="catalog">The model operations catalog (<c>mlContext.Model</c>).</param>
    /// <param name="model">A fitted pipeline holding a transformer classifier, encoder featurizer, token classifier or language model.</param>
    /// <param name="quantize">Export int8 linear layers (classifiers, featurizers and token classifiers).</param>
    /// <example>
    /// <code>
    /// byte[] int8 = mlContext.Model.ExportTransformerToOnnx(model, quantize: true);
    /// </code>
    /// </example>
    public static byte[] ExportTransformerToOnnx(this ModelOperationsCatalog catalog, ITransformer model, bool quantize)
    {
        var parts = TransformerModel.Parts(model).ToArray();
        if (parts.OfType<TransformerClassificationTransformer>().FirstOrDefault() is { } cls)
            return OnnxExporter.Export(cls.Model, cls.Tokenizer, cls.ClassNames, quantize: quantize);
        if (parts.OfType<EncoderFeaturizerTransformer>().FirstOrDefault() is { } feat)
            return OnnxExporter.Export(feat.Encoder, feat.Tokenizer, quantize);
        if (parts.OfType<TokenClassification.TokenClassificationTransformer>().FirstOrDefault() is { } tagger)
            return OnnxExporter.Export(tagger.Model, tagger.Tokenizer, tagger.Tags, quantize);
        if (parts.OfType<QuestionAnswering.QuestionAnsweringTransformer>().FirstOrDefault() is { } reader)
            return OnnxExporter.Export(reader.Model, reader.Tokenizer, quantize);
        if (parts.OfType<LanguageModeling.LanguageModelTransformer>().FirstOrDefault() is { } lm)
            return quantize ? throw new ArgumentException("Int8 export is for classifiers and featurizers; a language model exports in float.", nameof(quantize))
                : OnnxExporter.Export(lm.Model, lm.Tokenizer);
        if (parts.OfType<Translation.Seq2SeqTransformer>().Any())
            throw new ArgumentException("The model is an encoder-decoder, which exports as two graphs: use ExportSeq2SeqToOnnx(model, directory).", nameof(model));
        throw new ArgumentException("The model holds no transformer classifier, encoder featurizer, token classifier or language model to export.", nameof(model));
    }

    /// <summary>
    /// Exports the encoder-decoder of a fitted pipeline as two ONNX graphs (encoder, and one decoding step with past
    /// keys and values) into <paramref name="directory"/>, tokenizers in the metadata; contract in <c>onnx/README.md</c>.
    /// Run them with <see cref="OnnxSeq2SeqModel"/> or with two <c>InferenceSession</c>s.
    /// </summary>
    /// <param name="catalog">The model operations catalog (<c>mlContext.Model</c>).</param>
    /// <param name="model">A fitted pipeline holding a <see cref="Translation.Seq2SeqTransformer"/>.</param>
    /// <param name="directory">Where encoder_model.onnx and decoder_model.onnx are written (each atomically).</param>
    /// <example>
    /// <code>
    /// var graphs = mlContext.Model.ExportSeq2SeqToOnnx(translator, "de-en-onnx");
    /// using var onnx = OnnxSeq2SeqModel.Load("de-en-onnx");
    /// var best = new Seq2SeqDecoder(onnx.CreateIncrementalDecoder()).Decode(sources, startId, endId);
    /// </code>
    /// </example>
    public static Seq2SeqOnnxGraphs ExportSeq2SeqToOnnx(this ModelOperationsCatalog catalog, ITransformer model, string directory)
    {
        var t = TransformerModel.Parts(model).OfType<Translation.Seq2SeqTransformer>().FirstOrDefault()
            ?? throw new ArgumentException("The model holds no encoder-decoder (Seq2SeqTransformer) to export.", nameof(model));
        var graphs = t.Model switch
        {
            TransformerSeq2Seq transformer => OnnxExporter.Export(transformer, t.Tokenizer, t.SourceTokenizer),
            RnnSeq2Seq gru => OnnxExporter.Export(gru, t.Tokenizer, t.SourceTokenizer),
            _ => throw new NotSupportedException($"ONNX export does not know the encoder-decoder type {t.Model.GetType().Name}."),
        };
        graphs.Save(directory);
        return graphs;
    }

    /// <summary>Exports to a file (atomically).</summary>
    /// <param name="catalog">The model operations catalog (<c>mlContext.Model</c>).</param>
    /// <param name="model">A fitted pipeline holding a transformer classifier, encoder featurizer or language model.</param>
    /// <param name="path">The .onnx file to write (atomically).</param>
    /// <example>
    /// <code>
    /// mlContext.Model.ExportTransformerToOnnx(model, "sentiment.onnx");
    /// </code>
    /// </example>
    /// <param name="quantize">Export int8 linear layers (classifiers and featurizers).</param>
    public static void ExportTransformerToOnnx(this ModelOperationsCatalog catalog, ITransformer model, string path, bool quantize = false)
        => OnnxExporter.Save(catalog.ExportTransformerToOnnx(model, quantize), path);

    /// <summary>
    /// Runs an ONNX model with ONNX Runtime: <c>input_ids</c> ← <paramref name="tokenIdsColumnName"/>, <c>attention_mask</c> ←
    /// <paramref name="attentionMaskColumnName"/> (and zeros for <c>token_type_ids</c>); float outputs become columns, and
    /// <paramref name="poolOutput"/> (e.g. <c>last_hidden_state</c>) is mean-pooled into <c>Embedding</c>.
    /// </summary>
    /// <param name="catalog">The transforms catalog (<c>mlContext.Transforms</c>).</param>
    /// <param name="modelFile">Path of the .onnx file.</param>
    /// <param name="tokenIdsColumnName">Column bound to input_ids.</param>
    /// <param name="attentionMaskColumnName">Column bound to attention_mask.</param>
    /// <param name="poolOutput">An output of shape [batch, sequence, hidden] (e.g. last_hidden_state) to mean-pool into an Embedding column; null = none.</param>
    /// <param name="execution">Execution provider settings (null = CPU).</param>
    /// <example>
    /// <code>
    /// var pipeline = mlContext.Transforms.Text.TokenizeForTransformer(new TokenizerOptions { Kind = TokenizerKind.WordPiece, VocabularyFile = "vocab.txt" })
    ///     .Append(mlContext.Transforms.ApplyTransformerOnnxModel("model.onnx", poolOutput: "last_hidden_state"));
    /// </code>
    /// </example>
    public static OnnxModelEstimator ApplyTransformerOnnxModel(this TransformsCatalog catalog, string modelFile,
        string tokenIdsColumnName = DefaultColumnNames.TokenIds, string attentionMaskColumnName = DefaultColumnNames.AttentionMask, string? poolOutput = null,
        OnnxExecutionOptions? execution = null)
        => new(new OnnxModelOptions
        {
            ModelFile = modelFile, PoolOutput = poolOutput, Execution = execution ?? new(),
            InputColumns = new() { ["input_ids"] = tokenIdsColumnName, ["attention_mask"] = attentionMaskColumnName, ["token_type_ids"] = DefaultColumnNames.TokenTypeIds },
        });

    /// <summary>Runs an ONNX model with every option.</summary>
    /// <param name="catalog">The transforms catalog (<c>mlContext.Transforms</c>).</param>
    /// <param name="options">The model and every binding.</param>
    /// <example>
    /// <code>
    /// var run = mlContext.Transforms.ApplyTransformerOnnxModel(new OnnxModelOptions
    /// {
    ///     ModelFile = "model.onnx", OutputColumns = new() { ["logits"] = "Logits" },
    ///     Execution = new OnnxExecutionOptions { Provider = OnnxProvider.Cuda, FallbackToCpu = true },
    /// });
    /// </code>
    /// </example>
    public static OnnxModelEstimator ApplyTransformerOnnxModel(this TransformsCatalog catalog, OnnxModelOptions options) => new(options);

    /// <summary>
    /// The same classifier, scoring through ONNX Runtime on its exported network (same predictions, within float
    /// rounding). Dispose the returned transformer to release the ONNX Runtime session.
    /// </summary>
    /// <param name="classifier">The fitted classifier.</param>
    /// <param name="execution">Execution provider settings (null = CPU).</param>
    /// <example>
    /// <code>
    /// using var viaOrt = classifier.UseOnnxRuntime();
    /// var scored = viaOrt.Transform(test);
    /// </code>
    /// </example>
    public static TransformerClassificationTransformer UseOnnxRuntime(this TransformerClassificationTransformer classifier, OnnxExecutionOptions? execution = null)
        => classifier.WithBackend(new OnnxClassifierBackend(OnnxSessionFactory.Create(OnnxExporter.Export(classifier.Model, classifier.Tokenizer, classifier.ClassNames), execution), classifier.Model.Config.NumClasses));

    /// <summary>
    /// The same tagger, computing its logits through ONNX Runtime on its exported network (the same tags, probabilities
    /// within float rounding). Dispose the returned transformer to release the ONNX Runtime session.
    /// </summary>
    /// <param name="tagger">The tagger.</param>
    /// <param name="execution">Execution provider settings (null = CPU).</param>
    /// <example>
    /// <code>
    /// using var viaOrt = tagger.UseOnnxRuntime(new OnnxExecutionOptions { Provider = OnnxProvider.Cuda, FallbackToCpu = true });
    /// var entities = viaOrt.Entities("Angela Merkel visited Paris .");
    /// </code>
    /// </example>
    public static TokenClassification.TokenClassificationTransformer UseOnnxRuntime(this TokenClassification.TokenClassificationTransformer tagger, OnnxExecutionOptions? execution = null)
        => tagger.WithBackend(new OnnxTokenLogitsBackend(OnnxSessionFactory.Create(OnnxExporter.Export(tagger.Model, tagger.Tokenizer, tagger.Tags), execution), LogitsOutput));

    /// <summary>
    /// The same question answerer, computing its start and end logits through ONNX Runtime on its exported network (the
    /// same answers, scores within float rounding). Dispose the returned transformer to release the ONNX Runtime session.
    /// </summary>
    /// <param name="reader">The question answerer.</param>
    /// <param name="execution">Execution provider settings (null = CPU).</param>
    /// <example>
    /// <code>
    /// using var viaOrt = reader.UseOnnxRuntime();
    /// var best = viaOrt.Answer("Who wrote Hamlet?", "Hamlet is a tragedy written by William Shakespeare.");
    /// </code>
    /// </example>
    public static QuestionAnswering.QuestionAnsweringTransformer UseOnnxRuntime(this QuestionAnswering.QuestionAnsweringTransformer reader, OnnxExecutionOptions? execution = null)
        => reader.WithBackend(new OnnxTokenLogitsBackend(OnnxSessionFactory.Create(OnnxExporter.Export(reader.Model, reader.Tokenizer), execution), StartEndOutputs));

    private static readonly string[] LogitsOutput = { "logits" }, StartEndOutputs = { "start_logits", "end_logits" };

    // The session's inputs for a token batch: ids, attention mask, and segment ids for graphs that read them.
    private static List<NamedOnnxValue> Feeds(InferenceSession session, TokenBatch batch)
    {
        int b = batch.BatchSize, t = batch.SeqLen, n = b * t;
        var ids = new long[n]; var mask = new long[n];
        for (int i = 0; i < n; i++) { ids[i] = batch.Ids[i]; mask[i] = batch.AttentionMask?[i] ?? 1; }
        var feeds = new List<NamedOnnxValue>
        {
            NamedOnnxValue.CreateFromTensor("input_ids", new DenseTensor<long>(ids, new[] { b, t })),
            NamedOnnxValue.CreateFromTensor("attention_mask", new DenseTensor<long>(mask, new[] { b, t })),
        };
        if (session.InputMetadata.ContainsKey("token_type_ids")) // BERT-family encoders: segment ids (all 0 for single sentences)
        {
            var types = new long[n];
            if (batch.TokenTypeIds is { } tt) for (int i = 0; i < n; i++) types[i] = tt[i];
            feeds.Add(NamedOnnxValue.CreateFromTensor("token_type_ids", new DenseTensor<long>(types, new[] { b, t })));
        }
        return feeds;
    }

    /// <summary>Scores token batches with an exported classifier in ONNX Runtime.</summary>
    private sealed class OnnxClassifierBackend(InferenceSession session, int classes) : IClassifierBackend, IDisposable
    {
        public void Dispose() => session.Dispose();

        public void Probabilities(TokenBatch batch, Span<float> probabilities)
        {
            using var results = session.Run(Feeds(session, batch), LogitsOutput);
            var logits = results[0].AsTensor<float>().ToArray();
            if (classes == 1) logits.AsSpan(0, batch.BatchSize).CopyTo(probabilities); // a regressor: the prediction itself
            else Softmax.Forward(logits, probabilities, batch.BatchSize, classes);
        }
    }

    /// <summary>Logits at every position from an exported tagger (<c>logits</c>) or question answerer (<c>start_logits</c> and <c>end_logits</c>, interleaved as the engine's [B, T, 2]) in ONNX Runtime.</summary>
    private sealed class OnnxTokenLogitsBackend(InferenceSession session, string[] outputs) : TokenClassification.ITokenLogitsBackend, IDisposable
    {
        public void Dispose() => session.Dispose();

        public float[] Logits(TokenBatch batch)
        {
            using var results = session.Run(Feeds(session, batch), outputs);
            if (outputs.Length == 1) return results[0].AsTensor<float>().ToArray();
            var (start, end) = (results[0].AsTensor<float>().ToArray(), results[1].AsTensor<float>().ToArray());
            var logits = new float[2 * start.Length];
            for (int i = 0; i < start.Length; i++) (logits[2 * i], logits[2 * i + 1]) = (start[i], end[i]);
            return logits;
        }
    }
}
