namespace MLNetTransformers.Cli;

/// <summary><c>evaluate</c>: metrics of a saved classifier, regressor, tagger or question answerer on a labelled TSV file (texts, sentence pairs or questions), as JSON.</summary>
internal static class EvaluateCommand
{
    public static Command Create()
    {
        var model = CliOption.ClassifierModel();
        var test = CliOption.InputFile("--test", "Labelled test data (TSV with a header; - = standard input)", required: true, standardInput: true);
        var textCol = CliOption.Text("--text-col", "Text column (default: the first)");
        var text2Col = CliOption.Text("--text2-col", "Second text column of a pair model (default: the column after the first text)");
        var labelCol = CliOption.Text("--label-col", "Label column (default: the second, or the first that is not a text column)");
        var int8 = CliOption.Int8();
        var noAnswer = new Option<bool>("--allow-no-answer") { Description = "With a question answerer: rank \"no answer\" among its answers (a reader saved with it does) and report SQuAD 2.0's best no-answer thresholds on this data" };
        var command = new Command("evaluate", "Accuracy, AUC, F1 (binary), micro/macro accuracy and log-loss (multiclass), RMSE, MAE, R², Pearson and Spearman (regression), entity precision, recall, F1 and tag accuracy (a tagger), or SQuAD's exact match and F1 (a question answerer: context, question and answer columns) as JSON")
            { model, test, textCol, text2Col, labelCol, int8, noAnswer };
        command.SetAction(r => Run(r.GetValue(model)!, r.GetValue(test)!, r.GetValue(textCol), r.GetValue(text2Col), r.GetValue(labelCol), r.GetValue(int8), r.GetValue(noAnswer)));
        return command;
    }

    private static int Run(string modelPath, string testPath, string? textCol, string? text2Col, string? labelCol, bool int8, bool noAnswer)
    {
        var ml = new MLContext(seed: 0);
        var model = ModelFile.Load(ml, modelPath, out var schema);
        if (noAnswer && !TransformerModel.Parts(model).OfType<QuestionAnswering.QuestionAnsweringTransformer>().Any())
            throw new UsageException($"--allow-no-answer: model '{modelPath}' is not a question answerer.");
        if (TransformerModel.Parts(model).OfType<Similarity.SentenceSimilarityTransformer>().FirstOrDefault() is { } bi)
            return RunBiEncoder(ml, model, bi, modelPath, testPath, textCol, text2Col, labelCol);
        if (int8) model = ModelFile.WithInt8(model);
        if (TransformerModel.Parts(model).OfType<TokenClassification.TokenClassificationTransformer>().FirstOrDefault() is { } tagger)
            return RunTagger(ml, tagger, modelPath, testPath, textCol, text2Col, labelCol);
        if (TransformerModel.Parts(model).OfType<QuestionAnswering.QuestionAnsweringTransformer>().FirstOrDefault() is { } reader)
        {
            // Context, question and answer columns (by default the first three); SQuAD's exact match and F1.
            var questions = TsvData.LoadQuestions(ml, testPath, textCol, text2Col, labelCol, null, needAnswers: true);
            var renamed = ml.Transforms.CopyColumns(reader.ContextColumnName, DefaultColumnNames.Context)
                .Append(ml.Transforms.CopyColumns(reader.QuestionColumnName, DefaultColumnNames.Question)).Fit(questions).Transform(questions);
            if (noAnswer) reader = reader.WithNoAnswer(true);
            var m = reader.Evaluate(renamed, DefaultColumnNames.TrainingAnswer);
            var scores = new JsonObject { ["exact_match"] = Math.Round(m.ExactMatch, 4), ["f1"] = Math.Round(m.F1, 4), ["questions"] = m.Questions };
            if (reader.AllowNoAnswer)
            {
                // SQuAD 2.0's evaluation's best thresholds on this data (answer --no-answer-threshold takes one).
                var best = reader.TuneNoAnswerThreshold(renamed, DefaultColumnNames.TrainingAnswer);
                scores["no_answer_threshold"] = reader.NoAnswerThreshold;
                scores["best_exact_match"] = Math.Round(best.BestExactMatch, 4);
                scores["best_exact_match_threshold"] = best.BestExactMatchThreshold;
                scores["best_f1"] = Math.Round(best.BestF1, 4);
                scores["best_f1_threshold"] = best.BestF1Threshold;
            }
            Console.WriteLine(scores.ToJsonString());
            return 0;
        }
        var classifier = ModelFile.Classifier(model, modelPath);
        string trainedLabel = TrainedLabel(classifier, schema, modelPath);
        bool pairs = classifier.SecondTextColumnName is not null;
        if (!pairs && text2Col is not null) throw new UsageException($"--text2-col: model '{modelPath}' reads single texts, not pairs.");
        if (pairs && text2Col is null && textCol is not null) throw new UsageException($"Model '{modelPath}' reads sentence pairs: give --text2-col with --text-col.");
        var (test, cols) = TsvData.Load(ml, testPath, textCol, labelCol, needLabel: true,
            classifier.IsBinary ? DataKind.Boolean : classifier.IsRegression ? DataKind.Single : DataKind.String, text2Col, pairs);
        if (!classifier.IsBinary && !classifier.IsRegression)
        {
            // A class the model never saw would map to a missing key and score as all-zero metrics: refuse it instead.
            var known = classifier.ClassNames.ToHashSet(StringComparer.Ordinal);
            var labels = test.GetColumn<string>(cols.Label!).ToList();
            int row = labels.FindIndex(v => !known.Contains(v));
            if (row >= 0)
                throw new InvalidDataException($"'{testPath}', data row {row + 1}: label '{labels[row]}' is not one of the classes the model was trained on ({string.Join(", ", classifier.ClassNames)}).");
        }
        // The model reads the column names it was trained with.
        var data = Rename(ml, test, cols.Text, classifier.TextColumnName, cols.Label!, trainedLabel);
        if (pairs && cols.Text2 != classifier.SecondTextColumnName) data = ml.Transforms.CopyColumns(classifier.SecondTextColumnName!, cols.Text2!).Fit(data).Transform(data);
        var scored = model.Transform(data);
        JsonObject result;
        if (classifier.IsRegression) result = RegressionMetrics(ml, scored, classifier.ScoreColumnName, trainedLabel);
        else if (classifier.IsBinary)
        {
            var m = ml.BinaryClassification.Evaluate(scored, trainedLabel);
            result = new JsonObject { ["accuracy"] = Math.Round(m.Accuracy, 4), ["auc"] = Math.Round(m.AreaUnderRocCurve, 4), ["f1"] = Math.Round(m.F1Score, 4),
                ["precision"] = Math.Round(m.PositivePrecision, 4), ["recall"] = Math.Round(m.PositiveRecall, 4) };
        }
        else
        {
            var m = ml.MulticlassClassification.Evaluate(scored, trainedLabel);
            result = new JsonObject { ["micro_accuracy"] = Math.Round(m.MicroAccuracy, 4), ["macro_accuracy"] = Math.Round(m.MacroAccuracy, 4), ["log_loss"] = Math.Round(m.LogLoss, 4) };
        }
        long rows = 0;
        using (var cursor = scored.GetRowCursor(Array.Empty<DataViewSchema.Column>())) while (cursor.MoveNext()) rows++;
        result["rows"] = rows;
        Console.WriteLine(result.ToJsonString());
        return 0;
    }

    /// <summary>The label column the classifier was trained on: recorded in the model, or (older files) the one input column besides the text.</summary>
    private static string TrainedLabel(TransformerClassificationTransformer classifier, DataViewSchema? inputSchema, string modelPath)
    {
        if (classifier.LabelColumnName is { } recorded) return recorded;
        var others = (inputSchema ?? throw new InvalidDataException($"Model '{modelPath}' records no label column.")).Where(c => !c.IsHidden && c.Name != classifier.TextColumnName).Select(c => c.Name).ToList();
        return others.Count == 1 ? others[0]
            : throw new InvalidDataException($"Model '{modelPath}' does not record its label column and its input has {others.Count} candidates ({string.Join(", ", others)}); retrain it with this version.");
    }

    private static JsonObject RegressionMetrics(MLContext ml, IDataView scored, string score, string label)
    {
        var m = ml.Regression.Evaluate(scored, label, score);
        var predicted = scored.GetColumn<float>(score).ToArray();
        var gold = scored.GetColumn<float>(label).ToArray();
        return new JsonObject { ["rmse"] = Math.Round(m.RootMeanSquaredError, 4), ["mae"] = Math.Round(m.MeanAbsoluteError, 4), ["r2"] = Math.Round(m.RSquared, 4),
            ["pearson"] = Math.Round(Metrics.Correlation.Pearson(predicted, gold), 4), ["spearman"] = Math.Round(Metrics.Correlation.Spearman(predicted, gold), 4),
            ["rows"] = predicted.Length };
    }

    // A tagger: the label column holds each text's tags separated by spaces, one per word; seqeval's measures.
    private static int RunTagger(MLContext ml, TokenClassification.TokenClassificationTransformer tagger, string modelPath, string testPath, string? textCol, string? text2Col, string? labelCol)
    {
        if (text2Col is not null) throw new UsageException($"--text2-col: model '{modelPath}' tags the words of one text column.");
        var (test, cols) = TsvData.Load(ml, testPath, textCol, labelCol, needLabel: true, DataKind.String);
        var tags = ml.Transforms.Text.TokenizeIntoWords(cols.Label!, cols.Label!, [' ']).Fit(test).Transform(test);
        var m = tagger.Evaluate(ml.Transforms.CopyColumns(tagger.InputColumnName, cols.Text).Fit(tags).Transform(tags), cols.Label);
        Console.WriteLine(new JsonObject
        {
            ["precision"] = Math.Round(m.Precision, 4), ["recall"] = Math.Round(m.Recall, 4), ["f1"] = Math.Round(m.F1, 4), ["tag_accuracy"] = Math.Round(m.TagAccuracy, 4),
            ["entities"] = m.Entities, ["predicted_entities"] = m.PredictedEntities, ["words"] = m.Words,
        }.ToJsonString());
        return 0;
    }

    // A bi-encoder reads two sentence columns and a numeric label, under the names it was trained with.
    private static int RunBiEncoder(MLContext ml, ITransformer model, Similarity.SentenceSimilarityTransformer bi, string modelPath, string testPath,
        string? textCol, string? text2Col, string? labelCol)
    {
        if (text2Col is null && textCol is not null) throw new UsageException($"Model '{modelPath}' reads sentence pairs: give --text2-col with --text-col.");
        var (test, cols) = TsvData.Load(ml, testPath, textCol, labelCol, needLabel: true, DataKind.Single, text2Col, pairs: true);
        string label = bi.LabelColumnName ?? "Label";
        var data = Rename(ml, test, cols.Text, bi.Sentence1ColumnName, cols.Label!, label);
        if (cols.Text2 != bi.Sentence2ColumnName) data = ml.Transforms.CopyColumns(bi.Sentence2ColumnName, cols.Text2!).Fit(data).Transform(data);
        Console.WriteLine(RegressionMetrics(ml, model.Transform(data), bi.ScoreColumnName, label).ToJsonString());
        return 0;
    }

    private static IDataView Rename(MLContext ml, IDataView data, string text, string wantText, string label, string wantLabel)
    {
        IEstimator<ITransformer> chain = new EstimatorChain<ITransformer>();
        if (text != wantText) chain = chain.Append(ml.Transforms.CopyColumns(wantText, text));
        if (label != wantLabel) chain = chain.Append(ml.Transforms.CopyColumns(wantLabel, label));
        return chain.Fit(data).Transform(data);
    }
}
