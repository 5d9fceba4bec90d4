namespace MLNetTransformers.Cli;

/// <summary><c>answer</c>: the best answers to a question taken from its context, as JSON (a line per question).</summary>
internal static class AnswerCommand
{
    public static Command Create()
    {
        var model = CliOption.Text("--model", "A question answerer: a model file saved by train --task qa, or a Hugging Face *ForQuestionAnswering folder of weights or of an ONNX export alone (or hub id in the Hugging Face cache)", required: true);
        var question = CliOption.Text("--question", "The question");
        var context = CliOption.Text("--context", "The text to answer it from");
        var file = CliOption.InputFile("--file", "Questions to answer: a TSV with a header, the context in the first column and the question in the second (- = standard input)", standardInput: true);
        var contextCol = CliOption.Text("--context-col", "With --file: the context column (default: the first)");
        var questionCol = CliOption.Text("--question-col", "With --file: the question column (default: the second)");
        var topK = CliOption.OptionalInt("--top-k", "Answers per question (default: the model's, 3)");
        var maxTokens = CliOption.OptionalInt("--max-tokens", "With a Hugging Face folder: a window's length, question and context together (default 384, or the model's positions if fewer); longer contexts are read in overlapping windows");
        var int8 = CliOption.Int8();
        var noAnswer = new Option<bool>("--allow-no-answer") { Description = "Rank \"no answer\" (an empty text) among the answers, for a reader trained on contexts that may hold none (SQuAD 2.0)" };
        var threshold = CliOption.OptionalNumber("--no-answer-threshold", "Rank \"no answer\" above an answer only when ln(its score / the answer's) is above this (implies --allow-no-answer; evaluate --allow-no-answer finds one; default: the model's, 0)");
        var runtime = new OnnxRuntimeFlags();
        var command = new Command("answer", "Answer questions from a context (extractive question answering); prints each question's best answers with their offsets and scores as JSON")
            { model, question, context, file, contextCol, questionCol, topK, maxTokens, int8, noAnswer, threshold };
        runtime.AddTo(command);
        command.SetAction(r => Run(r.GetValue(model)!, r.GetValue(question), r.GetValue(context), r.GetValue(file), r.GetValue(contextCol), r.GetValue(questionCol),
            r.GetValue(topK), r.GetValue(maxTokens), r.GetValue(int8), r.GetValue(noAnswer), (float?)r.GetValue(threshold), runtime.Read(r, r.GetValue(int8))));
        return command;
    }

    private static int Run(string modelPath, string? question, string? context, string? file, string? contextCol, string? questionCol, int? topK, int? maxTokens, bool int8, bool noAnswer, float? threshold, OnnxExecutionOptions? execution)
    {
        if ((file is null) == (question is null && context is null)) throw new UsageException("Give --question and --context, or --file.");
        if (file is null && (question is null || context is null)) throw new UsageException($"{(question is null ? "--question" : "--context")} is missing: a question needs both --question and --context.");
        if (file is null && (contextCol is not null || questionCol is not null)) throw new UsageException($"{(contextCol is not null ? "--context-col" : "--question-col")}: columns are read from --file.");
        if (topK is <= 0) throw new UsageException($"--top-k must be positive, not {topK}.");
        if (maxTokens is < 8) throw new UsageException($"--max-tokens must be at least 8 (a question and a context), not {maxTokens}.");
        var reader = ModelFile.PositionModel(modelPath, maxTokens, ModelFile.ReaderFolder,
            "question answerer; train one with train --task qa, or give a Hugging Face *ForQuestionAnswering folder");
        if (noAnswer) reader = reader.WithNoAnswer(true);
        if (threshold is { } t) reader = reader.WithNoAnswerThreshold(t);
        if (int8) reader = reader.WithInt8Inference();
        if (execution is not null) reader = reader.UseOnnxRuntime(execution);
        using var session = execution is null ? null : reader; // releases ONNX Runtime's session
        var ml = new MLContext(seed: 0);
        var rows = file is null ? [new TsvData.QuestionRow { Question = question!, Context = context! }]
            : ml.Data.CreateEnumerable<TsvData.QuestionRow>(TsvData.LoadQuestions(ml, file, contextCol, questionCol, null, null, needAnswers: false), reuseRowObject: false).ToList();
        foreach (var row in rows)
        {
            var answers = reader.Predict(row.Question, row.Context, topK);
            Console.WriteLine(new JsonObject
            {
                ["answers"] = new JsonArray(answers.Select(a => (JsonNode)new JsonObject { ["text"] = a.Text, ["start"] = a.Start, ["end"] = a.End, ["score"] = Math.Round(a.Score, 6) }).ToArray()),
            }.ToJsonString());
        }
        return 0;
    }
}
