namespace MLNetTransformers.Cli;

/// <summary>
/// Tab-separated files with a header row; text is the first column and the label the second unless named. The file
/// is read once, so pipes, process substitution and standard input (<c>-</c>) give every row, and every label is
/// checked: a blank or unknown binary label, or a regression label that is not a number, is an error naming the line,
/// never a silent <c>false</c> or 0. A second text column (<c>--text2-col</c>) makes the rows sentence pairs.
/// </summary>
internal static class TsvData
{
    public sealed record Columns(string Text, string? Label, string? Text2 = null);

    private sealed class TextRow { public string Text { get; set; } = ""; public string Text2 { get; set; } = ""; }
    private sealed class BinaryRow { public string Text { get; set; } = ""; public string Text2 { get; set; } = ""; public bool Label { get; set; } }
    private sealed class ClassRow { public string Text { get; set; } = ""; public string Text2 { get; set; } = ""; public string Label { get; set; } = ""; }
    private sealed class ScoreRow { public string Text { get; set; } = ""; public string Text2 { get; set; } = ""; public float Label { get; set; } }

    /// <summary>
    /// Reads the file; <paramref name="labelKind"/> Boolean (binary), String (classes) or Single (regression). With
    /// <paramref name="pairs"/> and no <paramref name="text2Col"/>, the second text is the column after the first.
    /// </summary>
    public static (IDataView Data, Columns Columns) Load(MLContext ml, string path, string? textCol, string? labelCol, bool needLabel, DataKind labelKind,
        string? text2Col = null, bool pairs = false)
    {
        var (lines, names, Index) = Header(path);
        int t = Index(textCol, 0, "text");
        int? t2 = text2Col is not null ? Index(text2Col, 1, "second text") : pairs ? Index(null, t + 1, "second text") : null;
        // With a pair, the label defaults to the first column that is neither text.
        int defaultLabel = Enumerable.Range(1, Math.Max(1, names.Length)).First(i => i != t && i != t2);
        int? l = needLabel || labelCol is not null ? Index(labelCol, defaultLabel, "label") : (names.Length > 1 && t != 1 && t2 != 1 ? 1 : null);

        var texts = new List<string>();
        var texts2 = new List<string>();
        var labels = new List<string>();
        var lineNumbers = new List<int>();
        for (int i = 1; i < lines.Count; i++)
        {
            if (lines[i].Length == 0) continue;
            var fields = lines[i].Split('\t');
            texts.Add(t < fields.Length ? fields[t] : "");
            if (t2 is int ti) texts2.Add(ti < fields.Length ? fields[ti] : "");
            if (l is not int li) continue;
            string label = li < fields.Length ? fields[li].Trim() : "";
            if (label.Length == 0)
                throw new InvalidDataException($"Data file '{path}', line {i + 1}: the label column '{names[li]}' is blank; every row needs a label.");
            labels.Add(label);
            lineNumbers.Add(i + 1);
        }

        var columns = new Columns(names[t], l is int x ? names[x] : null, t2 is int y ? names[y] : null);
        string Second(int i) => t2 is null ? "" : texts2[i];
        if (l is null) return (Rows(ml, texts.Select((s, i) => new TextRow { Text = s, Text2 = Second(i) }), columns), columns);
        if (labelKind == DataKind.Boolean)
        {
            var rows = texts.Select((s, i) => new BinaryRow { Text = s, Text2 = Second(i), Label = Binary(labels[i], path, lineNumbers[i]) }).ToList();
            return (Rows(ml, rows, columns), columns);
        }
        if (labelKind == DataKind.Single)
        {
            var rows = texts.Select((s, i) => new ScoreRow { Text = s, Text2 = Second(i), Label = Number(labels[i], path, lineNumbers[i]) }).ToList();
            return (Rows(ml, rows, columns), columns);
        }
        return (Rows(ml, texts.Select((s, i) => new ClassRow { Text = s, Text2 = Second(i), Label = labels[i] }), columns), columns);
    }

    /// <summary>A question with its context and, for training and scoring, its answer and where it starts.</summary>
    public sealed class QuestionRow
    {
        public string Context { get; set; } = "";
        public string Question { get; set; } = "";
        public string TrainingAnswer { get; set; } = "";
        public int AnswerIndex { get; set; }
    }

    /// <summary>
    /// Questions for extractive question answering: the context (<paramref name="contextCol"/>, default the first column),
    /// the question (default the second) and, with <paramref name="needAnswers"/>, the answer as written in the context
    /// (default the third) and where it starts in characters (<paramref name="answerStartCol"/>; without it, the answer's
    /// first occurrence in the context). An empty answer means the context holds none. The view's columns carry the
    /// question-answering trainer's default names (Context, Question, TrainingAnswer, AnswerIndex).
    /// </summary>
    public static IDataView LoadQuestions(MLContext ml, string path, string? contextCol, string? questionCol, string? answerCol, string? answerStartCol, bool needAnswers)
    {
        var (lines, names, Index) = Header(path);
        int c = Index(contextCol, 0, "context"), q = Index(questionCol, 1, "question");
        int? a = needAnswers ? Index(answerCol, 2, "answer") : null, at = answerStartCol is null ? null : Index(answerStartCol, 3, "answer start");
        var rows = new List<QuestionRow>();
        for (int i = 1; i < lines.Count; i++)
        {
            if (lines[i].Length == 0) continue;
            var fields = lines[i].Split('\t');
            string Field(int k) => k < fields.Length ? fields[k] : "";
            var row = new QuestionRow { Context = Field(c), Question = Field(q), AnswerIndex = -1 };
            if (a is int ai && Field(ai) is { Length: > 0 } answer)
            {
                row.TrainingAnswer = answer;
                if (at is int si)
                    row.AnswerIndex = int.TryParse(Field(si).Trim(), System.Globalization.NumberStyles.Integer, System.Globalization.CultureInfo.InvariantCulture, out int v) ? v
                        : throw new InvalidDataException($"Data file '{path}', line {i + 1}: answer start '{Printable(Field(si))}' (column '{names[si]}') is not a whole number.");
                else if ((row.AnswerIndex = row.Context.IndexOf(answer, StringComparison.Ordinal)) < 0)
                    throw new InvalidDataException($"Data file '{path}', line {i + 1}: the answer '{Printable(answer)}' (column '{names[ai]}') is not in its context (column '{names[c]}').");
            }
            rows.Add(row);
        }
        if (rows.Count == 0) throw new InvalidDataException($"Data file '{path}' has no rows below its header.");
        return ml.Data.LoadFromEnumerable(rows);
    }

    // The file's lines and header names, and a column's index by name (or, unnamed, at its default place), naming the file when absent.
    private static (List<string> Lines, string[] Names, Func<string?, int, string, int> Index) Header(string path)
    {
        var lines = ReadAll(path);
        string? header = lines.FirstOrDefault();
        if (string.IsNullOrWhiteSpace(header)) throw new InvalidDataException($"Data file '{path}' is empty; it needs a header row.");
        var names = header.Split('\t').Select(h => h.Trim()).ToArray();
        int Index(string? name, int fallback, string role)
        {
            if (name is null)
                return fallback < names.Length ? fallback : throw new InvalidDataException($"Data file '{path}' has {names.Length} column(s); the {role} column is expected as column {fallback + 1}.");
            int i = Array.IndexOf(names, name);
            return i >= 0 ? i : throw new InvalidDataException($"Data file '{path}' has no {role} column '{name}' (columns: {string.Join(", ", names)}).");
        }
        return (lines, names, Index);
    }

    private static float Number(string label, string path, int line) =>
        float.TryParse(label, System.Globalization.NumberStyles.Float, System.Globalization.CultureInfo.InvariantCulture, out float v) && float.IsFinite(v) ? v
        : throw new InvalidDataException($"Data file '{path}', line {line}: regression label '{Printable(label)}' is not a number.");

    // Lines of the file, read once: a named pipe or standard input cannot be read twice.
    private static List<string> ReadAll(string path)
    {
        if (path == "-") return ReadLines(Console.In);
        if (Directory.Exists(path)) throw new InvalidDataException($"Data file '{path}' is a directory; give a tab-separated file.");
        if (!File.Exists(path)) throw new FileNotFoundException($"Data file '{path}' does not exist.", path);
        using var reader = new StreamReader(path);
        return ReadLines(reader);
    }

    private static List<string> ReadLines(TextReader reader)
    {
        var lines = new List<string>();
        while (reader.ReadLine() is { } line) lines.Add(line.TrimEnd('\r'));
        return lines;
    }

    private static bool Binary(string label, string path, int line) => label.ToLowerInvariant() switch
    {
        "1" or "true" => true,
        "0" or "false" => false,
        _ => throw new InvalidDataException($"Data file '{path}', line {line}: binary label '{Printable(label)}' is not 0, 1, true or false."),
    };

    // Binary garbage is shown escaped and cut, never echoed raw.
    private static string Printable(string s)
    {
        var p = string.Concat(s.Take(40).Select(c => char.IsControl(c) || char.IsSurrogate(c) ? $"\\u{(int)c:x4}" : c.ToString()));
        return s.Length > 40 ? p + "…" : p;
    }

    // The rows as a view whose columns carry the file's header names.
    private static IDataView Rows<T>(MLContext ml, IEnumerable<T> rows, Columns columns) where T : class
    {
        var schema = SchemaDefinition.Create(typeof(T));
        schema["Text"].ColumnName = columns.Text;
        if (columns.Text2 is { } second) schema["Text2"].ColumnName = second;
        else schema.RemoveAll(c => c.MemberName == "Text2");
        if (columns.Label is { } label && typeof(T) != typeof(TextRow)) schema["Label"].ColumnName = label;
        return ml.Data.LoadFromEnumerable(rows.ToList(), schema);
    }
}
