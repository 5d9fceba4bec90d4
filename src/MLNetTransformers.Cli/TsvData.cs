namespace MLNetTransformers.Cli;

/// <summary>
/// Tab-separated files with a header row; text is the first column and the label the second unless named. The file
/// is read once, so pipes, process substitution and standard input (<c>-</c>) give every row, and every label is
/// checked: a blank or unknown binary label is an error naming the line, never a silent <c>false</c>.
/// </summary>
internal static class TsvData
{
    public sealed record Columns(string Text, string? Label);

    private sealed class TextRow { public string Text { get; set; } = ""; }
    private sealed class BinaryRow { public string Text { get; set; } = ""; public bool Label { get; set; } }
    private sealed class ClassRow { public string Text { get; set; } = ""; public string Label { get; set; } = ""; }

    public static (IDataView Data, Columns Columns) Load(MLContext ml, string path, string? textCol, string? labelCol, bool needLabel, DataKind labelKind)
    {
        var lines = ReadAll(path);
        string? header = lines.FirstOrDefault();
        if (string.IsNullOrWhiteSpace(header)) throw new InvalidDataException($"Data file '{path}' is empty; it needs a header row.");
        var names = header.Split('\t').Select(h => h.Trim()).ToArray();
        int Index(string? name, int fallback, string role)
        {
            if (name is null)
            {
                if (fallback < names.Length) return fallback;
                throw new InvalidDataException($"Data file '{path}' has {names.Length} column(s); the {role} column is expected as column {fallback + 1}.");
            }
            int i = Array.IndexOf(names, name);
            return i >= 0 ? i : throw new InvalidDataException($"Data file '{path}' has no {role} column '{name}' (columns: {string.Join(", ", names)}).");
        }
        int t = Index(textCol, 0, "text");
        int? l = needLabel || labelCol is not null ? Index(labelCol, 1, "label") : (names.Length > 1 && t != 1 ? 1 : null);

        var texts = new List<string>();
        var labels = new List<string>();
        var lineNumbers = new List<int>();
        for (int i = 1; i < lines.Count; i++)
        {
            if (lines[i].Length == 0) continue;
            var fields = lines[i].Split('\t');
            texts.Add(t < fields.Length ? fields[t] : "");
            if (l is not int li) continue;
            string label = li < fields.Length ? fields[li].Trim() : "";
            if (label.Length == 0)
                throw new InvalidDataException($"Data file '{path}', line {i + 1}: the label column '{names[li]}' is blank; every row needs a label.");
            labels.Add(label);
            lineNumbers.Add(i + 1);
        }

        var columns = new Columns(names[t], l is int x ? names[x] : null);
        if (l is null) return (Rows(ml, texts.Select(s => new TextRow { Text = s }), columns), columns);
        if (labelKind == DataKind.Boolean)
        {
            var rows = texts.Select((s, i) => new BinaryRow { Text = s, Label = Binary(labels[i], path, lineNumbers[i]) }).ToList();
            return (Rows(ml, rows, columns), columns);
        }
        return (Rows(ml, texts.Select((s, i) => new ClassRow { Text = s, Label = labels[i] }), columns), columns);
    }

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
        if (columns.Label is { } label && typeof(T) != typeof(TextRow)) schema["Label"].ColumnName = label;
        return ml.Data.LoadFromEnumerable(rows.ToList(), schema);
    }
}
