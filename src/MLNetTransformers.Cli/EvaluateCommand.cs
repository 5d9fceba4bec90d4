namespace MLNetTransformers.Cli;

/// <summary><c>evaluate</c>: metrics of a saved classifier on a labelled TSV file, as JSON.</summary>
internal static class EvaluateCommand
{
    public static Command Create()
    {
        var model = CliOption.Model("train");
        var test = CliOption.InputFile("--test", "Labelled test data (TSV with a header; - = standard input)", required: true, standardInput: true);
        var textCol = CliOption.Text("--text-col", "Text column (default: the first)");
        var labelCol = CliOption.Text("--label-col", "Label column (default: the second)");
        var int8 = CliOption.Int8();
        var command = new Command("evaluate", "Accuracy, AUC, F1 (binary) or micro/macro accuracy and log-loss (multiclass) as JSON") { model, test, textCol, labelCol, int8 };
        command.SetAction(r => Run(r.GetValue(model)!, r.GetValue(test)!, r.GetValue(textCol), r.GetValue(labelCol), r.GetValue(int8)));
        return command;
    }

    private static int Run(string modelPath, string testPath, string? textCol, string? labelCol, bool int8)
    {
        var ml = new MLContext(seed: 0);
        var model = TransformerModel.Load(ml, modelPath, out var schema);
        if (int8) model = ModelFile.WithInt8(model);
        var classifier = ModelFile.Classifier(model, modelPath);
        string trainedLabel = TrainedLabel(classifier, schema, modelPath);
        var (test, cols) = TsvData.Load(ml, testPath, textCol, labelCol, needLabel: true, classifier.IsBinary ? DataKind.Boolean : DataKind.String);
        if (!classifier.IsBinary)
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
        var scored = model.Transform(data);
        JsonObject result;
        if (classifier.IsBinary)
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
    private static string TrainedLabel(TransformerClassificationTransformer classifier, DataViewSchema inputSchema, string modelPath)
    {
        if (classifier.LabelColumnName is { } recorded) return recorded;
        var others = inputSchema.Where(c => !c.IsHidden && c.Name != classifier.TextColumnName).Select(c => c.Name).ToList();
        return others.Count == 1 ? others[0]
            : throw new InvalidDataException($"Model '{modelPath}' does not record its label column and its input has {others.Count} candidates ({string.Join(", ", others)}); retrain it with this version.");
    }

    private static IDataView Rename(MLContext ml, IDataView data, string text, string wantText, string label, string wantLabel)
    {
        IEstimator<ITransformer> chain = new EstimatorChain<ITransformer>();
        if (text != wantText) chain = chain.Append(ml.Transforms.CopyColumns(wantText, text));
        if (label != wantLabel) chain = chain.Append(ml.Transforms.CopyColumns(wantLabel, label));
        return chain.Fit(data).Transform(data);
    }
}
