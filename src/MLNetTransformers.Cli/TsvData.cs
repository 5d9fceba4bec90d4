using Microsoft.ML;
using Microsoft.ML.Data;

namespace MLNetTransformers.Cli;

/// <summary>Tab-separated files with a header row; text is the first column and the label the second unless named.</summary>
internal static class TsvData
{
    public sealed record Columns(string Text, string? Label);

    public static (IDataView Data, Columns Columns) Load(MLContext ml, string path, string? textCol, string? labelCol, bool needLabel, DataKind labelKind)
    {
        if (!File.Exists(path)) throw new FileNotFoundException($"Data file '{path}' does not exist.", path);
        string? header = File.ReadLines(path).FirstOrDefault();
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
        var columns = new List<TextLoader.Column> { new(names[t], DataKind.String, t) };
        if (l is int li) columns.Add(new TextLoader.Column(names[li], labelKind, li));
        var loader = ml.Data.CreateTextLoader(new TextLoader.Options { Columns = columns.ToArray(), Separators = new[] { '\t' }, HasHeader = true, AllowQuoting = false });
        return (loader.Load(path), new Columns(names[t], l is int x ? names[x] : null));
    }
}
