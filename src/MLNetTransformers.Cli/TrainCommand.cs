namespace MLNetTransformers.Cli;

/// <summary><c>train</c>: a binary or multiclass transformer classifier, a regressor, a token classifier (tagger) or an extractive question answerer, from a TSV file of texts, sentence pairs or questions, saved as a model file.</summary>
internal static class TrainCommand
{
    private static readonly string[] Tokenizers = { "learned", "wordpiece", "bpe", "tiktoken" };
    private static readonly HashSet<string> PretrainedSets = ["--layers", "--dim", "--heads", "--ffn", "--dropout", "--norm", "--positions",
        "--tokenizer", "--vocab", "--vocab-file", "--merges-file", "--tiktoken-encoding"];

    public static Command Create()
    {
        var d = new TransformerClassifierOptions(); // every default below comes from here
        var task = new Option<string>("--task") { Description = "Binary (labels 0/1, true/false), multiclass (any strings), regression (numbers, e.g. a similarity 0-5) tag (a tag per word: the label holds as many space-separated tags as the text has words, e.g. B-PER I-PER O) or qa (extractive question answering: the text is the context, text2 the question, the label the answer as written in the context, empty for none)", Required = true };
        task.AcceptOnlyFromAmong("binary", "multiclass", "regression", "tag", "qa");
        var trainPath = CliOption.InputFile("--train", "Training data (TSV with a header; - = standard input)", required: true, standardInput: true);
        var validPath = CliOption.InputFile("--valid", "Validation data (TSV); without it, --validation-fraction of --train is held out", standardInput: true);
        var modelPath = CliOption.Text("--model", "Where to save the model", required: true);
        var textCol = CliOption.Text("--text-col", "Text column (default: the first)");
        var text2Col = CliOption.Text("--text2-col", "Second text column: rows are sentence pairs ([CLS] text [SEP] text2 [SEP]), e.g. for paraphrase or similarity");
        var labelCol = CliOption.Text("--label-col", "Label column (default: the second, or the first that is not a text column)");
        var epochs = CliOption.OptionalInt("--epochs", "Passes over the data (default: chosen from the data size)");
        var patience = CliOption.OptionalInt("--patience", "Epochs without validation improvement before stopping (default: chosen from the epochs)");
        var ngrams = CliOption.Int("--ngram-buckets", "Rows of the hashed bigram table of the n-gram branch (0 = transformer only)", d.NGramBuckets);
        var members = CliOption.Int("--members", "Transformers trained side by side and averaged (an ensemble)", d.EnsembleSize);
        var fraction = CliOption.Number("--validation-fraction", "Without --valid: share of --train held out for early stopping", d.ValidationFraction);
        var pretrained = CliOption.Text("--pretrained", $"Fine-tune a pretrained encoder: {PretrainedArgument.Forms}");
        var layerDecay = CliOption.Number("--layer-decay", "Layer-wise learning-rate decay (1 = none)", d.LayerwiseLearningRateDecay);
        var frozen = CliOption.Int("--frozen-layers", "Freeze the embeddings and this many lowest blocks", d.FrozenLayers);
        var answerStart = CliOption.Text("--answer-start-col", "With --task qa: the column of where each answer starts in its context, in characters (default: the answer's first occurrence there)");
        var noAnswer = new Option<bool>("--allow-no-answer") { Description = "With --task qa: the reader ranks \"no answer\" among its answers (rows with an empty answer are contexts that hold none)" };
        var biEncoder = new Option<bool>("--bi-encoder") { Description = "With --task regression and --text2-col: a bi-encoder (each text embedded alone, Score from the cosine) instead of a cross-encoder" };
        var bestBy = CliOption.Choice("--best-by", "What picks the weights kept: validation loss or accuracy (default: loss; accuracy with --pretrained)", "loss", "loss", "accuracy");
        var flags = new TrainingFlags(d, Tokenizers, "--max-tokens");
        flags.Add(epochs, nameof(d.Epochs), (r, o) => o.Epochs = r.GetValue(epochs));
        flags.Add(patience, nameof(d.EarlyStoppingPatience), (r, o) => o.EarlyStoppingPatience = r.GetValue(patience));
        flags.Add(ngrams, nameof(d.NGramBuckets), (r, o) => ((TransformerClassifierOptions)o).NGramBuckets = r.GetValue(ngrams));
        flags.Add(members, nameof(d.EnsembleSize), (r, o) => ((TransformerClassifierOptions)o).EnsembleSize = r.GetValue(members));
        flags.Add(fraction, nameof(d.ValidationFraction), (r, o) => o.ValidationFraction = r.GetValue(fraction));
        flags.Add(layerDecay, nameof(d.LayerwiseLearningRateDecay), (r, o) => ((TransformerClassifierOptions)o).LayerwiseLearningRateDecay = (float)r.GetValue(layerDecay));
        flags.Add(frozen, nameof(d.FrozenLayers), (r, o) => ((TransformerClassifierOptions)o).FrozenLayers = r.GetValue(frozen));
        flags.Add(bestBy, nameof(d.BestWeightsBy), (r, o) => ((TransformerClassifierOptions)o).BestWeightsBy = r.GetValue(bestBy) == "accuracy" ? Core.Training.ValidationCriterion.Metric : Core.Training.ValidationCriterion.Loss);

        var command = new Command("train", "Train a transformer text classifier (or fine-tune a pretrained encoder); prints a JSON summary")
            { task, trainPath, validPath, modelPath, textCol, text2Col, labelCol, answerStart, noAnswer, pretrained, biEncoder };
        flags.AddTo(command);
        command.SetAction(r => Run(r, flags, r.GetValue(task)!, r.GetValue(trainPath)!, r.GetValue(validPath), r.GetValue(modelPath)!,
            r.GetValue(textCol), r.GetValue(text2Col), r.GetValue(labelCol), r.GetValue(pretrained), r.GetResult(flags.MaxTokens!) is { Implicit: false } ? r.GetValue(flags.MaxTokens!) : null,
            r.GetValue(biEncoder), r.GetValue(answerStart), r.GetValue(noAnswer)));
        return command;
    }

    private static int Run(ParseResult r, TrainingFlags flags, string task, string trainPath, string? validPath, string modelPath, string? textCol, string? text2Col,
        string? labelCol, string? pretrained, int? maxTokens, bool biEncoder, string? answerStartCol, bool noAnswer)
    {
        bool binary = task == "binary", regression = task == "regression", tag = task == "tag", qa = task == "qa";
        if (tag && (text2Col is not null || biEncoder)) throw new UsageException($"{(biEncoder ? "--bi-encoder" : "--text2-col")}: --task tag tags the words of one text column.");
        if (qa && biEncoder) throw new UsageException("--bi-encoder: --task qa reads a question and its context as one pair.");
        if (!qa && (answerStartCol is not null || noAnswer)) throw new UsageException($"{(noAnswer ? "--allow-no-answer" : "--answer-start-col")}: only --task qa answers questions.");
        if ((tag || qa) && r.CommandResult.Children.OfType<System.CommandLine.Parsing.OptionResult>().FirstOrDefault(o => !o.Implicit && o.Option.Name is "--ngram-buckets" or "--members" or "--layer-decay" or "--frozen-layers") is { } unused)
            throw new UsageException($"{unused.Option.Name}: {(tag ? "a token classifier (--task tag)" : "a question answerer (--task qa)")} does not use it.");
        if (biEncoder && !(regression && text2Col is not null)) throw new UsageException("--bi-encoder: a bi-encoder scores sentence pairs: use it with --task regression and --text2-col.");
        if (regression && r.CommandResult.Children.OfType<System.CommandLine.Parsing.OptionResult>().FirstOrDefault(o => !o.Implicit && o.Option.Name is "--ngram-buckets") is { } n)
            throw new UsageException($"{n.Option.Name}: the n-gram branch is for classification; a regressor has none.");
        if (Directory.Exists(modelPath)) throw new IOException($"--model '{modelPath}' is a directory; give a file path (checked before training, not after).");
        var options = qa ? new QuestionAnswering.QuestionAnsweringOptions { AllowNoAnswer = noAnswer } : new TransformerClassifierOptions();
        (options.ReportEverySteps, options.Progress) = (20, new ClassifierProgressLine());
        if (pretrained is not null)
        {
            // A pretrained encoder brings its shape, tokenizer and dropout: flags that would set them are refused, not ignored.
            var ignored = r.CommandResult.Children.OfType<System.CommandLine.Parsing.OptionResult>()
                .Where(o => !o.Implicit && PretrainedSets.Contains(o.Option.Name)).Select(o => o.Option.Name).ToList();
            if (ignored.Count > 0) throw new UsageException($"{string.Join(", ", ignored)}: a --pretrained encoder brings its own shape, tokenizer and dropout.");
            options.Pretrained = PretrainedArgument.Load(pretrained, maxTokens);
        }
        flags.Apply(r, options);
        var ml = new MLContext(seed: options.Seed);
        if (qa) return TrainReader(ml, flags, (QuestionAnswering.QuestionAnsweringOptions)options, trainPath, validPath, textCol, text2Col, labelCol, answerStartCol, modelPath);
        var labelKind = binary ? DataKind.Boolean : regression ? DataKind.Single : DataKind.String;
        var (train, cols) = TsvData.Load(ml, trainPath, textCol, labelCol, needLabel: true, labelKind, text2Col);
        IDataView? valid = validPath is null ? null : TsvData.Load(ml, validPath, cols.Text, cols.Label, needLabel: true, labelKind, cols.Text2).Data;
        (options.TextColumnName, options.LabelColumnName, options.SecondTextColumnName) = (cols.Text, cols.Label!, cols.Text2);
        using var cancel = Interrupt.OnFirstCtrlC("\nstopping after this step (Ctrl+C again to kill)...");
        options.CancellationToken = cancel.Token;
        if (tag) return TrainTagger(ml, flags, options, train, valid, modelPath);
        if (valid is not null) options.ValidationSet = binary || regression ? valid : ml.Transforms.Conversion.MapValueToKey(cols.Label).Fit(train).Transform(valid);
        if (biEncoder) return TrainBiEncoder(ml, flags, options, train, modelPath);
        var trainer = flags.Validated(() => binary ? ml.BinaryClassification.Trainers.TransformerClassifier(options)
            : regression ? ml.Regression.Trainers.TransformerRegressor(options) : ml.MulticlassClassification.Trainers.TransformerClassifier(options));

        ITransformer model;
        TransformerClassificationTransformer classifier;
        if (binary || regression)
        {
            classifier = trainer.Fit(train);
            model = new TransformerChain<ITransformer>(classifier);
        }
        else
        {
            var keys = ml.Transforms.Conversion.MapValueToKey(cols.Label!).Fit(train);
            classifier = trainer.Fit(keys.Transform(train));
            var toValue = ml.Transforms.Conversion.MapKeyToValue("PredictedLabelValue", DefaultColumnNames.PredictedLabel).Fit(classifier.Transform(keys.Transform(train)));
            model = new TransformerChain<ITransformer>(keys, classifier, toValue);
        }
        TransformerModel.Save(ml, model, train.Schema, modelPath);
        var s = classifier.TrainingSummary!;
        Console.WriteLine(JsonSerializer.Serialize(new
        {
            model = modelPath, task, pairs = cols.Text2 is not null, steps = s.Steps, stop_reason = s.StopReason, train_seconds = Math.Round(s.Duration.TotalSeconds, 1),
            best_validation_accuracy = regression ? null : s.BestValidationAccuracy is { } a ? Math.Round(a, 4) : (double?)null,
            best_validation_pearson = regression && s.BestValidationAccuracy is { } p ? Math.Round(p, 4) : (double?)null, parameters = classifier.Model.Parameters.Count,
        }));
        return 0;
    }

    // A token classifier: the label column's space-separated tags become a vector, one tag per word; the tagger alone is saved.
    private static int TrainTagger(MLContext ml, TrainingFlags flags, TransformerClassifierOptions options, IDataView train, IDataView? valid, string modelPath)
    {
        var words = ml.Transforms.Text.TokenizeIntoWords(options.LabelColumnName, options.LabelColumnName, [' ']).Fit(train);
        if (valid is not null) options.ValidationSet = words.Transform(valid);
        var tagger = flags.Validated(() => ml.MulticlassClassification.Trainers.TokenClassifier(options)).Fit(words.Transform(train));
        TransformerModel.Save(ml, new TransformerChain<ITransformer>(tagger), train.Schema, modelPath);
        var s = tagger.TrainingSummary!;
        Console.WriteLine(JsonSerializer.Serialize(new
        {
            model = modelPath, task = "tag", tags = tagger.Tags, steps = s.Steps, stop_reason = s.StopReason, train_seconds = Math.Round(s.Duration.TotalSeconds, 1),
            best_validation_tag_accuracy = s.BestValidationAccuracy is { } a ? Math.Round(a, 4) : (double?)null, parameters = tagger.Model.Parameters.Count,
        }));
        return 0;
    }

    // An extractive question answerer: context, question, answer (and where it starts) from the TSV's columns; the reader alone is saved.
    private static int TrainReader(MLContext ml, TrainingFlags flags, QuestionAnswering.QuestionAnsweringOptions options, string trainPath, string? validPath,
        string? contextCol, string? questionCol, string? answerCol, string? answerStartCol, string modelPath)
    {
        var train = TsvData.LoadQuestions(ml, trainPath, contextCol, questionCol, answerCol, answerStartCol, needAnswers: true);
        if (validPath is not null) options.ValidationSet = TsvData.LoadQuestions(ml, validPath, contextCol, questionCol, answerCol, answerStartCol, needAnswers: true);
        using var cancel = Interrupt.OnFirstCtrlC("\nstopping after this step (Ctrl+C again to kill)...");
        options.CancellationToken = cancel.Token;
        var reader = flags.Validated(() => ml.MulticlassClassification.Trainers.QuestionAnswer(options)).Fit(train);
        TransformerModel.Save(ml, new TransformerChain<ITransformer>(reader), train.Schema, modelPath);
        var s = reader.TrainingSummary!;
        Console.WriteLine(JsonSerializer.Serialize(new
        {
            model = modelPath, task = "qa", steps = s.Steps, stop_reason = s.StopReason, train_seconds = Math.Round(s.Duration.TotalSeconds, 1),
            best_validation_exact_match = s.BestValidationAccuracy is { } a ? Math.Round(a, 4) : (double?)null, parameters = reader.Model.Parameters.Count,
        }));
        return 0;
    }

    private static int TrainBiEncoder(MLContext ml, TrainingFlags flags, TransformerClassifierOptions options, IDataView train, string modelPath)
    {
        var trainer = flags.Validated(() => ml.Regression.Trainers.BiEncoderSimilarity(options));
        var model = trainer.Fit(train);
        TransformerModel.Save(ml, new TransformerChain<ITransformer>(model), train.Schema, modelPath);
        var s = model.TrainingSummary!;
        Console.WriteLine(JsonSerializer.Serialize(new
        {
            model = modelPath, task = "regression", pairs = true, bi_encoder = true, steps = s.Steps, stop_reason = s.StopReason, train_seconds = Math.Round(s.Duration.TotalSeconds, 1),
            best_validation_pearson = s.BestValidationAccuracy is { } p ? Math.Round(p, 4) : (double?)null, parameters = model.Encoder.Parameters.Count,
        }));
        return 0;
    }
}
